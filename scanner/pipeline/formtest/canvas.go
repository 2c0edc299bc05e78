// Package formtest draws signed forms for testing the signature pipeline,
// independently of the simulator (drivers/sim): other page layouts, other
// fonts, other hands (handwriting fonts, a stroke model of its own, real
// handwriting cut from scanned letters, and the simulator's strokes as one
// source among four), stamps, initials and stray marks, and other ways of
// ruining a page (fax, phone photos, low JPEG quality, a layout that is a
// little off). Its sets have fixed seeds and two halves: one to tune the
// pipeline on, one to report on.
//
// Nothing here is shipped: it is a test and benchmark helper.
package formtest

import (
	"image"
	"math"
)

// canvas is a page being drawn: how dark each pixel is (0 paper, 255 the
// darkest ink), at pxmm pixels per millimetre. Marks combine as inks do:
// each lets through a share of the light the others let through.
type canvas struct {
	w, h int
	pxmm float64
	dark []uint8
}

func newCanvas(wMM, hMM, dpi float64) *canvas {
	pxmm := dpi / 25.4
	w, h := int(math.Ceil(wMM*pxmm)), int(math.Ceil(hMM*pxmm))
	return &canvas{w: w, h: h, pxmm: pxmm, dark: make([]uint8, w*h)}
}

// ink darkens pixel (x, y) by a coverage c (0..1) of ink of darkness d.
func (c *canvas) ink(x, y int, cov float64, d uint8) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h || cov <= 0 {
		return
	}
	cov = math.Min(cov, 1)
	i := y*c.w + x
	// Transmittances multiply: 1 - (1-a)(1-b).
	a := float64(c.dark[i]) / 255
	b := cov * float64(d) / 255
	c.dark[i] = uint8(math.Round(255 * (1 - (1-a)*(1-b))))
}

// fillRect darkens a rectangle given in millimetres, with antialiased
// edges.
func (c *canvas) fillRect(x0, y0, x1, y1 float64, d uint8) {
	px0, py0, px1, py1 := x0*c.pxmm, y0*c.pxmm, x1*c.pxmm, y1*c.pxmm
	for y := int(math.Floor(py0)); y < int(math.Ceil(py1)); y++ {
		cy := overlap(float64(y), float64(y+1), py0, py1)
		for x := int(math.Floor(px0)); x < int(math.Ceil(px1)); x++ {
			c.ink(x, y, cy*overlap(float64(x), float64(x+1), px0, px1), d)
		}
	}
}

func overlap(a0, a1, b0, b1 float64) float64 {
	return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0))
}

// outline draws a rectangle's outline of line width lw (mm).
func (c *canvas) outline(x, y, w, h, lw float64, d uint8) {
	c.fillRect(x, y, x+w, y+lw, d)
	c.fillRect(x, y+h-lw, x+w, y+h, d)
	c.fillRect(x, y+lw, x+lw, y+h-lw, d)
	c.fillRect(x+w-lw, y+lw, x+w, y+h-lw, d)
}

// dotted draws a dotted line from (x0, y) to (x1, y): round dots of
// diameter dia every step millimetres.
func (c *canvas) dotted(x0, x1, y, dia, step float64, d uint8) {
	for x := x0; x <= x1; x += step {
		c.disc(x, y, dia/2, d)
	}
}

// disc fills a disc (mm), antialiased by 4x4 supersampling at its rim.
func (c *canvas) disc(cx, cy, r float64, d uint8) {
	px, py, pr := cx*c.pxmm, cy*c.pxmm, r*c.pxmm
	for y := int(math.Floor(py - pr - 1)); y <= int(math.Ceil(py+pr+1)); y++ {
		for x := int(math.Floor(px - pr - 1)); x <= int(math.Ceil(px+pr+1)); x++ {
			dist := math.Hypot(float64(x)+0.5-px, float64(y)+0.5-py)
			switch {
			case dist <= pr-0.75:
				c.ink(x, y, 1, d)
			case dist >= pr+0.75:
			default:
				n := 0
				for sy := 0; sy < 4; sy++ {
					for sx := 0; sx < 4; sx++ {
						if math.Hypot(float64(x)+(float64(sx)+0.5)/4-px, float64(y)+(float64(sy)+0.5)/4-py) <= pr {
							n++
						}
					}
				}
				c.ink(x, y, float64(n)/16, d)
			}
		}
	}
}

// pen is a point of a pen's path: where (mm) and how wide the line is
// there (mm).
type pen struct{ x, y, w float64 }

// stroke draws a pen's path as the union of round-capped segments, the
// coverage of each pixel being how far it lies inside the nearest one:
// the same pixel is never darkened twice by one stroke.
func (c *canvas) stroke(path []pen, d uint8) {
	if len(path) == 0 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range path {
		minX, minY = math.Min(minX, p.x-p.w), math.Min(minY, p.y-p.w)
		maxX, maxY = math.Max(maxX, p.x+p.w), math.Max(maxY, p.y+p.w)
	}
	x0, y0 := max(0, int(minX*c.pxmm)-2), max(0, int(minY*c.pxmm)-2)
	x1, y1 := min(c.w, int(maxX*c.pxmm)+3), min(c.h, int(maxY*c.pxmm)+3)
	if x1 <= x0 || y1 <= y0 {
		return
	}
	bw := x1 - x0
	cov := make([]float32, bw*(y1-y0))
	for i := 0; i < len(path); i++ {
		a := path[i]
		b := a
		if i+1 < len(path) {
			b = path[i+1]
		}
		ax, ay, bx, by := a.x*c.pxmm, a.y*c.pxmm, b.x*c.pxmm, b.y*c.pxmm
		ra, rb := math.Max(0.5, a.w*c.pxmm/2), math.Max(0.5, b.w*c.pxmm/2)
		r := math.Max(ra, rb)
		sx0, sy0 := max(x0, int(math.Min(ax, bx)-r-1)), max(y0, int(math.Min(ay, by)-r-1))
		sx1, sy1 := min(x1, int(math.Max(ax, bx)+r+2)), min(y1, int(math.Max(ay, by)+r+2))
		dx, dy := bx-ax, by-ay
		l2 := dx*dx + dy*dy
		for y := sy0; y < sy1; y++ {
			for x := sx0; x < sx1; x++ {
				qx, qy := float64(x)+0.5, float64(y)+0.5
				t := 0.0
				if l2 > 0 {
					t = math.Max(0, math.Min(1, ((qx-ax)*dx+(qy-ay)*dy)/l2))
				}
				dist := math.Hypot(qx-ax-t*dx, qy-ay-t*dy)
				rad := ra + (rb-ra)*t
				v := float32(math.Max(0, math.Min(1, rad+0.5-dist)))
				k := (y-y0)*bw + x - x0
				if v > cov[k] {
					cov[k] = v
				}
			}
		}
	}
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if v := cov[(y-y0)*bw+x-x0]; v > 0 {
				c.ink(x, y, float64(v), d)
			}
		}
	}
}

// paste darkens the canvas with a gray patch's darkness (255 - level),
// placed so that its pixel (0, 0) lands at (xmm, ymm) and scaled by
// scale canvas pixels per patch pixel, bilinearly.
func (c *canvas) paste(patch *image.Gray, xmm, ymm, scale float64, d uint8) {
	ox, oy := xmm*c.pxmm, ymm*c.pxmm
	pw, ph := patch.Rect.Dx(), patch.Rect.Dy()
	for y := int(oy); y < int(oy+float64(ph)*scale)+1; y++ {
		for x := int(ox); x < int(ox+float64(pw)*scale)+1; x++ {
			sx, sy := (float64(x)+0.5-ox)/scale-0.5, (float64(y)+0.5-oy)/scale-0.5
			v := bilinear(patch, sx, sy)
			if v < 255 {
				c.ink(x, y, (255-v)/255, d)
			}
		}
	}
}

// bilinear samples a gray image at (x, y), white outside it.
func bilinear(g *image.Gray, x, y float64) float64 {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= g.Rect.Dx() || y >= g.Rect.Dy() {
			return 255
		}
		return float64(g.Pix[y*g.Stride+x])
	}
	top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
	bot := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
	return top*(1-fy) + bot*fy
}

// gray is the canvas as paper of tone paper (0..255) with its ink: what a
// perfect scanner would see.
func (c *canvas) gray(paper uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, c.w, c.h))
	for i, d := range c.dark {
		g.Pix[i] = uint8(int(paper) * (255 - int(d)) / 255)
	}
	return g
}

package pipeline

import (
	"image"
	"math"
)

// FreeFormRole is the role given to a signature found without a layout.
const FreeFormRole = "firma"

// FindSignature finds the handwritten signature on a page that has no
// layout, such as a card signed at a home visit. It looks for the largest
// cluster of ink made of long, thin, curving strokes. Printed letters are
// too small, ruled and printed lines too straight, and filled areas too
// dense. It returns a box around the cluster, with room for the ink's
// soft edges, and false when the page has none.
func FindSignature(g *image.Gray, dpi int) (Box, bool) {
	f := max(1, int(math.Round(float64(dpi)/workDPI)))
	small := Reduce(g, f)
	w, h := small.Rect.Dx(), small.Rect.Dy()
	pxmm := float64(dpi) / float64(f) / 25.4
	var hist [256]int
	for _, v := range small.Pix {
		hist[v]++
	}
	t := otsu(&hist)
	dark := make([]bool, w*h)
	for y := range h {
		row := small.Pix[y*small.Stride:]
		for x := range w {
			dark[y*w+x] = row[x] <= t
		}
	}
	clearStraightRuns(dark, w, h, int(10*pxmm))

	type piece struct {
		r      image.Rectangle
		pixels int
	}
	var pieces []piece
	eachComponent(dark, w, h, func(comp []int) {
		x0, y0, x1, y1 := w, h, -1, -1
		touchesEdge := false
		for _, i := range comp {
			x, y := i%w, i/w
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				touchesEdge = true // the scanner bed, a shadow
			}
		}
		bw, bh := float64(x1-x0+1)/pxmm, float64(y1-y0+1)/pxmm
		fill := float64(len(comp)) / float64((x1-x0+1)*(y1-y0+1))
		// A stroke of handwriting: longer than a printed letter, thin,
		// not a ruled line, not a filled area, not a page-sized thing.
		if touchesEdge || math.Max(bw, bh) < 4 || math.Min(bw, bh) < 1.5 || math.Max(bw, bh) > 70 || fill > 0.35 {
			return
		}
		pieces = append(pieces, piece{image.Rect(x0, y0, x1+1, y1+1), len(comp)})
	})
	if len(pieces) == 0 {
		return Box{}, false
	}
	// Strokes within 6 mm of each other belong to one signature.
	parent := make([]int, len(pieces))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	gap := int(6 * pxmm)
	for i := range pieces {
		for j := i + 1; j < len(pieces); j++ {
			if pieces[i].r.Inset(-gap).Overlaps(pieces[j].r) {
				parent[find(i)] = find(j)
			}
		}
	}
	type cluster struct {
		r      image.Rectangle
		pixels int
	}
	clusters := map[int]*cluster{}
	for i, p := range pieces {
		c := clusters[find(i)]
		if c == nil {
			c = &cluster{r: p.r}
			clusters[find(i)] = c
		}
		c.r = c.r.Union(p.r)
		c.pixels += p.pixels
	}
	var best *cluster
	for _, c := range clusters {
		if best == nil || c.pixels > best.pixels {
			best = c
		}
	}
	if float64(best.pixels)/(pxmm*pxmm) < 8 || float64(best.r.Dx())/pxmm < 12 {
		return Box{}, false
	}
	// Back to the page's pixels, with a margin wide enough that the line
	// band the box analysis clears falls on paper.
	m := 4 * pxmm
	r := best.r
	x0, y0 := (float64(r.Min.X)-m)*float64(f), (float64(r.Min.Y)-m)*float64(f)
	x1, y1 := (float64(r.Max.X)+m)*float64(f), (float64(r.Max.Y)+m)*float64(f)
	return Box{Role: FreeFormRole, Corners: [4]Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}, true
}

// clearStraightRuns removes horizontal and vertical runs of ink longer
// than n pixels: ruled lines and frames, which a signature may touch.
func clearStraightRuns(dark []bool, w, h, n int) {
	var mark []int
	for y := range h {
		run := 0
		for x := 0; x <= w; x++ {
			if x < w && dark[y*w+x] {
				run++
				continue
			}
			if run >= n {
				for k := x - run; k < x; k++ {
					mark = append(mark, y*w+k)
				}
			}
			run = 0
		}
	}
	for x := range w {
		run := 0
		for y := 0; y <= h; y++ {
			if y < h && dark[y*w+x] {
				run++
				continue
			}
			if run >= n {
				for k := y - run; k < y; k++ {
					mark = append(mark, k*w+x)
				}
			}
			run = 0
		}
	}
	for _, i := range mark {
		dark[i] = false
	}
}

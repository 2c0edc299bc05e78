package pipeline

import (
	"image"
	"math"
	"slices"
)

// Blankness is a page's blank or not-blank decision with the figures it
// rests on, measured on the sheet (the scanner's bed and a band along the
// sheet's edges left out) after its background is flattened: a mark is
// ink at least inkContrast levels darker than the paper around it.
type Blankness struct {
	Blank bool `json:"blank"`
	// InkMM2 is the area of the marks counted, in mm²; Marks how many
	// there are; LargestMM2 the largest one's area.
	InkMM2     float64 `json:"inkMM2"`
	Marks      int     `json:"marks"`
	LargestMM2 float64 `json:"largestMM2"`
	// Ignored are the marks left out as specks, punched holes or folds.
	Ignored int `json:"ignored"`
}

// What the decision counts. A page is blank only with less than
// blankInkMM2 of ink: a dot of dust is 0.1 mm², one handwritten initial
// several mm², a line of print over 50. Dropping a page with writing is
// the error that matters; keeping a blank one costs a page.
const (
	inkContrast   = 32   // levels below the paper: show-through is 10-30
	dustMM2       = 0.08 // marks smaller than this are dust and noise
	blankInkMM2   = 1.0
	edgeBandMM    = 4.0  // the sheet's edge: shadows, torn fibres
	bgBlockMM     = 6.0  // the paper's tone is read block by block
	foldContrast  = 70   // a fold's shadow is soft; a printed rule is not
	holeMinMM     = 4.0  // a punched hole, 4 to 9 mm across,
	holeMaxMM     = 9.0  //
	holeEdgeMM    = 22.0 // near a side of the sheet
	foldLongShare = 0.5  // a fold runs across at least half the sheet
	foldThickMM   = 8.0  // and is at most this thick (its shadow spreads)
)

// PageBlankness decides on a page by itself, as ProcessImage does.
func PageBlankness(g *image.Gray, dpi int) Blankness {
	f := reducedFactor(dpi)
	return blankness(Reduce(g, f), float64(dpi)/float64(f))
}

// blankness decides on the page reduced to about workDPI (dpi is the
// reduced page's).
func blankness(small *image.Gray, dpi float64) Blankness {
	w, h := small.Rect.Dx(), small.Rect.Dy()
	// The bed is what is far darker than paper and reaches the scan's
	// edge. Not the page's Otsu threshold, which on a nearly blank page
	// falls inside the paper's own noise and would call the paper bed.
	// And it is a region, not a line: ruled lines that run off the scan
	// are dark and reach the edge too. What stays of it under a 4 mm
	// square is the bed's core.
	r := int(math.Ceil(2 * dpi / 25.4))
	core := solidMask(bedMask(small, uint8(0.6*float64(percentile(small, 0.9)))), w, h, r)
	mm := dpi / 25.4 // pixels per millimetre
	pxMM2 := 1 / (mm * mm)
	// The sheet is what is neither bed nor within the edge band of it (of
	// the scan's edge, without a bed); a skewed sheet leaves triangles of
	// bed inside its bounding box, which nearBed marks.
	band := int(math.Ceil(edgeBandMM * mm))
	nearBed := nearMask(core, w, h, r+band)
	sheet := image.Rect(0, 0, w, h).Inset(band)
	if nearBed != nil {
		x0, y0, x1, y1 := w, h, 0, 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if !nearBed[y*w+x] {
					x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
				}
			}
		}
		// The scan's own edge band too: the thin tip of a bed triangle,
		// too thin for the bed's core, runs along it.
		sheet = image.Rect(x0, y0, x1, y1).Intersect(sheet)
	}
	if sheet.Empty() {
		return Blankness{Blank: true} // all bed: no sheet to hold ink
	}
	tone := paperTone(small, sheet, int(math.Max(8, bgBlockMM*mm)))
	// A fold's shadow or a lamp's streak darkens a whole row or column of
	// the sheet, where print or writing darkens only some of it: the
	// median darkening of each row, then of each column, is the paper's
	// too.
	rows := make([]int, h)
	cols := make([]int, w)
	var hist [256]int
	median := func(n int) int {
		for v, seen := 0, 0; v < 256; v++ {
			if seen += hist[v]; 2*seen > n {
				return v
			}
		}
		return 0
	}
	// How much darker than its paper each point of the sheet is.
	dark := make([]int16, w*h)
	for y := sheet.Min.Y; y < sheet.Max.Y; y++ {
		row, tones := small.Pix[y*small.Stride:], tone(y)
		for x := sheet.Min.X; x < sheet.Max.X; x++ {
			dark[y*w+x] = int16(tones[x-sheet.Min.X]) - int16(row[x])
		}
	}
	for y := sheet.Min.Y; y < sheet.Max.Y; y++ {
		hist = [256]int{}
		for _, d := range dark[y*w+sheet.Min.X : y*w+sheet.Max.X] {
			hist[min(255, max(0, d))]++
		}
		rows[y] = median(sheet.Dx())
	}
	// Columns counted row by row, as the memory lies.
	colHist := make([][256]int32, sheet.Dx())
	for y := sheet.Min.Y; y < sheet.Max.Y; y++ {
		for i, d := range dark[y*w+sheet.Min.X : y*w+sheet.Max.X] {
			colHist[i][min(255, max(0, int(d)-rows[y]))]++
		}
	}
	for i := range colHist {
		for v := range hist {
			hist[v] = int(colHist[i][v])
		}
		cols[sheet.Min.X+i] = median(sheet.Dy())
	}
	contrast := func(p int) int { return int(dark[p]) - rows[p/w] - cols[p%w] }
	ink := make([]bool, w*h)
	for y := sheet.Min.Y; y < sheet.Max.Y; y++ {
		for x := sheet.Min.X; x < sheet.Max.X; x++ {
			if int(dark[y*w+x])-rows[y]-cols[x] >= inkContrast && (nearBed == nil || !nearBed[y*w+x]) {
				ink[y*w+x] = true
			}
		}
	}
	var out Blankness
	sw, sh := float64(sheet.Dx())/mm, float64(sheet.Dy())/mm
	for _, c := range inkComponents(ink, w, h, contrast) {
		area := float64(c.pixels) * pxMM2
		bw, bh := float64(c.box.Dx())/mm, float64(c.box.Dy())/mm
		switch {
		case area < dustMM2:
			out.Ignored++
			continue
		case holeLike(c, bw, bh, area, sheet, mm):
			out.Ignored++
			continue
		case c.darkest < foldContrast && (bw >= foldLongShare*sw || bh >= foldLongShare*sh) &&
			area/math.Max(bw, bh) <= foldThickMM:
			out.Ignored++
			continue
		}
		out.Marks++
		out.InkMM2 += area
		out.LargestMM2 = math.Max(out.LargestMM2, area)
	}
	out.InkMM2 = math.Round(out.InkMM2*100) / 100
	out.LargestMM2 = math.Round(out.LargestMM2*100) / 100
	out.Blank = out.InkMM2 < blankInkMM2
	return out
}

// percentile is the gray level below which the share q of the pixels lie.
func percentile(g *image.Gray, q float64) uint8 {
	var hist [256]int
	for _, v := range g.Pix {
		hist[v]++
	}
	want, seen := int(q*float64(len(g.Pix))), 0
	for v := range 256 {
		if seen += hist[v]; seen > want {
			return uint8(v)
		}
	}
	return 255
}

// nearMask marks the points within r of a marked one (dilate's square);
// nil when none is marked.
func nearMask(mask []bool, w, h, r int) []bool {
	if !slices.Contains(mask, true) {
		return nil
	}
	return dilate(mask, w, h, r)
}

// solidMask keeps the points whose whole square of side 2r+1 (cut by the
// scan's edge) is marked: what the unmarked points, grown by r, do not
// reach. nil when none is kept.
func solidMask(mask []bool, w, h, r int) []bool {
	if !slices.Contains(mask, true) {
		return nil
	}
	not := make([]bool, len(mask))
	for i, on := range mask {
		not[i] = !on
	}
	kept := dilate(not, w, h, r)
	for i := range kept {
		kept[i] = !kept[i]
	}
	if !slices.Contains(kept, true) {
		return nil
	}
	return kept
}

// holeLike is a round, filled mark of a punched hole's size near a side
// of the sheet (dark where the scanner's lid is dark).
func holeLike(c component, bw, bh, area float64, sheet image.Rectangle, mm float64) bool {
	if bw < holeMinMM || bw > holeMaxMM || bh < holeMinMM || bh > holeMaxMM || bw/bh < 0.8 || bw/bh > 1.25 {
		return false
	}
	if disc := math.Pi / 4 * bw * bh; area < 0.8*disc || area > 1.1*disc {
		return false
	}
	near := holeEdgeMM * mm
	d := math.Min(math.Min(float64(c.box.Min.X-sheet.Min.X), float64(sheet.Max.X-c.box.Max.X)),
		math.Min(float64(c.box.Min.Y-sheet.Min.Y), float64(sheet.Max.Y-c.box.Max.Y)))
	return d <= near
}

// paperTone returns the paper's brightness around each point: the 90th
// percentile of each block (ink covers far less of a block than that),
// the brightest of a block and its neighbours, so that a block full of
// print takes its neighbours' paper.
func paperTone(g *image.Gray, r image.Rectangle, block int) func(y int) []uint8 {
	bx, by := (r.Dx()+block-1)/block, (r.Dy()+block-1)/block
	tone := make([]uint8, bx*by)
	var hist [256]int
	for j := 0; j < by; j++ {
		for i := 0; i < bx; i++ {
			hist = [256]int{}
			n := 0
			for y := r.Min.Y + j*block; y < min(r.Max.Y, r.Min.Y+(j+1)*block); y++ {
				row := g.Pix[y*g.Stride:]
				for x := r.Min.X + i*block; x < min(r.Max.X, r.Min.X+(i+1)*block); x++ {
					hist[row[x]]++
					n++
				}
			}
			want, seen := n-n*9/10, 0
			for v := 255; v >= 0; v-- {
				seen += hist[v]
				if seen > want {
					tone[j*bx+i] = uint8(v)
					break
				}
			}
		}
	}
	smooth := make([]uint8, len(tone))
	for j := 0; j < by; j++ {
		for i := 0; i < bx; i++ {
			m := tone[j*bx+i]
			for dj := -1; dj <= 1; dj++ {
				for di := -1; di <= 1; di++ {
					if ii, jj := i+di, j+dj; ii >= 0 && jj >= 0 && ii < bx && jj < by {
						m = max(m, tone[jj*bx+ii])
					}
				}
			}
			smooth[j*bx+i] = m
		}
	}
	// Spread out, one row of tones for each row of blocks: read per point
	// without a division.
	rows := make([][]uint8, by)
	for j := range rows {
		rows[j] = make([]uint8, r.Dx())
		for x := range rows[j] {
			rows[j][x] = smooth[j*bx+min(x/block, bx-1)]
		}
	}
	return func(y int) []uint8 { return rows[min((y-r.Min.Y)/block, by-1)] }
}

// component is a connected mark of ink.
type component struct {
	pixels  int
	box     image.Rectangle
	darkest int // its greatest contrast with the paper
}

// inkComponents measures the ink's 8-connected marks, largest first;
// contrast is a point's darkness below its paper.
func inkComponents(ink []bool, w, h int, contrast func(p int) int) []component {
	var out []component
	eachComponent(ink, w, h, func(pixels []int) {
		c := component{pixels: len(pixels), box: image.Rect(pixels[0]%w, pixels[0]/w, pixels[0]%w+1, pixels[0]/w+1)}
		for _, p := range pixels {
			x, y := p%w, p/w
			c.box = c.box.Union(image.Rect(x, y, x+1, y+1))
			c.darkest = max(c.darkest, contrast(p))
		}
		out = append(out, c)
	})
	slices.SortFunc(out, func(a, b component) int { return b.pixels - a.pixels })
	return out
}

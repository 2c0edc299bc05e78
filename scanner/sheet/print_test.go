package sheet

import (
	"context"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/scannertest"
)

// facsimile is a signature printed in a box, as forms carry the officer's
// signature "sostituita a mezzo stampa" or a pattern to sign over: pen-like
// curves, in PDF content operators, across a box at (x, y) w wide.
func facsimile(x, y, w float64) string {
	var c strings.Builder
	fmt.Fprintf(&c, "1.1 w 1 J 1 j %s %s m\n", num(x+0.08*w), num(y+12))
	for i := range 5 {
		x0 := x + 0.08*w + float64(i)*0.16*w
		fmt.Fprintf(&c, "%s %s %s %s %s %s c\n", num(x0+0.04*w), num(y+40), num(x0+0.1*w), num(y-4), num(x0+0.16*w), num(y+14+float64(i%2)*9))
	}
	c.WriteString("S\n")
	fmt.Fprintf(&c, "0.8 w %s %s m %s %s %s %s %s %s c S\n", num(x+0.1*w), num(y+6), num(x+0.4*w), num(y+1), num(x+0.7*w), num(y+9), num(x+0.9*w), num(y+4))
	return c.String()
}

// printedForm is a preview as an act-drafting app prints it: three boxes,
// each with its role printed inside its top left corner and a facsimile
// curve printed across it.
func printedForm(t testing.TB) ([]byte, PageLayout) {
	t.Helper()
	const w, h = 595.28, 841.89
	page := PageLayout{Width: w, Height: h}
	var c strings.Builder
	c.WriteString("BT /F1 14 Tf 60 760 Td (Processo verbale di matrimonio) Tj ET\n")
	for i, role := range []string{"sposo", "sposa", "testimone1"} {
		r := Rect{X: 60, Y: 560 - float64(i)*150, W: 85 * mm, H: 30 * mm}
		label := []string{"Lo sposo", "La sposa", "Il testimone"}[i]
		fmt.Fprintf(&c, "0.8 w %s %s %s %s re S\n", num(r.X), num(r.Y), num(r.W), num(r.H))
		fmt.Fprintf(&c, "BT /F1 8 Tf %s %s Td %s Tj ET\n", num(r.X+4), num(r.Y+r.H-10), winAnsi(label))
		c.WriteString(facsimile(r.X+10, r.Y+18, r.W-20))
		page.Boxes = append(page.Boxes, SignerBox{Role: role, Label: label, Rect: r})
	}
	stamped, err := Stamp(PlainPDF(w, h, []string{c.String()}), testAct)
	if err != nil {
		t.Fatal(err)
	}
	return stamped, page
}

// A page printed by Autografo is known: rendered again and placed on its
// scan, its print is taken away before the boxes are judged. Print that
// looks like writing, which nothing on the page alone tells from a hand,
// then no longer makes an unsigned box signed, and a signature written
// over it is still found.
func TestPrintedPageIsSubtracted(t *testing.T) {
	scannertest.Need(t, "pdftoppm")
	pdf, page := printedForm(t)
	ctx := context.Background()
	for _, d := range []struct {
		dpi int
		distortion
	}{
		{300, distortion{deg: 1.5, jpeg: 85, noise: 2, seed: 1}},
		{200, distortion{deg: -2.5, quarter: 180, jpeg: 70, noise: 3, seed: 2}},
		{400, distortion{deg: 0.7, seed: 3}},
	} {
		t.Run(fmt.Sprintf("%ddpi", d.dpi), func(t *testing.T) {
			paper := render(t, pdf, d.dpi)
			// The bride signs; the groom and the witness do not.
			pxmm := float64(d.dpi) / 25.4
			r := page.Boxes[1].Rect
			sign := image.NewGray(paper.Rect)
			copy(sign.Pix, paper.Pix)
			box := sim.RectMM{X: r.X / mm, Y: (page.Height - r.Y - r.H) / mm, W: r.W / mm, H: r.H / mm}
			if !sim.DrawSignature(sign, pxmm, box, "Giulia Bianchi", 40, 11) {
				t.Fatal("no signature drawn")
			}
			scan, _ := distort(t, sign, d.distortion)
			found, err := Find(scan, d.dpi)
			if err != nil {
				t.Fatal(err)
			}
			tf, err := found.TransformFor(page.Width, page.Height)
			if err != nil {
				t.Fatal(err)
			}
			tf, _ = tf.Refine(scan, page.Width, page.Height)
			boxes := tf.Boxes(page)
			rendered, err := Render(ctx, pdf, 1, RenderDPI, "")
			if err != nil {
				t.Fatal(err)
			}
			ref, err := NewPrint(rendered, RenderDPI, page.Height, tf)
			if err != nil {
				t.Fatal(err)
			}
			blind, err := pipeline.ProcessImage(scan, d.dpi, boxes, pipeline.Options{PreviewSize: -1})
			if err != nil {
				t.Fatal(err)
			}
			known, err := pipeline.ProcessImage(scan, d.dpi, boxes, pipeline.Options{PreviewSize: -1, Printed: ref})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []pipeline.Decision{pipeline.Empty, pipeline.Signed, pipeline.Empty} {
				b, k := blind.Verdicts[i], known.Verdicts[i]
				t.Logf("%s: without the print %s %v, with it %s %v", b.Role, b.Decision, b.Reasons, k.Decision, k.Reasons)
				if k.Decision != want {
					t.Errorf("%s: %s with the printed page known, want %s (%v)", k.Role, k.Decision, want, k.Reasons)
				}
				if want == pipeline.Empty && b.Decision == pipeline.Empty {
					// The test's print must be what the page alone cannot
					// tell from writing, or it proves nothing.
					t.Errorf("%s: the facsimile was left out even without the printed page", b.Role)
				}
			}
		})
	}
}

// The reference is the page as printed, not another: a printed page that
// does not match the scan (another act's sheet, a transform that is off)
// takes nothing away.
func TestOtherPrintTakesNothingAway(t *testing.T) {
	scannertest.Need(t, "pdftoppm")
	pdf, page := printedForm(t)
	paper := render(t, pdf, 300)
	r := page.Boxes[1].Rect
	box := sim.RectMM{X: r.X / mm, Y: (page.Height - r.Y - r.H) / mm, W: r.W / mm, H: r.H / mm}
	sim.DrawSignature(paper, 300/25.4, box, "Giulia Bianchi", 40, 11)
	found, err := Find(paper, 300)
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := found.TransformFor(page.Width, page.Height)
	// Another page: the same boxes, a dense print of text over them.
	var c strings.Builder
	for y := 60.0; y < 800; y += 9 {
		fmt.Fprintf(&c, "BT /F1 9 Tf 40 %s Td (%s) Tj ET\n", num(y), strings.Repeat("Giulia Bianchi firma qui ", 6))
	}
	other, err := Render(context.Background(), PlainPDF(page.Width, page.Height, []string{c.String()}), 1, RenderDPI, "")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewPrint(other, RenderDPI, page.Height, tf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.ProcessImage(paper, 300, tf.Boxes(page), pipeline.Options{PreviewSize: -1, Printed: ref})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Verdicts[1]; v.Decision != pipeline.Signed {
		t.Errorf("the signature with a foreign reference: %s %v", v.Decision, v.Reasons)
	}
}

// Render and Invert: the rendered page is the page, and the inverse maps
// back.
func TestRenderAndInvert(t *testing.T) {
	scannertest.Need(t, "pdftoppm")
	pdf, page := printedForm(t)
	g, err := Render(context.Background(), pdf, 1, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if w, h := g.Rect.Dx(), g.Rect.Dy(); math.Abs(float64(w)-page.Width*100/72) > 1 || math.Abs(float64(h)-page.Height*100/72) > 1 {
		t.Errorf("rendered %dx%d", w, h)
	}
	if _, err := Render(context.Background(), []byte("%PDF-1.4 not really"), 1, 100, ""); err == nil {
		t.Error("a broken PDF rendered")
	}
	if _, err := Render(context.Background(), pdf, 1, 100, "/nonexistent/pdftoppm"); err == nil {
		t.Error("a missing renderer rendered")
	}
	tf := Transform{a: 2.1, b: 0.1, c: 30, d: -0.05, e: -2.08, f: 1800}
	inv, ok := tf.Invert()
	if !ok {
		t.Fatal("not invertible")
	}
	for _, p := range [][2]float64{{0, 0}, {100, 700}, {595, 842}} {
		s := tf.Apply(p[0], p[1])
		back := inv.Apply(s.X, s.Y)
		if math.Hypot(back.X-p[0], back.Y-p[1]) > 1e-9 {
			t.Errorf("%v -> %v -> %v", p, s, back)
		}
	}
	if _, ok := (Transform{}).Invert(); ok {
		t.Error("a degenerate transform inverted")
	}
}

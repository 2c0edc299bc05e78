package sheet

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// LabelRule says which printed label introduces a signer's box, and where
// the box lies from it: below the label, WidthMM wide and up to HeightMM
// high (less when another label comes sooner below).
type LabelRule struct {
	Label string `json:"label"` // words as printed, e.g. "Lo sposo"; case and apostrophes do not matter
	Role  string `json:"role"`  // the signer's role; "testimone" and the like are numbered in order
	// Numbered roles get 1, 2... in the order their labels appear.
	Numbered bool    `json:"numbered,omitempty"`
	WidthMM  float64 `json:"widthMM,omitempty"`
	HeightMM float64 `json:"heightMM,omitempty"`
}

// DefaultRules are the labels of Italian civil-status acts, in the order
// ANSC prints the signatures: the spouses, the witnesses, the interpreters,
// the officiant; and the declarant of other acts.
var DefaultRules = []LabelRule{
	{Label: "Lo sposo", Role: "sposo"},
	{Label: "La sposa", Role: "sposa"},
	{Label: "Il testimone", Role: "testimone", Numbered: true},
	{Label: "La testimone", Role: "testimone", Numbered: true},
	{Label: "L'interprete", Role: "interprete", Numbered: true},
	{Label: "L'Ufficiale dello Stato Civile", Role: "ufficiale"},
	{Label: "Il dichiarante", Role: "dichiarante"},
	{Label: "La dichiarante", Role: "dichiarante"},
}

// ErrNoText is a PDF whose text gives no signer's box.
var ErrNoText = errors.New("sheet: no signature labels found in the PDF's text")

// word is one word of a page as poppler places it (points, y down).
type word struct {
	X0, Y0, X1, Y1 float64
	Text           string
}

// LayoutFromText finds where the signers sign in a PDF (such as ANSC's
// preview of an act) from the labels printed in its text, read with
// poppler's pdftotext (path; empty: found on PATH) or, where there is
// none (a Windows workstation), with Autografo's own reader
// (LayoutFromPDFText). Each label that a rule matches gives a box below
// it; pages without labels have no boxes.
func LayoutFromText(ctx context.Context, pdf []byte, rules []LabelRule, pdftotext string) (Layout, error) {
	if pdftotext == "" {
		p, err := exec.LookPath("pdftotext")
		if err != nil {
			return LayoutFromPDFText(pdf, rules)
		}
		pdftotext = p
	}
	if _, err := PageSizes(pdf); err != nil {
		return Layout{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pdftotext, "-bbox-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		return Layout{}, fmt.Errorf("%w: pdftotext: %w", ErrPDF, err)
	}
	pages, err := parseBBox(out)
	if err != nil {
		return Layout{}, err
	}
	return layoutFromWords(pages, rules)
}

// LayoutFromPDFText is LayoutFromText with the text read in Go
// (pdftext.go), without poppler.
func LayoutFromPDFText(pdf []byte, rules []LabelRule) (Layout, error) {
	pages, err := readWords(pdf)
	if err != nil {
		return Layout{}, err
	}
	return layoutFromWords(pages, rules)
}

func layoutFromWords(pages []bboxPage, rules []LabelRule) (Layout, error) {
	layout := Layout{}
	counts := map[string]int{}
	found := 0
	for _, p := range pages {
		pl := PageLayout{Width: p.w, Height: p.h}
		labels := findLabels(p.words, rules)
		for i, l := range labels {
			role := l.rule.Role
			if l.rule.Numbered {
				counts[role]++
				role += strconv.Itoa(counts[role])
			}
			w := widthOr(l.rule.WidthMM, 80) * mm
			h := widthOr(l.rule.HeightMM, 25) * mm
			top := l.y1 + 1*mm // just under the label (y down)
			// Not into the next label below in the same column.
			for j, o := range labels {
				if j != i && o.y0 > l.y1 && o.x0 < l.x0+w && o.x1 > l.x0 && o.y0-2*mm-top < h {
					h = math.Max(5*mm, o.y0-2*mm-top)
				}
			}
			w = math.Min(w, p.w-10*mm-l.x0)
			pl.Boxes = append(pl.Boxes, SignerBox{Role: role, Label: l.text,
				Rect: Rect{X: l.x0, Y: p.h - top - h, W: w, H: h}})
			found++
		}
		layout.Pages = append(layout.Pages, pl)
	}
	if found == 0 {
		return Layout{}, ErrNoText
	}
	return layout, nil
}

func widthOr(v, d float64) float64 {
	if v <= 0 {
		return d
	}
	return v
}

type bboxPage struct {
	w, h  float64
	words []word
}

// parseBBox reads pdftotext's -bbox-layout XHTML: pages and their words.
func parseBBox(data []byte) ([]bboxPage, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var pages []bboxPage
	attr := func(se xml.StartElement, name string) float64 {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				v, _ := strconv.ParseFloat(a.Value, 64)
				return v
			}
		}
		return 0
	}
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "page":
			pages = append(pages, bboxPage{w: attr(se, "width"), h: attr(se, "height")})
		case "word":
			if len(pages) == 0 {
				continue
			}
			var text string
			if err := d.DecodeElement(&text, &se); err != nil {
				return nil, fmt.Errorf("%w: pdftotext output: %w", ErrPDF, err)
			}
			p := &pages[len(pages)-1]
			p.words = append(p.words, word{attr(se, "xMin"), attr(se, "yMin"), attr(se, "xMax"), attr(se, "yMax"), text})
		}
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: pdftotext found no pages", ErrPDF)
	}
	return pages, nil
}

type label struct {
	rule           LabelRule
	text           string
	x0, y0, x1, y1 float64
}

// norm makes labels comparable: lower case, one kind of apostrophe, no
// trailing colon.
func norm(s string) string {
	s = strings.ToLower(strings.NewReplacer("’", "'", "‘", "'", "`", "'").Replace(s))
	return strings.TrimRight(s, ":;,.")
}

// findLabels matches the rules against runs of words on one line, in
// reading order.
func findLabels(words []word, rules []LabelRule) []label {
	var out []label
	used := make([]bool, len(words))
	for i := range words {
		if used[i] {
			continue
		}
		for _, r := range rules {
			want := strings.Fields(norm(r.Label))
			if i+len(want) > len(words) {
				continue
			}
			ok := true
			for k, w := range want {
				wd := words[i+k]
				if norm(wd.Text) != w || math.Abs(wd.Y0-words[i].Y0) > 2 {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			last := words[i+len(want)-1]
			l := label{rule: r, x0: words[i].X0, y0: words[i].Y0, x1: last.X1, y1: last.Y1}
			var parts []string
			for k := range want {
				used[i+k] = true
				parts = append(parts, words[i+k].Text)
			}
			l.text = strings.Join(parts, " ")
			out = append(out, l)
			break
		}
	}
	return out
}

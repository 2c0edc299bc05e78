package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/sheet"
)

// printed is what an act was printed with: the layout, and the hash its
// page codes carry. It is kept with the act's documents, sealed like them.
type printed struct {
	Layout  sheet.Layout `json:"layout"`
	PDFHash string       `json:"pdfHash"`
}

var (
	errSheet    = errors.New("agent: pages to print cannot be made")
	errTemplate = errors.New("agent: template cannot be kept")
)

// printSheet makes the pages to print for an act (its own signature sheet,
// or a preview stamped), keeps their layout with the act, moves it to
// printed, and returns the reply with the stamped PDF.
func (a *Agent) printSheet(ctx context.Context, act store.Act, r *protocol.SheetPrint, who actor) (protocol.SheetReady, blob, error) {
	fail := func(err error) (protocol.SheetReady, blob, error) {
		return protocol.SheetReady{}, blob{}, err
	}
	var pdf []byte
	var layout sheet.Layout
	var err error
	if r.Preview != "" {
		if pdf, err = base64.StdEncoding.DecodeString(r.Preview); err != nil {
			return fail(fmt.Errorf("%w: preview: %w", errSheet, err))
		}
		if len(r.Layout) == 0 {
			// No layout given: the template kept for acts of this kind,
			// or else the labels printed in the preview's text.
			if layout, err = a.template(act.Kind); err != nil {
				rules := a.opts.LabelRules
				if len(rules) == 0 {
					rules = sheet.DefaultRules
				}
				var terr error
				if layout, terr = sheet.LayoutFromText(ctx, pdf, rules, ""); terr != nil {
					return fail(fmt.Errorf("%w: %w", errSheet, errors.Join(err, terr)))
				}
			}
		} else if err := json.Unmarshal(r.Layout, &layout); err != nil || len(layout.Pages) == 0 {
			return fail(fmt.Errorf("%w: a preview needs its layout: %v", errSheet, err))
		}
	} else {
		signers, err := a.opts.Store.Signers(ctx, act.ID)
		if err != nil {
			return fail(storeErr(err))
		}
		kind := act.Kind
		if kind == "" {
			kind = "atto"
		}
		desc := "Ciascuno firma nel proprio riquadro."
		if act.Ref != "" {
			desc = "Atto " + act.Ref + ". " + desc
		}
		sh := sheet.Sheet{Office: a.opts.Office, Title: "Firme - " + strings.ToUpper(kind[:1]) + kind[1:], Description: desc}
		for _, s := range signers {
			sh.Signers = append(sh.Signers, sheet.SheetSigner{Role: s.Role, Label: s.Label, Name: strings.TrimSpace(s.Nome + " " + s.Cognome)})
		}
		if pdf, layout, err = sh.PDF(); err != nil {
			return fail(fmt.Errorf("%w: %w", errSheet, err))
		}
	}
	sizes, err := sheet.PageSizes(pdf)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", errSheet, err))
	}
	if len(sizes) != len(layout.Pages) {
		return fail(fmt.Errorf("%w: the layout has %d pages, the PDF %d", errSheet, len(layout.Pages), len(sizes)))
	}
	stamped, err := sheet.Stamp(pdf, act.ID)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", errSheet, err))
	}
	p, _ := json.Marshal(printed{Layout: layout, PDFHash: sheet.PDFHash(pdf)})
	moved, err := a.opts.Store.MarkPrinted(ctx, act.ID, p, stamped, who.by)
	if err != nil {
		return fail(storeErr(err))
	}
	a.log.Info("pages to print made", "act", act.ID, "pages", len(sizes), "pdf", sheet.PDFHash(pdf))
	if a.opts.Printed != nil {
		a.opts.Printed(stamped, layout)
	}
	a.announce(ctx, moved)
	b := blob{id: newID("blob-"), mediaType: "application/pdf", data: stamped}
	lj, _ := json.Marshal(layout)
	return protocol.SheetReady{Envelope: protocol.Envelope{Type: protocol.TypeSheetReady},
		Act: act.ID, Name: store.PrintedSheets, Pages: len(sizes), Blob: b.id, Layout: lj}, b, nil
}

// printedOf is the act's printed layout, if it was printed with codes.
func (a *Agent) printedOf(ctx context.Context, act string) (printed, bool) {
	_, data, err := a.opts.Store.DocumentData(ctx, act, store.PrintedLayout)
	if err != nil {
		return printed{}, false
	}
	var p printed
	if json.Unmarshal(data, &p) != nil {
		return printed{}, false
	}
	return p, true
}

// placement is where a printed page lies on its scan: which page of the
// printed PDF it is (from 1), and the transform from its points to the
// scan's pixels.
type placement struct {
	page int
	tf   sheet.Transform
}

// identify reads a captured page's code and places the boxes of its
// printed page on it; the placement is nil when the page is not known.
func identify(g *image.Gray, dpi int, act string, index int, p printed) ([]pipeline.Box, *protocol.PrintedPage, *placement) {
	refuse := func(code string) ([]pipeline.Box, *protocol.PrintedPage, *placement) {
		e := protocol.NewError(code)
		return nil, &protocol.PrintedPage{Error: &e}, nil
	}
	found, err := sheet.Find(g, dpi)
	if errors.Is(err, sheet.ErrNoCode) && index <= len(p.Layout.Pages) {
		// No code to read (torn, covered, smudged): the page's place in
		// the capture says which it is, and its marks where it lies.
		page := p.Layout.Pages[index-1]
		tf, err := sheet.FromMarks(g, dpi, pipeline.EstimateGeometry(g, dpi), page.Width, page.Height)
		if err == nil {
			return tf.Boxes(page), &protocol.PrintedPage{Page: index, Pages: len(p.Layout.Pages), ByOrder: true}, &placement{index, tf}
		}
	}
	if err != nil {
		return refuse(protocol.CodePageNoCode)
	}
	if err := found.Code.Check(act, p.PDFHash); err != nil {
		if errors.Is(err, sheet.ErrOtherAct) {
			boxes, r, _ := refuse(protocol.CodePageOtherAct)
			r.OtherAct = found.Code.Act
			return boxes, r, nil
		}
		return refuse(protocol.CodePageOtherPrint)
	}
	if found.Code.Page > len(p.Layout.Pages) || found.Code.Pages != len(p.Layout.Pages) {
		return refuse(protocol.CodePageOtherPrint)
	}
	page := p.Layout.Pages[found.Code.Page-1]
	tf, err := found.TransformFor(page.Width, page.Height)
	if err != nil {
		return refuse(protocol.CodePageNoCode)
	}
	tf, _ = tf.Refine(g, page.Width, page.Height)
	return tf.Boxes(page), &protocol.PrintedPage{Page: found.Code.Page, Pages: found.Code.Pages}, &placement{found.Code.Page, tf}
}

// printCache keeps the last printed pages rendered: a capture scans the
// pages of one act, one after another, often more than once.
type printCache struct {
	mu    sync.Mutex
	pages []renderedPage // most recent last
}

type renderedPage struct {
	pdfHash string
	page    int
	img     *image.Gray
}

const printCacheSize = 6 // about 4 MB each at the render's 200 dpi

// printOf is the act's printed page placed on its scan, for the signature
// pipeline to take away; nil (and logged) when it cannot be rendered: the
// boxes are then judged on the scan alone.
func (a *Agent) printOf(ctx context.Context, actID string, pr printed, pl *placement) pipeline.Printed {
	if pl == nil || pl.page < 1 || pl.page > len(pr.Layout.Pages) {
		return nil
	}
	img, err := a.renderPrinted(ctx, actID, pr.PDFHash, pl.page)
	if err != nil {
		a.log.Warn("the printed page could not be rendered: its boxes are judged on the scan alone", "act", actID, "page", pl.page, "err", err)
		return nil
	}
	p, err := sheet.NewPrint(img, sheet.RenderDPI, pr.Layout.Pages[pl.page-1].Height, pl.tf)
	if err != nil {
		a.log.Warn("the printed page cannot be placed on its scan", "act", actID, "page", pl.page, "err", err)
		return nil
	}
	return p
}

func (a *Agent) renderPrinted(ctx context.Context, actID, pdfHash string, page int) (*image.Gray, error) {
	c := &a.prints
	c.mu.Lock()
	for _, r := range c.pages {
		if r.pdfHash == pdfHash && r.page == page {
			c.mu.Unlock()
			return r.img, nil
		}
	}
	c.mu.Unlock()
	_, pdf, err := a.opts.Store.DocumentData(ctx, actID, store.PrintedSheets)
	if err != nil {
		return nil, err
	}
	img, err := sheet.Render(ctx, pdf, page, sheet.RenderDPI, a.opts.Pdftoppm)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages = append(c.pages, renderedPage{pdfHash, page, img})
	if len(c.pages) > printCacheSize {
		c.pages = c.pages[1:]
	}
	return img, nil
}

var kindName = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

func (a *Agent) templatePath(kind string) (string, error) {
	if a.opts.LayoutDir == "" || !kindName.MatchString(kind) {
		return "", fmt.Errorf("%w: no template for acts of kind %q", errTemplate, kind)
	}
	return filepath.Join(a.opts.LayoutDir, kind+".json"), nil
}

// template is the layout kept for acts of a kind.
func (a *Agent) template(kind string) (sheet.Layout, error) {
	path, err := a.templatePath(kind)
	if err != nil {
		return sheet.Layout{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return sheet.Layout{}, fmt.Errorf("%w: no template for acts of kind %q: %w", errTemplate, kind, err)
	}
	var l sheet.Layout
	if err := json.Unmarshal(b, &l); err != nil || len(l.Pages) == 0 {
		return sheet.Layout{}, fmt.Errorf("%w: template for %q unreadable: %v", errTemplate, kind, err)
	}
	return l, nil
}

// saveTemplate keeps a layout for the next acts of a kind; a layout holds
// no personal data, only where the boxes are.
func (a *Agent) saveTemplate(kind string, raw []byte) error {
	var l sheet.Layout
	if err := json.Unmarshal(raw, &l); err != nil || len(l.Pages) == 0 {
		return fmt.Errorf("%w: layout: %v", errTemplate, err)
	}
	path, err := a.templatePath(kind)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("%w: %w", errTemplate, err)
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("%w: %w", errTemplate, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %w", errTemplate, err)
	}
	return nil
}

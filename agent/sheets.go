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

	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/sheet"
)

// The printed pages of an act and their layout are kept with its
// documents, sealed like them.
const (
	layoutDoc      = "printed-layout.json"
	layoutType     = "application/vnd.autografo.layout+json"
	printedDocName = "fogli-da-firmare.pdf"
)

// printed is what an act was printed with: the layout, and the hash its
// page codes carry.
type printed struct {
	Layout  sheet.Layout `json:"layout"`
	PDFHash string       `json:"pdfHash"`
}

var errSheet = errors.New("agent: pages to print cannot be made")

// roleLabels are the labels printed above each signer's box.
var roleLabels = map[string]string{
	"sposo": "Lo sposo", "sposa": "La sposa", "testimone1": "Il testimone", "testimone2": "Il testimone",
	"testimone3": "Il testimone", "testimone4": "Il testimone", "interprete": "L'interprete",
	"ufficiale": "L'Ufficiale dello Stato Civile", "dichiarante": "Il dichiarante",
}

// printSheet makes the pages to print for an act, keeps their layout with
// the act, and sends the PDF.
func (a *Agent) printSheet(ctx context.Context, operator string, out Sender, r *protocol.SheetPrint, replyTo string) {
	fail := func(err error) {
		a.log.Warn("pages to print failed", "act", r.Act, "err", err)
		out.Send(protocol.ErrorMessage{Envelope: protocol.Envelope{Type: protocol.TypeError, ID: replyTo},
			Error: protocol.Error{Code: protocol.CodeSheetFailed, Message: Italian(protocol.CodeSheetFailed)}})
	}
	act, err := a.opts.Store.Act(ctx, r.Act)
	if err != nil {
		fail(err)
		return
	}
	var pdf []byte
	var layout sheet.Layout
	if r.Preview != "" {
		if pdf, err = base64.StdEncoding.DecodeString(r.Preview); err != nil {
			fail(fmt.Errorf("%w: preview: %w", errSheet, err))
			return
		}
		if len(r.Layout) == 0 {
			// No layout given: the template kept for acts of this kind,
			// or else the labels printed in the preview's text.
			if layout, err = a.template(act.Kind); err != nil {
				var terr error
				rules := a.opts.LabelRules
				if len(rules) == 0 {
					rules = sheet.DefaultRules
				}
				if layout, terr = sheet.LayoutFromText(ctx, pdf, rules, ""); terr != nil {
					fail(errors.Join(err, terr))
					return
				}
			}
		} else if err := json.Unmarshal(r.Layout, &layout); err != nil || len(layout.Pages) == 0 {
			fail(fmt.Errorf("%w: a preview needs its layout: %v", errSheet, err))
			return
		}
		if r.SaveAsTemplate {
			if err := a.saveTemplate(act.Kind, layout); err != nil {
				fail(err)
				return
			}
		}
	} else {
		var signers []protocol.Signer
		_ = json.Unmarshal(act.Signers, &signers)
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
			label := roleLabels[s.Role]
			if label == "" {
				label = s.Role
			}
			sh.Signers = append(sh.Signers, sheet.SheetSigner{Role: s.Role, Label: label, Name: s.Name})
		}
		if pdf, layout, err = sh.PDF(); err != nil {
			fail(err)
			return
		}
	}
	sizes, err := sheet.PageSizes(pdf)
	if err != nil {
		fail(err)
		return
	}
	if len(sizes) != len(layout.Pages) {
		fail(fmt.Errorf("%w: the layout has %d pages, the PDF %d", errSheet, len(layout.Pages), len(sizes)))
		return
	}
	stamped, err := sheet.Stamp(pdf, act.ID)
	if err != nil {
		fail(err)
		return
	}
	p, _ := json.Marshal(printed{Layout: layout, PDFHash: sheet.PDFHash(pdf)})
	if _, err := a.opts.Store.PutDocument(ctx, store.Document{Act: act.ID, Name: layoutDoc, MediaType: layoutType}, p, operator); err != nil {
		fail(err)
		return
	}
	if _, err := a.opts.Store.PutDocument(ctx, store.Document{Act: act.ID, Name: printedDocName, MediaType: "application/pdf"}, stamped, operator); err != nil {
		fail(err)
		return
	}
	a.log.Info("pages to print made", "act", act.ID, "pages", len(sizes), "pdf", sheet.PDFHash(pdf))
	blob := newID("blob-")
	lj, _ := json.Marshal(layout)
	out.Send(protocol.SheetReady{Envelope: protocol.Envelope{Type: protocol.TypeSheetReady, ID: replyTo},
		Act: act.ID, Name: printedDocName, Pages: len(sizes), Blob: blob, Layout: lj})
	out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: "application/pdf"}, stamped)
}

// printedOf is the act's printed layout, if it was printed with codes.
func (a *Agent) printedOf(act string) (printed, bool) {
	_, data, err := a.opts.Store.DocumentData(context.Background(), act, layoutDoc)
	if err != nil {
		return printed{}, false
	}
	var p printed
	if json.Unmarshal(data, &p) != nil {
		return printed{}, false
	}
	return p, true
}

// identify reads a captured page's code and places the boxes of its
// printed page on it.
func identify(g *image.Gray, dpi int, act string, index int, p printed) ([]pipeline.Box, *protocol.PrintedPage) {
	refuse := func(code string) *protocol.PrintedPage {
		return &protocol.PrintedPage{Error: &protocol.Error{Code: code, Message: Italian(code)}}
	}
	found, err := sheet.Find(g, dpi)
	if errors.Is(err, sheet.ErrNoCode) && index <= len(p.Layout.Pages) {
		// No code to read (torn, covered, smudged): the page's place in
		// the capture says which it is, and its marks where it lies.
		page := p.Layout.Pages[index-1]
		tf, err := sheet.FromMarks(g, dpi, pipeline.EstimateGeometry(g, dpi), page.Width, page.Height)
		if err == nil {
			return tf.Boxes(page), &protocol.PrintedPage{Page: index, Pages: len(p.Layout.Pages), ByOrder: true}
		}
	}
	if err != nil {
		return nil, refuse(protocol.CodePageNoCode)
	}
	if err := found.Code.Check(act, p.PDFHash); err != nil {
		if errors.Is(err, sheet.ErrOtherAct) {
			r := refuse(protocol.CodePageOtherAct)
			r.OtherAct = found.Code.Act
			return nil, r
		}
		return nil, refuse(protocol.CodePageOtherPrint)
	}
	if found.Code.Page > len(p.Layout.Pages) || found.Code.Pages != len(p.Layout.Pages) {
		return nil, refuse(protocol.CodePageOtherPrint)
	}
	page := p.Layout.Pages[found.Code.Page-1]
	tf, err := found.TransformFor(page.Width, page.Height)
	if err != nil {
		return nil, refuse(protocol.CodePageNoCode)
	}
	tf, _ = tf.Refine(g, page.Width, page.Height)
	return tf.Boxes(page), &protocol.PrintedPage{Page: found.Code.Page, Pages: found.Code.Pages}
}

var kindName = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

func (a *Agent) templatePath(kind string) (string, error) {
	if a.opts.LayoutDir == "" || !kindName.MatchString(kind) {
		return "", fmt.Errorf("%w: no template for acts of kind %q", errSheet, kind)
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
		return sheet.Layout{}, fmt.Errorf("%w: no template for acts of kind %q: %w", errSheet, kind, err)
	}
	var l sheet.Layout
	if err := json.Unmarshal(b, &l); err != nil || len(l.Pages) == 0 {
		return sheet.Layout{}, fmt.Errorf("%w: template for %q unreadable: %v", errSheet, kind, err)
	}
	return l, nil
}

// saveTemplate keeps a layout for the next acts of a kind; a layout holds
// no personal data, only where the boxes are.
func (a *Agent) saveTemplate(kind string, l sheet.Layout) error {
	path, err := a.templatePath(kind)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

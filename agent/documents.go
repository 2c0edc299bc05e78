package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/store"
)

// Sealer seals documents (the workstation seal); nil leaves them unsealed.
type Sealer interface {
	Seal(doc []byte, info seal.Info) ([]byte, error)
}

// buildDocument makes, seals and stores the act's upload-ready PDF from all
// its pages, and tells the browser, with the bytes and the R006 fields.
func (a *Agent) buildDocument(ctx context.Context, actID, operator string, out Sender) {
	fail := func(code string, err error) {
		a.log.Warn("document failed", "act", actID, "code", code, "err", err)
		out.Send(protocol.DocumentFailed{Envelope: protocol.Envelope{Type: protocol.TypeDocumentFailed}, Act: actID,
			Error: protocol.Error{Code: code, Message: Italian(code)}})
	}
	act, err := a.opts.Store.Act(ctx, actID)
	if err != nil {
		fail(protocol.CodeDocumentFailed, err)
		return
	}
	pages, err := a.opts.Store.Pages(ctx, actID)
	if err != nil {
		fail(protocol.CodeDocumentFailed, err)
		return
	}
	inputs := make([]document.Input, 0, len(pages))
	for _, p := range pages {
		_, data, err := a.opts.Store.Page(ctx, actID, p.Index)
		if err != nil {
			fail(protocol.CodeDocumentFailed, err)
			return
		}
		inputs = append(inputs, document.Input{Data: data, MediaType: p.MediaType, DPI: p.DPI})
	}
	t0 := time.Now()
	title := fmt.Sprintf("Processo verbale - %s", act.Kind)
	if act.Ref != "" {
		title += " " + act.Ref
	}
	res, err := document.Build(inputs, document.Meta{Title: title, Created: act.Created}, document.Options{Budget: a.opts.DocumentBudget})
	if err != nil {
		code := protocol.CodeDocumentFailed
		if errors.Is(err, document.ErrTooLarge) {
			code = protocol.CodeDocumentTooBig
		}
		fail(code, err)
		return
	}
	pdf := res.PDF
	sealed := false
	if a.opts.Sealer != nil {
		if pdf, err = a.opts.Sealer.Seal(pdf, seal.Info{Reason: "Sigillo della postazione Autografo"}); err != nil {
			fail(protocol.CodeDocumentFailed, err)
			return
		}
		sealed = true
	}
	name := document.DefaultName(act.Kind, act.Ref, act.Created)
	var signers []protocol.Signer
	_ = json.Unmarshal(act.Signers, &signers)
	var firmatari []document.Firmatario
	for _, s := range signers {
		nome, cognome, _ := strings.Cut(strings.TrimSpace(s.Name), " ")
		if nome != "" {
			firmatari = append(firmatari, document.Firmatario{Nome: nome, Cognome: cognome})
		}
	}
	r006, err := document.R006(pdf, "application/pdf", name, "", firmatari)
	if err != nil {
		fail(protocol.CodeDocumentFailed, err)
		return
	}
	doc, err := a.opts.Store.PutDocument(ctx, store.Document{Act: actID, Name: name, MediaType: "application/pdf"}, pdf, operator)
	if err != nil {
		fail(protocol.CodeStoreFailed, err)
		return
	}
	digests := document.Digests(pdf)
	a.log.Info("document ready", "act", actID, "name", name, "bytes", len(pdf), "pages", len(pages),
		"sealed", sealed, "pass_through", res.PassThrough, "elapsed", time.Since(t0))
	lista := make([]protocol.Firmatario, 0, len(firmatari))
	for _, f := range firmatari {
		lista = append(lista, protocol.Firmatario{Nome: f.Nome, Cognome: f.Cognome})
	}
	blob := newID("blob-")
	out.Send(protocol.DocumentReady{
		Envelope: protocol.Envelope{Type: protocol.TypeDocumentReady}, Act: actID,
		Document: protocol.DocumentInfo{Name: name, MediaType: doc.MediaType, Bytes: doc.Size, Pages: len(pages),
			SHA256: digests.SHA256, SHA1: digests.SHA1, Sealed: sealed, PassThrough: res.PassThrough},
		R006: protocol.R006Fields{Nomefile: r006.Nomefile, TipoFile: r006.TipoFile, TipoAllegato: r006.TipoAllegato, ListaFirmatari: lista},
		Blob: blob,
	})
	out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: "application/pdf"}, pdf)
}

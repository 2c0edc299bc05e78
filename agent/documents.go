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

// Attester signs with the officer's key (a smart card, or a PKCS#12 file);
// Name is the officer's name on the certificate.
type Attester interface {
	Sealer
	Name() string
}

// documentRequest says which document to build: format is "pdf", "jpg" or
// "tif"; attest asks for the officer's attestation; replyTo is the id of
// the request that asked for it, if any.
type documentRequest struct {
	format  string
	attest  bool
	replyTo string
}

// buildDocument makes, seals and stores the act's upload-ready PDF from all
// its pages, and tells the browser, with the bytes and the R006 fields.
// A PDF of an emergency-register act also gets the officer's attestation
// of conformity when an attester is configured.
func (a *Agent) buildDocument(ctx context.Context, actID, operator string, out Sender, req documentRequest) {
	format, replyTo := req.format, req.replyTo
	if format == "" {
		format = "pdf"
	}
	fail := func(code string, err error) {
		a.log.Warn("document failed", "act", actID, "format", format, "code", code, "err", err)
		out.Send(protocol.DocumentFailed{Envelope: protocol.Envelope{Type: protocol.TypeDocumentFailed, ID: replyTo}, Act: actID,
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
	// Printed pages come in the order of their codes; the analyses that
	// read the codes of the last pages may still be running.
	a.waitAnalyses(actID, 30*time.Second)
	indices := make([]int, len(pages))
	byIndex := map[int]store.Page{}
	for i, p := range pages {
		indices[i] = p.Index
		byIndex[p.Index] = p
	}
	order, missing := a.documentOrder(actID, indices)
	inputs := make([]document.Input, 0, len(pages))
	for _, idx := range order {
		p := byIndex[idx]
		_, data, err := a.opts.Store.Page(ctx, actID, p.Index)
		if err != nil {
			fail(protocol.CodeDocumentFailed, err)
			return
		}
		inputs = append(inputs, document.Input{Data: data, MediaType: p.MediaType, DPI: p.DPI,
			Rotate: a.uprightTurn(actID, p.Index, data, p.MediaType, p.DPI)})
	}
	t0 := time.Now()
	title := fmt.Sprintf("Processo verbale - %s", act.Kind)
	if act.Ref != "" {
		title += " " + act.Ref
	}
	var attestation *document.Attestation
	if format == "pdf" && (req.attest || act.Emergency) {
		switch {
		case a.opts.Attester != nil:
			attestation = &document.Attestation{Officer: a.opts.Attester.Name(), Office: a.opts.Office, Act: strings.ToLower(title[:1]) + title[1:],
				Register: act.Register, Date: time.Now()}
		case req.attest:
			fail(protocol.CodeNoAttester, errors.New("no attester configured"))
			return
		default:
			// The document is still worth having; the browser sees it is
			// not attested and the log says why.
			a.log.Warn("emergency act without attestation: no officer key configured", "act", actID)
		}
	} else if req.attest {
		fail(protocol.CodeBadFormat, errors.New("only a PDF can carry the attestation"))
		return
	}
	var data []byte
	mediaType, passThrough := "application/pdf", false
	switch format {
	case "jpg":
		mediaType = "image/jpeg"
		data, err = document.BuildJPG(inputs)
		passThrough = err == nil && len(inputs) == 1 && inputs[0].MediaType == "image/jpeg"
	case "tif":
		mediaType = "image/tiff"
		data, err = document.BuildTIFF(inputs)
	default:
		var res document.Result
		res, err = document.Build(inputs, document.Meta{Title: title, Created: act.Created, Attestation: attestation}, document.Options{Budget: a.opts.DocumentBudget})
		data, passThrough = res.PDF, res.PassThrough
	}
	if err != nil {
		code := protocol.CodeDocumentFailed
		switch {
		case errors.Is(err, document.ErrTooLarge):
			code = protocol.CodeDocumentTooBig
		case errors.Is(err, document.ErrFormat):
			code = protocol.CodeBadFormat
		}
		fail(code, err)
		return
	}
	sealed := false
	// Only a PDF can carry the seal; JPG and TIF go as they are.
	if a.opts.Sealer != nil && format == "pdf" {
		if data, err = a.opts.Sealer.Seal(data, seal.Info{Reason: "Sigillo della postazione Autografo"}); err != nil {
			fail(protocol.CodeDocumentFailed, err)
			return
		}
		sealed = true
	}
	attested := false
	if attestation != nil {
		// Last, so that the officer's signature covers the workstation seal.
		if data, err = a.opts.Attester.Seal(data, seal.Info{Reason: "Attestazione di conformità all'originale analogico",
			Location: a.opts.Office, LastPage: true, Rect: document.SignatureRect}); err != nil {
			code := protocol.CodeDocumentFailed
			if errors.Is(err, seal.ErrToken) {
				code = protocol.CodeNoAttester
			}
			fail(code, err)
			return
		}
		attested = true
	}
	name := strings.TrimSuffix(document.DefaultName(act.Kind, act.Ref, act.Created), ".pdf") + "." + format
	var signers []protocol.Signer
	_ = json.Unmarshal(act.Signers, &signers)
	var firmatari []document.Firmatario
	for _, s := range signers {
		nome, cognome, _ := strings.Cut(strings.TrimSpace(s.Name), " ")
		if nome != "" {
			firmatari = append(firmatari, document.Firmatario{Nome: nome, Cognome: cognome})
		}
	}
	r006, err := document.R006(data, mediaType, name, "", firmatari)
	if err != nil {
		fail(protocol.CodeDocumentFailed, err)
		return
	}
	doc, err := a.opts.Store.PutDocument(ctx, store.Document{Act: actID, Name: name, MediaType: mediaType}, data, operator)
	if err != nil {
		fail(protocol.CodeStoreFailed, err)
		return
	}
	digests := document.Digests(data)
	a.log.Info("document ready", "act", actID, "name", name, "bytes", len(data), "pages", len(pages),
		"sealed", sealed, "attested", attested, "pass_through", passThrough, "elapsed", time.Since(t0))
	lista := make([]protocol.Firmatario, 0, len(firmatari))
	for _, f := range firmatari {
		lista = append(lista, protocol.Firmatario{Nome: f.Nome, Cognome: f.Cognome})
	}
	blob := newID("blob-")
	out.Send(protocol.DocumentReady{
		Envelope: protocol.Envelope{Type: protocol.TypeDocumentReady, ID: replyTo}, Act: actID,
		Document: protocol.DocumentInfo{Name: name, MediaType: doc.MediaType, Bytes: doc.Size, Pages: len(inputs), MissingSheets: missing,
			SHA256: digests.SHA256, SHA1: digests.SHA1, Sealed: sealed, PassThrough: passThrough, Attested: attested, Officer: officerOf(attestation, attested)},
		R006: protocol.R006Fields{Nomefile: r006.Nomefile, TipoFile: r006.TipoFile, TipoAllegato: r006.TipoAllegato, ListaFirmatari: lista},
		Blob: blob,
	})
	out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: mediaType}, data)
}

func officerOf(a *document.Attestation, attested bool) string {
	if a == nil || !attested {
		return ""
	}
	return a.Officer
}

package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/scannertest"
)

func testAgent() *Agent {
	return New(manager.New(nil, manager.Options{Logger: slog.New(slog.DiscardHandler)}),
		Options{Logger: slog.New(slog.DiscardHandler), MaxPageBytes: 1 << 20, MaxPagePixels: 4_000_000})
}

func devicePage(data []byte) scanner.Page {
	return scanner.Page{MediaType: "image/jpeg", DPI: 300, Size: int64(len(data)), Body: io.NopCloser(bytes.NewReader(data))}
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{scanner.Wrap("scan", "d", scanner.ErrBusy), protocol.CodeDeviceBusy},
		{scanner.Wrap("page", "d", scanner.ErrGone), protocol.CodeDeviceGone},
		{scanner.Wrap("page", "d", scanner.ErrNoDocs), protocol.CodeNoDocuments},
		{scanner.Wrap("page", "d", scanner.ErrJammed), protocol.CodePaperJam},
		{scanner.Wrap("open", "d", scanner.ErrNotFound), protocol.CodeDeviceNotFound},
		{fmt.Errorf("x: %w", scanner.ErrUnsupported), protocol.CodeUnsupported},
		{fmt.Errorf("%w: short", errBadPage), protocol.CodeBadPage},
		{fmt.Errorf("%w: %w", errShutdown, context.Canceled), protocol.CodeShuttingDown},
		{context.Canceled, protocol.CodeCanceled},
		{errCaptureRunning, protocol.CodeCaptureRunning},
		{fmt.Errorf("x: %w", errActNotFound), protocol.CodeActNotFound},
		{errors.New("mystery"), protocol.CodeInternal},
	} {
		e := errorFor(tc.err)
		if e.Code != tc.code || e.Message != protocol.Italian(tc.code) || e.Action == "" {
			t.Errorf("%v: %+v, want code %s with its Italian message", tc.err, e, tc.code)
		}
	}
}

// A request the device does not offer is refused, in Italian, naming what
// to choose instead: the refusal comes from the device model's own check.
func TestUnsupportedSettingsSayWhatToChoose(t *testing.T) {
	caps := scanner.Caps{Sources: []scanner.Source{scanner.Platen, scanner.Feeder}, Inputs: []scanner.Input{
		{Source: scanner.Platen, MinWidthMM: 25.4, MinHeightMM: 25.4, MaxWidthMM: 215.9, MaxHeightMM: 297,
			Modes: map[scanner.ColorMode][]int{scanner.Color: {150, 300}, scanner.Gray: {150, 300, 600}}},
		{Source: scanner.Feeder, MaxWidthMM: 215.9, MaxHeightMM: 355.6, Modes: map[scanner.ColorMode][]int{scanner.Gray: {300}}},
	}}
	for _, tc := range []struct {
		req  scanner.Request
		want string
	}{
		{scanner.Request{Source: scanner.Platen, DPI: 600, Color: scanner.Color},
			"Lo scanner non acquisisce a 600 dpi a colori dal vetro: scegliere 150 o 300 dpi."},
		{scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Color},
			"Lo scanner non acquisisce a colori dall'alimentatore: scegliere «Grigi»."},
		{scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Gray, Duplex: true},
			"Lo scanner non acquisisce fronte e retro: acquisire un lato alla volta."},
		{scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: scanner.Region{Width: 250, Height: 297}},
			"Dal vetro lo scanner acquisisce fogli di larghezza fra 25,4 e 215,9 mm: scegliere un formato entro questi limiti."},
	} {
		err := caps.Supports(tc.req)
		if err == nil {
			t.Fatalf("%+v: supported", tc.req)
		}
		e := errorFor(scanner.Wrap("scan", "escl:x", err))
		if e.Code != protocol.CodeUnsupported || e.Message != tc.want {
			t.Errorf("%+v:\n got %s %q\nwant %q", tc.req, e.Code, e.Message, tc.want)
		}
	}
}

func TestReceivePageBounds(t *testing.T) {
	a := testAgent()
	noProgress := func(int64, int64) {}
	good := scannertest.JPEG(400, 300)
	p, preview, err := a.receivePage(context.Background(), devicePage(good), noProgress)
	if err != nil {
		t.Fatal(err)
	}
	if p.info.Width != 400 || p.info.Height != 300 || p.info.MediaType != "image/jpeg" || !bytes.Equal(p.data, good) || len(preview) == 0 {
		t.Fatalf("page info %+v", p.info)
	}
	tooBig := append(bytes.Clone(good), make([]byte, 1<<20)...)
	if _, _, err := a.receivePage(context.Background(), devicePage(tooBig), noProgress); !errors.Is(err, errBadPage) {
		t.Errorf("a page over MaxPageBytes: %v", err)
	}
	tooMany := scannertest.JPEG(2100, 2000) // 4.2 Mpx > 4 Mpx
	if _, _, err := a.receivePage(context.Background(), devicePage(tooMany), noProgress); !errors.Is(err, errBadPage) {
		t.Errorf("a page over MaxPagePixels: %v", err)
	}
}

// Page bytes come from devices: whatever they are, the answer is a page or
// errBadPage, never a panic or another error.
func FuzzReceivePage(f *testing.F) {
	good := scannertest.JPEG(32, 24)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{})
	a := testAgent()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, preview, err := a.receivePage(context.Background(), devicePage(data), func(int64, int64) {})
		if err != nil {
			if !errors.Is(err, errBadPage) {
				t.Fatalf("error %v is not errBadPage", err)
			}
			return
		}
		if p.info.Width <= 0 || p.info.Height <= 0 || len(preview) == 0 {
			t.Fatalf("accepted page with info %+v", p.info)
		}
	})
}

// An attestation names the paper document by the act's kind: the office's
// own wording when it gave one, the default otherwise, never a bare code.
func TestPaperDocumentPerActKind(t *testing.T) {
	a := testAgent()
	a.opts.AttestDocuments = map[string]string{"matrimonio": "atto di matrimonio celebrato fuori dalla casa comunale"}
	for _, c := range []struct{ kind, ref, want string }{
		{"matrimonio", "4", "atto di matrimonio celebrato fuori dalla casa comunale n. 4"},
		{"unione_civile", "", "processo verbale di costituzione dell'unione civile"},
		{"carta_identita", "12", "processo verbale per il rilascio della carta d'identità a domicilio n. 12"},
		{"altro", "", "processo verbale"},
		{"adozione", "2", "processo verbale (adozione) n. 2"},
	} {
		if got := a.paperDocument(c.kind, c.ref); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.kind, c.ref, got, c.want)
		}
	}
	for _, k := range actKinds {
		if _, ok := paperDocuments[k.Kind]; !ok {
			t.Errorf("the reference page's kind %q has no paper document", k.Kind)
		}
	}
}

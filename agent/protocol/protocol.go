// Package protocol is the wire between the browser and the agent, version 1.
//
// Text frames carry one JSON object each: {"type": ..., "id": ..., ...}. A
// request from the browser carries an id of its choosing; the reply carries
// the same id. Events from the agent carry no id, or the id of the request
// that caused them.
//
// Binary frames carry images and documents: a 4-byte big-endian length, a
// JSON BlobHeader of that length, then the bytes. A text message that
// announces a blob (page.ready) names it by BlobHeader.Blob; the binary frame
// follows it on the same connection. A browser that needs base64 (ANSC's
// R006 takes the file as base64) converts the bytes it received.
//
// This package imports nothing of the project; webui/autografo-client.js
// mirrors it.
package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the protocol version this agent speaks.
const Version = 1

// MaxMessageBytes bounds a text frame from the browser.
const MaxMessageBytes = 64 << 10

// Message types from the browser.
const (
	TypeHello        = "hello"
	TypeDevicesList  = "devices.list"
	TypeActOpen      = "act.open"
	TypeCaptureStart = "capture.start"
	TypeCaptureStop  = "capture.cancel"
	TypePageGet      = "page.get"
	TypeActsList     = "acts.list"
	TypeActResume    = "act.resume"
	TypeActConfirm   = "act.confirm"
	TypeActDeliver   = "act.deliver"
	TypeActRelease   = "act.release"
	TypeDocumentMake = "document.build"
	TypeSheetPrint   = "sheet.print"
)

// Message types from the agent.
const (
	TypeWelcome         = "welcome"
	TypeDevices         = "devices"
	TypeDevicesChanged  = "devices.changed"
	TypeActOpened       = "act.opened"
	TypeCaptureStarted  = "capture.started"
	TypeCaptureProgress = "capture.progress"
	TypePageReady       = "page.ready"
	TypePageAnalysis    = "page.analysis"
	TypeCaptureDone     = "capture.done"
	TypeCaptureFailed   = "capture.failed"
	TypeCaptureCanceled = "capture.canceled"
	TypePage            = "page"
	TypeActs            = "acts"
	TypeActResumed      = "act.resumed"
	TypeActConfirmed    = "act.confirmed"
	TypeActDelivered    = "act.delivered"
	TypeActReleased     = "act.released"
	TypeDocumentReady   = "document.ready"
	TypeDocumentFailed  = "document.failed"
	TypeSheetReady      = "sheet.ready"
	TypeError           = "error"
)

// Envelope is the part every text message has.
type Envelope struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// Hello opens a session. Versions lists what the browser speaks; exactly
// one credential authenticates it: a ticket signed by the act-drafting
// backend, a one-time pairing token (from the URL fragment `autografo open`
// makes), a pairing code (from `autografo pair`), or the session token a
// pairing returned.
type Hello struct {
	Envelope
	Versions []int  `json:"versions"`
	Client   string `json:"client,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Pair     string `json:"pair,omitempty"`
	Code     string `json:"code,omitempty"`
	Session  string `json:"session,omitempty"`
}

// Welcome answers Hello with the version chosen, who the session is, and the
// devices present.
type Welcome struct {
	Envelope
	Version     int      `json:"version"`
	Agent       string   `json:"agent"`
	Operator    string   `json:"operator"`
	Permissions []string `json:"permissions"`
	// Session is set after a pairing: keep it (sessionStorage) to reconnect.
	Session string   `json:"session,omitempty"`
	Devices []Device `json:"devices"`
}

// Device is a scanner as the browser sees it.
type Device struct {
	ID     string `json:"id"`
	Driver string `json:"driver"`
	Name   string `json:"name"`
}

// Devices lists the devices: the reply to devices.list, and the
// devices.changed event.
type Devices struct {
	Envelope
	Devices []Device `json:"devices"`
}

// Signer is a person who must sign the act.
type Signer struct {
	Role string `json:"role"`
	Name string `json:"name"`
}

// ActOpen describes the act whose signed pages will be captured.
type ActOpen struct {
	Envelope
	Kind    string   `json:"kind"`
	Ref     string   `json:"ref,omitempty"` // the drafting app's own id for the act
	Signers []Signer `json:"signers"`
	// Emergency marks an act entered in the paper emergency register while
	// ANSC was down; Register is its number there.
	Emergency bool   `json:"emergency,omitempty"`
	Register  string `json:"register,omitempty"`
	// RegisterTime is when the act was entered in the emergency register
	// (RFC 3339); default: when it is opened here.
	RegisterTime string `json:"registerTime,omitempty"`
}

// Act is an act as the agent holds it.
type Act struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Ref          string   `json:"ref,omitempty"`
	Signers      []Signer `json:"signers"`
	Pages        int      `json:"pages"`
	State        string   `json:"state"` // open, captured, announced, delivered, confirmed
	Emergency    bool     `json:"emergency,omitempty"`
	Register     string   `json:"register,omitempty"`
	RegisterTime string   `json:"registerTime,omitempty"` // RFC 3339
	Created      string   `json:"created"`                // RFC 3339
}

// Acts lists the acts not yet purged: the reply to acts.list.
type Acts struct {
	Envelope
	Acts []Act `json:"acts"`
}

// ActRef names an act: act.resume (the reply, act.resumed, is followed by a
// page.ready with its preview for every page) and act.confirm.
type ActRef struct {
	Envelope
	Act string `json:"act"`
	// Attachment is ANSC's id of the accepted attachment (act.confirm).
	Attachment string `json:"attachment,omitempty"`
}

// ActInfo answers act.resume, act.confirm and act.release.
type ActInfo struct {
	Envelope
	Act Act `json:"act"`
}

// ActDelivered answers act.deliver: this tab now holds the act, and fetches
// its pages with page.get. No other tab can take it until it is released
// (upload failed) or confirmed.
type ActDelivered struct {
	Envelope
	Act   Act        `json:"act"`
	Pages []PageInfo `json:"pages"`
}

// ActOpened answers act.open.
type ActOpened struct {
	Envelope
	Act Act `json:"act"`
}

// CaptureStart asks for a scan into an act.
type CaptureStart struct {
	Envelope
	Act    string `json:"act"`
	Device string `json:"device"`
	Source string `json:"source"` // "platen" or "feeder"
	DPI    int    `json:"dpi"`
	Color  string `json:"color"` // "color" or "gray"
}

// CaptureRef names a capture: capture.started, capture.cancel.
type CaptureRef struct {
	Envelope
	Act     string `json:"act,omitempty"`
	Capture string `json:"capture"`
}

// Progress phases.
const (
	PhaseScanning  = "scanning"  // the device is moving paper
	PhaseReceiving = "receiving" // page bytes are arriving
	PhaseSaving    = "saving"    // the page is being checked and kept
)

// CaptureProgress reports where a capture is.
type CaptureProgress struct {
	Envelope
	Act     string `json:"act"`
	Capture string `json:"capture"`
	Page    int    `json:"page"` // 1-based page being worked on
	Phase   string `json:"phase"`
	// Bytes received of the page, and its size when the device said it
	// (else 0).
	Bytes int64 `json:"bytes"`
	Total int64 `json:"total"`
}

// PageInfo describes one captured page.
type PageInfo struct {
	Index     int    `json:"index"` // 1-based, in capture order
	MediaType string `json:"mediaType"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	DPI       int    `json:"dpi"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
}

// PageReady announces a page; its preview follows as the binary frame named
// by Preview.
type PageReady struct {
	Envelope
	Act     string   `json:"act"`
	Capture string   `json:"capture"`
	Page    PageInfo `json:"page"`
	Preview string   `json:"preview"` // blob id
}

// SheetPrint asks for the pages to print and sign, each with its page
// code and marks: Autografo's own signature sheet for the act's signers,
// or, with Preview (base64 PDF, such as ANSC's R010 preview) and its
// Layout, that PDF stamped. The reply is a sheet.ready; the act then
// knows where everyone signs on every page it captures.
type SheetPrint struct {
	Envelope
	Act     string          `json:"act"`
	Preview string          `json:"preview,omitempty"`
	Layout  json.RawMessage `json:"layout,omitempty"`
	// SaveAsTemplate keeps Layout as the template for acts of this act's
	// kind: a later preview of that kind can come without a layout.
	SaveAsTemplate bool `json:"saveAsTemplate,omitempty"`
}

// SheetReady gives the PDF to print; its bytes follow as the binary frame
// Blob names.
type SheetReady struct {
	Envelope
	Act   string `json:"act"`
	Name  string `json:"name"`
	Pages int    `json:"pages"`
	Blob  string `json:"blob"`
	// Layout is where everyone signs, page by page (PDF points from each
	// page's lower left corner).
	Layout json.RawMessage `json:"layout"`
}

// PrintedPage is what a captured page's code says: page Page of Pages of
// the act's printed PDF, or why the page is not one of them (Error: no
// code read, a page of another act, of another printing).
type PrintedPage struct {
	Page  int    `json:"page,omitempty"`
	Pages int    `json:"pages,omitempty"`
	Error *Error `json:"error,omitempty"`
	// ByOrder: the code could not be read; the page is taken to be the
	// printed page its place in the capture says, placed by its marks.
	ByOrder bool `json:"byOrder,omitempty"`
	// OtherAct is the act a page of another act belongs to.
	OtherAct string `json:"otherAct,omitempty"`
}

// PageAnalysis is what the signature pipeline found on a captured page:
// how it lies on the scanner, and for each signer's box that its layout
// places there, whether it is signed. Each signature image (PNG) follows
// as the binary frame its Blob names.
type PageAnalysis struct {
	Envelope
	Act     string `json:"act"`
	Capture string `json:"capture"`
	Page    int    `json:"page"` // the page's index in the act
	// SkewDeg is the text's angle, clockwise; Orientation the quarter turn
	// the page shows. Trusted is false when the page gave too little to go
	// on.
	SkewDeg     float64     `json:"skewDeg"`
	Orientation int         `json:"orientation"`
	Trusted     bool        `json:"trusted"`
	Signatures  []Signature `json:"signatures"`
	// Printed is set when the act was printed with page codes.
	Printed *PrintedPage `json:"printed,omitempty"`
}

// Signature is one signer's box on a page.
type Signature struct {
	Role       string  `json:"role"`
	Label      string  `json:"label,omitempty"`
	Decision   string  `json:"decision"` // signed, empty, doubtful
	Confidence float64 `json:"confidence"`
	// Reasons: faint_ink, ink_crosses_edge, stray_mark, little_ink,
	// two_lines.
	Reasons []string `json:"reasons,omitempty"`
	Blob    string   `json:"blob,omitempty"` // the signature's image, when there is one
}

// CaptureDone ends a capture that reached the last page.
type CaptureDone struct {
	Envelope
	Act     string `json:"act"`
	Capture string `json:"capture"`
	Pages   int    `json:"pages"` // pages this capture added
	Total   int    `json:"total"` // pages the act now has
}

// CaptureFailed ends a capture early; the pages already announced are kept.
type CaptureFailed struct {
	Envelope
	Act     string `json:"act"`
	Capture string `json:"capture"`
	Pages   int    `json:"pages"`
	Error   Error  `json:"error"`
}

// DocumentInfo describes the upload-ready file of an act.
type DocumentInfo struct {
	Name        string `json:"name"`
	MediaType   string `json:"mediaType"`
	Bytes       int64  `json:"bytes"`
	Pages       int    `json:"pages"`
	SHA256      string `json:"sha256"`
	SHA1        string `json:"sha1"` // for ANSC's hash field
	Sealed      bool   `json:"sealed"`
	PassThrough bool   `json:"passThrough"` // the scanner's JPEGs, unchanged
	// Attested: the officer's attestation of conformity is the last page
	// and is signed with the officer's key; Officer is the signer's name.
	Attested bool   `json:"attested,omitempty"`
	Officer  string `json:"officer,omitempty"`
	// MissingSheets are the printed pages never captured, when the act
	// was printed with page codes: the document lacks them.
	MissingSheets []int `json:"missingSheets,omitempty"`
}

// Firmatario is a signer as ANSC's R006 lists them.
type Firmatario struct {
	Nome          string `json:"nome,omitempty"`
	Cognome       string `json:"cognome,omitempty"`
	CodiceFiscale string `json:"codiceFiscale,omitempty"`
}

// R006Fields are firmaDichiaranteInput of ANSC's R006 without contenuto:
// the browser adds the document's bytes as base64
// (AutografoClient.toBase64) and idEvento when it has it.
type R006Fields struct {
	Nomefile       string       `json:"nomefile"`
	TipoFile       string       `json:"tipoFile"`
	TipoAllegato   string       `json:"tipoAllegato"`
	ListaFirmatari []Firmatario `json:"listaFirmatari"`
}

// DocumentBuild asks for an act's document in a format ANSC takes: "pdf"
// (the default, PDF/A-1b), "jpg" (one-page acts) or "tif" (multi-page).
// The reply is a document.ready with the request's id.
type DocumentBuild struct {
	Envelope
	Act    string `json:"act"`
	Format string `json:"format,omitempty"`
	// Attest adds the officer's signed attestation of conformity (PDF
	// only). Acts of the emergency register always get it.
	Attest bool `json:"attest,omitempty"`
}

// DocumentReady announces an act's document; its bytes follow as the binary
// frame named by Blob.
type DocumentReady struct {
	Envelope
	Act      string       `json:"act"`
	Document DocumentInfo `json:"document"`
	R006     R006Fields   `json:"r006"`
	Blob     string       `json:"blob"`
}

// DocumentFailed says an act's document could not be made.
type DocumentFailed struct {
	Envelope
	Act   string `json:"act"`
	Error Error  `json:"error"`
}

// PageGet asks for the full image of a page; the reply is a page message
// followed by the binary frame it names.
type PageGet struct {
	Envelope
	Act  string `json:"act"`
	Page int    `json:"page"`
}

// PageBlob answers page.get.
type PageBlob struct {
	Envelope
	Act  string   `json:"act"`
	Page PageInfo `json:"page"`
	Blob string   `json:"blob"`
}

// Error is a failure with a stable code for programs and an Italian message
// for the operator.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorMessage is an error reply (to the request with the same id) or event.
type ErrorMessage struct {
	Envelope
	Error Error `json:"error"`
}

// Stable error codes.
const (
	CodeBadMessage      = "bad_message"
	CodeTooLarge        = "message_too_large"
	CodeUnknownType     = "unknown_type"
	CodeUnsupportedVer  = "unsupported_version"
	CodeNoHello         = "hello_required"
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeTooManyJobs     = "too_many_jobs"
	CodeRateLimited     = "rate_limited"
	CodeDeviceNotFound  = "device_not_found"
	CodeDeviceBusy      = "device_busy"
	CodeDeviceGone      = "device_gone"
	CodeDeviceDenied    = "device_denied"
	CodeNoDocuments     = "no_documents"
	CodePaperJam        = "paper_jam"
	CodeUnsupported     = "unsupported_settings"
	CodeActNotFound     = "act_not_found"
	CodePageNotFound    = "page_not_found"
	CodeCaptureRunning  = "capture_running"
	CodeCaptureNotFound = "capture_not_found"
	CodeBadPage         = "bad_page"
	CodeCanceled        = "canceled"
	CodeShuttingDown    = "shutting_down"
	CodeInternal        = "internal"
	CodeStoreFailed     = "store_failed"
	CodeDocumentFailed  = "document_failed"
	CodeDocumentTooBig  = "document_too_large"
	CodeBadFormat       = "bad_format"
	CodeNoAttester      = "attestation_unavailable"
	CodeSheetFailed     = "sheet_failed"
	CodePageNoCode      = "page_without_code"
	CodePageOtherAct    = "page_of_other_act"
	CodePageOtherPrint  = "page_of_other_printing"
	CodeDelivered       = "already_delivered"
	CodeConfirmed       = "already_confirmed"
	CodeNothingToSend   = "nothing_to_deliver"
)

// BlobHeader precedes the bytes of a binary frame.
type BlobHeader struct {
	Blob      string `json:"blob"`
	MediaType string `json:"mediaType"`
}

// MaxBlobHeader bounds the JSON header of a binary frame.
const MaxBlobHeader = 4 << 10

// EncodeBlob builds a binary frame.
func EncodeBlob(h BlobHeader, data []byte) ([]byte, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(hj) > MaxBlobHeader {
		return nil, fmt.Errorf("protocol: blob header of %d bytes exceeds %d", len(hj), MaxBlobHeader)
	}
	out := make([]byte, 4, 4+len(hj)+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(hj)))
	out = append(out, hj...)
	return append(out, data...), nil
}

// ErrBadFrame is returned for a binary frame that does not parse.
var ErrBadFrame = errors.New("protocol: malformed binary frame")

// DecodeBlob splits a binary frame into its header and bytes.
func DecodeBlob(frame []byte) (BlobHeader, []byte, error) {
	var h BlobHeader
	if len(frame) < 4 {
		return h, nil, fmt.Errorf("%w: %d bytes", ErrBadFrame, len(frame))
	}
	n := binary.BigEndian.Uint32(frame)
	if n > MaxBlobHeader || int(n) > len(frame)-4 {
		return h, nil, fmt.Errorf("%w: header length %d", ErrBadFrame, n)
	}
	if err := json.Unmarshal(frame[4:4+n], &h); err != nil {
		return h, nil, fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	return h, frame[4+n:], nil
}

// ErrBadMessage is returned for a text frame that does not parse.
var ErrBadMessage = errors.New("protocol: malformed message")

// DecodeRequest parses a text frame from the browser into the typed request
// its type names. An unknown type returns the envelope and ErrUnknownType so
// that the reply can carry the id.
func DecodeRequest(data []byte) (Envelope, any, error) {
	var env Envelope
	if len(data) > MaxMessageBytes {
		return env, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return env, nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if len(env.ID) > 128 {
		return Envelope{Type: env.Type}, nil, fmt.Errorf("%w: id longer than 128 bytes", ErrBadMessage)
	}
	var v any
	switch env.Type {
	case TypeHello:
		v = &Hello{}
	case TypeDevicesList:
		v = &Envelope{}
	case TypeActOpen:
		v = &ActOpen{}
	case TypeCaptureStart:
		v = &CaptureStart{}
	case TypeCaptureStop:
		v = &CaptureRef{}
	case TypePageGet:
		v = &PageGet{}
	case TypeActsList:
		v = &Envelope{}
	case TypeActResume, TypeActConfirm, TypeActDeliver, TypeActRelease:
		v = &ActRef{}
	case TypeDocumentMake:
		v = &DocumentBuild{}
	case TypeSheetPrint:
		v = &SheetPrint{}
	case "":
		return env, nil, fmt.Errorf("%w: no type", ErrBadMessage)
	default:
		return env, nil, fmt.Errorf("%w: %.40q", ErrUnknownType, env.Type)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return env, nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return env, v, nil
}

var (
	ErrUnknownType = errors.New("protocol: unknown message type")
	ErrTooLarge    = errors.New("protocol: message too large")
)

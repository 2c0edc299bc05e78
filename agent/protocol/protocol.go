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
// This package imports nothing of the project; webui/static/autografo.js
// mirrors it.
package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Version is the protocol version this agent speaks. Version 2 made the
// act's lifecycle part of the wire: states, signers with separate names and
// exceptions, delivery tokens.
const Version = 2

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
	TypePageTurn     = "page.turn"
	TypePageRemove   = "page.remove"
	TypePageMove     = "page.move"
	TypeActsList     = "acts.list"
	TypeActResume    = "act.resume"
	TypeActConfirm   = "act.confirm"
	TypeActDeliver   = "act.deliver"
	TypeActRelease   = "act.release"
	TypeActCancel    = "act.cancel"
	TypeActDelete    = "act.delete"
	TypeSignerUnable = "signer.unable"
	TypeSignatureOK  = "signature.override"
	TypeDocumentMake = "document.build"
	TypeSheetPrint   = "sheet.print"
	TypeTemplateSave = "template.save"
)

// requests maps each request type to the value its frame decodes into:
// the one list of what the browser may ask. The agent's route table is
// checked against it by a test.
var requests = map[string]func() any{
	TypeHello:        func() any { return &Hello{} },
	TypeDevicesList:  func() any { return &Envelope{} },
	TypeActOpen:      func() any { return &ActOpen{} },
	TypeCaptureStart: func() any { return &CaptureStart{} },
	TypeCaptureStop:  func() any { return &CaptureRef{} },
	TypePageGet:      func() any { return &PageGet{} },
	TypePageTurn:     func() any { return &PageTurn{} },
	TypePageRemove:   func() any { return &PageRemove{} },
	TypePageMove:     func() any { return &PageMove{} },
	TypeActsList:     func() any { return &Envelope{} },
	TypeActResume:    func() any { return &ActRef{} },
	TypeActConfirm:   func() any { return &ActConfirm{} },
	TypeActDeliver:   func() any { return &ActRef{} },
	TypeActRelease:   func() any { return &ActRelease{} },
	TypeActCancel:    func() any { return &ActReason{} },
	TypeActDelete:    func() any { return &ActReason{} },
	TypeSignerUnable: func() any { return &SignerMark{} },
	TypeSignatureOK:  func() any { return &SignerMark{} },
	TypeDocumentMake: func() any { return &DocumentBuild{} },
	TypeSheetPrint:   func() any { return &SheetPrint{} },
	TypeTemplateSave: func() any { return &TemplateSave{} },
}

// RequestTypes lists every request type the browser may send.
func RequestTypes() []string {
	out := make([]string, 0, len(requests))
	for t := range requests {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Message types from the agent.
const (
	TypeWelcome         = "welcome"
	TypeDevices         = "devices"
	TypeDevicesChanged  = "devices.changed"
	TypeActOpened       = "act.opened"
	TypeActChanged      = "act.changed"
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
	TypeActCancelled    = "act.cancelled"
	TypeActDeleted      = "act.deleted"
	TypeActUpdated      = "act.updated"
	TypeDocumentReady   = "document.ready"
	TypeDocumentFailed  = "document.failed"
	TypeSheetReady      = "sheet.ready"
	TypeTemplateSaved   = "template.saved"
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
	// Kinds are the acts Autografo knows and the signers each asks for;
	// Roles name every role, in the order an act lists its signers.
	Kinds []ActKind `json:"kinds"`
	Roles []Role    `json:"roles"`
}

// ActKind is a kind of act: the roles it asks for, in order, and those an
// act of the kind may add.
type ActKind struct {
	Kind  string   `json:"kind"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Extra []string `json:"extra"`
}

// Role names a signer's role for a person ("Primo testimone").
type Role struct {
	Role string `json:"role"`
	Name string `json:"name"`
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

// Signer is a person who must sign the act. In act.open only role, the
// names and the codice fiscale are read: nome and cognome are separate
// fields and are never split or joined by Autografo. The rest says where
// the signer stands, in every act the agent sends.
type Signer struct {
	Role          string `json:"role"`
	Nome          string `json:"nome,omitempty"`
	Cognome       string `json:"cognome,omitempty"`
	CodiceFiscale string `json:"codiceFiscale,omitempty"`
	Label         string `json:"label,omitempty"`
	// Display names the signer on the page, in the act's words: "Chiara
	// Colombo (secondo testimone)", or "Secondo testimone" without a name.
	Display string `json:"display,omitempty"`
	// Status is one of the Signer* constants.
	Status string `json:"status,omitempty"`
	// Pages are the act's pages where this signer's box was found.
	Pages []int `json:"pages,omitempty"`
	// Reasons are the pipeline's reasons for its verdict (see Signature).
	Reasons []string `json:"reasons,omitempty"`
	// Unable and Override are the officer's exceptions, when recorded.
	Unable   *Exception `json:"unable,omitempty"`
	Override *Exception `json:"override,omitempty"`
}

// Where a signer stands.
const (
	SignerSigned    = "signed"    // the pipeline found the signature in every box
	SignerMissing   = "missing"   // a box is empty
	SignerDoubtful  = "doubtful"  // the pipeline is not sure: the officer looks
	SignerUnchecked = "unchecked" // no box of this signer was found: the officer looks
	SignerUnable    = "unable"    // cannot sign, as the officer recorded
	SignerConfirmed = "confirmed" // the officer confirmed the signature by eye
	SignerPending   = "pending"   // pages not captured or analysed yet
)

// Exception is an officer's decision about a signer, with its reason.
type Exception struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
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
	// (RFC 3339); default: when it is opened here. Setting it needs the
	// admin permission.
	RegisterTime string `json:"registerTime,omitempty"`
}

// Act is an act as the agent holds it, with where it stands.
type Act struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Ref      string   `json:"ref,omitempty"`
	Comune   string   `json:"comune,omitempty"`
	Operator string   `json:"operator,omitempty"`
	Signers  []Signer `json:"signers"`
	Pages    int      `json:"pages"`
	// State is one of draft, printed, capturing, captured, checked, ready,
	// delivered, confirmed, purged, cancelled, deleted (docs/ACT-LIFECYCLE.md).
	State string `json:"state"`
	// Order is the act's pages that go in its document, by index, in the
	// document's order; Removed the pages the officer took out or retook.
	Order   []int `json:"order,omitempty"`
	Removed []int `json:"removed,omitempty"`
	// Capture is the capture running into the act while it is capturing:
	// a tab opened or reloaded meanwhile follows it, and can cancel it,
	// by this id.
	Capture string `json:"capture,omitempty"`
	// Interrupted is what ended the act's last capture before the feeder
	// was empty (a jam, the device unplugged, a cancel, Autografo stopped),
	// until the next capture starts: a tab opened later still says so.
	Interrupted *Error `json:"interrupted,omitempty"`
	// Blockers say what keeps a checked act from being ready.
	Blockers []Blocker `json:"blockers,omitempty"`
	// Document is the upload-ready document, once the act is ready.
	Document *DocumentInfo `json:"document,omitempty"`
	// Missing lists printed pages not captured, for a printed act.
	Missing      []int  `json:"missingSheets,omitempty"`
	Attachment   string `json:"attachment,omitempty"` // ANSC's id, once confirmed
	Emergency    bool   `json:"emergency,omitempty"`
	Register     string `json:"register,omitempty"`
	RegisterTime string `json:"registerTime,omitempty"` // RFC 3339
	Created      string `json:"created"`                // RFC 3339
}

// Blocker is one reason an act is not ready for ANSC: a code from the
// codes table (blocker_*), its Italian message, and the signer or page it
// is about.
type Blocker struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Role    string `json:"role,omitempty"`
	Page    int    `json:"page,omitempty"`
}

// ActChanged tells every session that sees an act where it is now: sent
// after every transition and every change of its record.
type ActChanged struct {
	Envelope
	Act Act `json:"act"`
}

// Acts lists the acts not yet purged: the reply to acts.list.
type Acts struct {
	Envelope
	Acts []Act `json:"acts"`
}

// ActRef names an act: act.resume (the reply, act.resumed, is followed
// by a page.ready with its preview and a page.analysis for every page) and
// act.deliver.
type ActRef struct {
	Envelope
	Act string `json:"act"`
}

// ActConfirm reports that ANSC accepted the act's document: Attachment is
// ANSC's idAllegato, Delivery the token act.delivered gave.
type ActConfirm struct {
	Envelope
	Act        string `json:"act"`
	Delivery   string `json:"delivery,omitempty"`
	Attachment string `json:"attachment"`
}

// ActRelease gives back a delivered act whose upload did not complete.
type ActRelease struct {
	Envelope
	Act      string `json:"act"`
	Delivery string `json:"delivery,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ActReason names an act and why: act.cancel, act.delete.
type ActReason struct {
	Envelope
	Act    string `json:"act"`
	Reason string `json:"reason"`
}

// SignerMark is an officer's decision about a signer: signer.unable (the
// signer cannot sign) or signature.override (the signature is there,
// whatever the pipeline found). Reason is required.
type SignerMark struct {
	Envelope
	Act    string `json:"act"`
	Role   string `json:"role"`
	Reason string `json:"reason"`
}

// PageTurn is the officer's quarter turn of a captured page, clockwise:
// 0, 90, 180 or 270. The document shows the page turned so.
type PageTurn struct {
	Envelope
	Act  string `json:"act"`
	Page int    `json:"page"`
	Turn int    `json:"turn"`
}

// PageRemove takes a captured page out of the act (a duplicate, a page
// of something else), for a stated reason. The page is kept, never in
// the document.
type PageRemove struct {
	Envelope
	Act    string `json:"act"`
	Page   int    `json:"page"`
	Reason string `json:"reason"`
}

// PageMove puts a page of the act before page Before (0: at the end) in
// the document. Pages whose printed code says where they go stay there.
type PageMove struct {
	Envelope
	Act    string `json:"act"`
	Page   int    `json:"page"`
	Before int    `json:"before"`
}

// TemplateSave keeps a layout as the template of an act kind.
type TemplateSave struct {
	Envelope
	Kind   string          `json:"kind"`
	Layout json.RawMessage `json:"layout"`
}

// ActInfo answers act.resume, act.confirm, act.release, act.cancel,
// act.delete, signer.unable, signature.override, page.turn, page.remove
// and page.move.
type ActInfo struct {
	Envelope
	Act Act `json:"act"`
}

// ActDelivered answers act.deliver: this tab now holds the act. Its
// document's bytes follow as the binary frame Blob names. No other tab
// can take it until the holder releases it (the upload failed) or
// confirms it; Delivery is the token that proves it is the holder, also
// after a reload (keep it in sessionStorage).
type ActDelivered struct {
	Envelope
	Act        Act          `json:"act"`
	Pages      []PageInfo   `json:"pages"`
	Delivery   string       `json:"delivery"`
	Document   DocumentInfo `json:"document"`
	R006       R006Fields   `json:"r006"`
	Exceptions []Eccezione  `json:"eccezioni,omitempty"`
	Blob       string       `json:"blob"`
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
	// Replace retakes page Replace of the act: the capture's first page
	// takes its place, and the old page is removed (kept, never in the
	// document). For the page whose box was left empty, signed since.
	Replace int `json:"replace,omitempty"`
	// Duplex scans both sides of each sheet from the feeder. The backs
	// found blank are kept but left out of the document.
	Duplex bool `json:"duplex,omitempty"`
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
	// Removed: the officer took the page out, or retook it; Replaces is
	// the page this one was retaken for.
	Removed  bool `json:"removed,omitempty"`
	Replaces int  `json:"replaces,omitempty"`
	// Back: the back of a sheet, scanned duplex.
	Back bool `json:"back,omitempty"`
	// Fit, when set, says the page's pixels are not what was asked of the
	// device: "resolution" (made at DPI, not at AskedDPI) or "area" (not
	// the area asked; DPI is the one asked).
	Fit      string `json:"fit,omitempty"`
	AskedDPI int    `json:"askedDpi,omitempty"`
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
// Layout, that PDF stamped. Without a layout, the template kept for the
// act's kind (template.save) or the labels printed in the preview's text
// say where the boxes are. The reply is a sheet.ready; the act then knows
// where everyone signs on every page it captures.
type SheetPrint struct {
	Envelope
	Act     string          `json:"act"`
	Preview string          `json:"preview,omitempty"`
	Layout  json.RawMessage `json:"layout,omitempty"`
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

// TemplateSaved answers template.save.
type TemplateSaved struct {
	Envelope
	Kind string `json:"kind"`
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
	SkewDeg     float64 `json:"skewDeg"`
	Orientation int     `json:"orientation"`
	Trusted     bool    `json:"trusted"`
	// OrientationTrusted is false when the quarter turn is a guess: the
	// document shows the page as scanned until the officer turns it.
	OrientationTrusted bool `json:"orientationTrusted"`
	// Turn is the officer's quarter turn (page.turn), -1 when none.
	// Upright is the clockwise turn the document gives the page: the
	// officer's, else the one found when it is sure (from the page's code,
	// or its text), else 0: the document never guesses.
	Turn       int         `json:"turn"`
	Upright    int         `json:"upright"`
	Signatures []Signature `json:"signatures"`
	// Printed is set when the act was printed with page codes.
	Printed *PrintedPage `json:"printed,omitempty"`
	// Position is the page's place in the document once the act is
	// checked (0: left out, or not yet known).
	Position int `json:"position,omitempty"`
	// Blank says whether the sheet holds any ink, and how much it holds.
	Blank *Blankness `json:"blank,omitempty"`
}

// Blankness is a page's blank decision with its figures: the ink's area in
// mm², how many marks, the largest mark's area.
type Blankness struct {
	Blank      bool    `json:"blank"`
	InkMM2     float64 `json:"inkMM2"`
	Marks      int     `json:"marks"`
	LargestMM2 float64 `json:"largestMM2"`
}

// Signature is one signer's box on a page.
type Signature struct {
	Role       string  `json:"role"`
	Label      string  `json:"label,omitempty"`
	Decision   string  `json:"decision"` // signed, empty, doubtful
	Confidence float64 `json:"confidence"`
	// Reasons are the analysis's codes (see ReasonText); Explanation
	// words them in Italian, in the same order.
	Reasons     []string `json:"reasons,omitempty"`
	Explanation []string `json:"explanation,omitempty"`
	Blob        string   `json:"blob,omitempty"` // the signature's image, when there is one
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
	// Timestamped: the document's last signature carries an RFC 3161
	// timestamp, so the authority vouches that the whole document existed
	// at that time. TimestampPending: an authority is configured but could
	// not be reached (no network); the agent adds a timestamped seal as a
	// new revision once it can, and announces the document again.
	Timestamped      bool `json:"timestamped,omitempty"`
	TimestampPending bool `json:"timestampPending,omitempty"`
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
	// only; needs the attest permission). Acts of the emergency register
	// get it when they become ready, if the session that made them ready
	// has that permission.
	Attest bool `json:"attest,omitempty"`
}

// DocumentReady announces an act's document: the reply to document.build,
// and the event when the act becomes ready. Its bytes follow as the
// binary frame named by Blob, for a session with the export permission
// only (Blob is empty otherwise).
type DocumentReady struct {
	Envelope
	Act      string       `json:"act"`
	Document DocumentInfo `json:"document"`
	R006     R006Fields   `json:"r006"`
	// Exceptions are the signers not in listaFirmatari, or in it on the
	// officer's word: not part of R006's payload, for the app to record.
	Exceptions []Eccezione `json:"eccezioni,omitempty"`
	Blob       string      `json:"blob,omitempty"`
}

// Eccezione is a signer the officer decided about: "non_puo_firmare"
// (left out of listaFirmatari) or "verificata" (listed on the officer's
// confirmation, the pipeline having found the box empty or doubtful).
type Eccezione struct {
	Ruolo   string `json:"ruolo"`
	Nome    string `json:"nome,omitempty"`
	Cognome string `json:"cognome,omitempty"`
	Tipo    string `json:"tipo"`
	Motivo  string `json:"motivo"`
	Da      string `json:"da"` // the operator who decided
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

// Error is a failure with a stable code for programs, an Italian message
// for the operator and what to do about it (one of the Action* keywords).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Action  string `json:"action,omitempty"`
}

// ErrorMessage is an error reply (to the request with the same id) or event.
type ErrorMessage struct {
	Envelope
	Error Error `json:"error"`
}

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
	if env.Type == "" {
		return env, nil, fmt.Errorf("%w: no type", ErrBadMessage)
	}
	mk, ok := requests[env.Type]
	if !ok {
		return env, nil, fmt.Errorf("%w: %.40q", ErrUnknownType, env.Type)
	}
	v := mk()
	if err := json.Unmarshal(data, v); err != nil {
		return env, nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return env, v, nil
}

var (
	ErrUnknownType = errors.New("protocol: unknown message type")
	ErrTooLarge    = errors.New("protocol: message too large")
)

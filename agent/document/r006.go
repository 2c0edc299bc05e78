package document

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ANSC's code table 10 (tipo file). PNG is not in it: ANSC refuses it.
var tipoFile = map[string]string{
	"application/pdf":             "1",
	"image/jpeg":                  "2",
	"image/tiff":                  "3",
	"application/pkcs7-mime":      "4",
	"application/pkcs7-signature": "4",
}

// TipoFile is code table 10's code for a media type, "" for one ANSC
// does not take.
func TipoFile(mediaType string) string { return tipoFile[mediaType] }

// TipoAllegatoVerbale is code table 9's "processo verbale".
const TipoAllegatoVerbale = "999"

// ErrType is a document whose type ANSC does not take, or whose bytes are
// not what its type says (ANSC's error 413102).
var ErrType = errors.New("document: type not accepted or not matching the bytes")

// sniff names the type the bytes really are.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "image/tiff"
	case bytes.HasPrefix(data, []byte{0x30, 0x80}), bytes.HasPrefix(data, []byte{0x30, 0x82}):
		return "application/pkcs7-mime" // DER SEQUENCE: a CMS envelope
	}
	return "application/octet-stream"
}

// Digest is the document's fingerprints: SHA-256 for Autografo's own
// records, SHA-1 for ANSC's hash field (its specification leaves the
// algorithm open and gives SHA1 as the example).
type Digest struct {
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
}

// Digests computes both.
func Digests(data []byte) Digest {
	a, b := sha256.Sum256(data), sha1.Sum(data)
	return Digest{SHA256: hex.EncodeToString(a[:]), SHA1: hex.EncodeToString(b[:])}
}

var validName = regexp.MustCompile(`^[-. _a-zA-Z0-9_]*$`)

// FileName is a name ANSC accepts (^[-. _a-zA-Z0-9_]*$, at most 200
// characters): accents folded, anything else replaced.
func FileName(base, ext string) string {
	folded := norm.NFD.String(base)
	var b strings.Builder
	for _, r := range folded {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent: drop it
		case r < 128 && validName.MatchString(string(r)):
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	name := strings.Trim(b.String(), " ._-")
	if name == "" {
		name = "verbale"
	}
	if len(name) > 200-len(ext)-1 {
		name = name[:200-len(ext)-1]
	}
	return name + "." + ext
}

// Firmatario is one signer as R006 lists them.
type Firmatario struct {
	Nome          string `json:"nome,omitempty"`
	Cognome       string `json:"cognome,omitempty"`
	CodiceFiscale string `json:"codiceFiscale,omitempty"`
	Sesso         string `json:"sesso,omitempty"`
	DataNascita   string `json:"dataNascita,omitempty"`
}

// R006Input is firmaDichiaranteInput of ANSC's R006 service: what the
// browser sends to upload the signed processo verbale.
type R006Input struct {
	Contenuto      string       `json:"contenuto"`
	Nomefile       string       `json:"nomefile"`
	IDEvento       string       `json:"idEvento,omitempty"`
	TipoFile       string       `json:"tipoFile"`
	TipoAllegato   string       `json:"tipoAllegato"`
	ListaFirmatari []Firmatario `json:"listaFirmatari"`
}

// MaxUpload is ANSC's limit for one file.
const MaxUpload = 10 << 20

// R006 prepares the upload of a document: the declared type must be one
// ANSC takes and match the bytes, the size within ANSC's limit.
func R006(data []byte, mediaType, name, idEvento string, signers []Firmatario) (R006Input, error) {
	code, ok := tipoFile[mediaType]
	if !ok {
		return R006Input{}, fmt.Errorf("%w: %s", ErrType, mediaType)
	}
	if got := sniff(data); tipoFile[got] != code {
		return R006Input{}, fmt.Errorf("%w: declared %s, bytes are %s", ErrType, mediaType, got)
	}
	if len(data) > MaxUpload {
		return R006Input{}, fmt.Errorf("%w: %d bytes, more than ANSC's %d", ErrTooLarge, len(data), MaxUpload)
	}
	if !validName.MatchString(name) || len(name) > 200 {
		return R006Input{}, fmt.Errorf("document: file name %q not valid for ANSC", name)
	}
	if signers == nil {
		signers = []Firmatario{}
	}
	return R006Input{Contenuto: base64.StdEncoding.EncodeToString(data), Nomefile: name, IDEvento: idEvento,
		TipoFile: code, TipoAllegato: TipoAllegatoVerbale, ListaFirmatari: signers}, nil
}

// DefaultName is the file name of an act's processo verbale.
func DefaultName(kind, ref string, created time.Time) string {
	base := "verbale " + kind
	if ref != "" {
		base += " " + ref
	}
	return FileName(base+" "+created.Format("2006-01-02 1504"), "pdf")
}

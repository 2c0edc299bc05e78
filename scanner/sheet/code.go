// Package sheet identifies scanned pages and locates the signers' boxes on
// them. Every page printed for signing carries a page code: a QR code in
// its margin naming the act, the page and the printed PDF, and four
// registration marks. A scan of the page is then identified from its
// code, and the code's position gives the transform from the PDF's
// coordinates to the scan's pixels, which places each box of the page's
// layout.
package sheet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"regexp"
	"strconv"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Errors callers branch on.
var (
	ErrNoCode       = errors.New("sheet: no page code found")
	ErrForeignCode  = errors.New("sheet: the code is not an Autografo page code")
	ErrOtherAct     = errors.New("sheet: the page belongs to another act")
	ErrOtherVersion = errors.New("sheet: the page was printed from another version of the act")
)

// Code is what a page code says.
type Code struct {
	Act         string // the act's id in Autografo
	Page, Pages int    // page i of N
	PDFHash     string // the first 8 hex digits of the printed PDF's SHA-256
}

const prefix = "AG1"

var actPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// PDFHash is the short hash a code carries for a PDF.
func PDFHash(pdf []byte) string {
	sum := sha256.Sum256(pdf)
	return hex.EncodeToString(sum[:4])
}

// String is the payload written into the QR code.
func (c Code) String() string {
	return fmt.Sprintf("%s:%s:%d/%d:%s", prefix, c.Act, c.Page, c.Pages, c.PDFHash)
}

// ParseCode reads a payload. Anything that is not exactly a page code, as
// any QR code on a page can be, is ErrForeignCode: never trusted.
func ParseCode(s string) (Code, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != prefix {
		return Code{}, fmt.Errorf("%w: %.60q", ErrForeignCode, s)
	}
	c := Code{Act: parts[1], PDFHash: parts[3]}
	if !actPattern.MatchString(c.Act) {
		return Code{}, fmt.Errorf("%w: act %.60q", ErrForeignCode, c.Act)
	}
	p, n, ok := strings.Cut(parts[2], "/")
	var err1, err2 error
	c.Page, err1 = strconv.Atoi(p)
	c.Pages, err2 = strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || c.Page < 1 || c.Page > c.Pages || c.Pages > 999 {
		return Code{}, fmt.Errorf("%w: page %.20q", ErrForeignCode, parts[2])
	}
	if len(c.PDFHash) != 8 || strings.Trim(c.PDFHash, "0123456789abcdef") != "" {
		return Code{}, fmt.Errorf("%w: hash %.20q", ErrForeignCode, c.PDFHash)
	}
	return c, nil
}

// Check refuses a code that does not belong to the act being captured, or
// was printed from another version of its PDF.
func (c Code) Check(act, pdfHash string) error {
	if c.Act != act {
		return fmt.Errorf("%w: %s", ErrOtherAct, c.Act)
	}
	if pdfHash != "" && c.PDFHash != pdfHash {
		return fmt.Errorf("%w: printed from %s, the act's is %s", ErrOtherVersion, c.PDFHash, pdfHash)
	}
	return nil
}

// The QR code's geometry is fixed, so that a scan can be mapped back to
// the PDF from the code alone: version 4 (33 modules), error correction M,
// a quiet zone of 4 modules.
const (
	qrVersion = 4
	qrModules = 17 + 4*qrVersion
	qrQuiet   = 4
	qrTotal   = qrModules + 2*qrQuiet
)

// qrImage is the code as a gray image, px pixels per module, quiet zone
// included.
func qrImage(payload string, px int) (*image.Gray, error) {
	hints := map[gozxing.EncodeHintType]interface{}{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_QR_VERSION:       qrVersion,
		gozxing.EncodeHintType_MARGIN:           qrQuiet,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, qrTotal, qrTotal, hints)
	if err != nil {
		return nil, fmt.Errorf("sheet: encoding the page code: %w", err)
	}
	if m.GetWidth() != qrTotal {
		return nil, fmt.Errorf("sheet: page code of %d modules, want %d", m.GetWidth(), qrTotal)
	}
	img := image.NewGray(image.Rect(0, 0, qrTotal*px, qrTotal*px))
	for y := range qrTotal * px {
		for x := range qrTotal * px {
			if !m.Get(x/px, y/px) {
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	return img, nil
}

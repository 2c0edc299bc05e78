// Package jpegturbo decodes and encodes JPEG with libjpeg-turbo (through
// its TurboJPEG API), four to five times faster than image/jpeg on the
// whole pages scanners send: the difference between a document that is
// ready while the couple is still at the counter and one that is not.
//
// Gray JPEGs decode to *image.Gray and colour ones to *image.RGBA; any
// image encodes, gray as a one-component JPEG. A truncated or corrupt file
// is an error (ErrCorrupt), never a half-gray page.
package jpegturbo

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

// TurboJPEG keeps some error texts in thread-local storage: they must be
// read on the thread that made the call, in the same C call, or a Go
// goroutine moved to another thread reads "No error".
static void errtext(tjhandle h, char *err, int n) { snprintf(err, n, "%s", tjGetErrorStr2(h)); }

static int header(tjhandle h, const unsigned char *buf, unsigned long n, int *w, int *ht, int *sub, int *cs, char *err, int errn) {
	int r = tjDecompressHeader3(h, buf, n, w, ht, sub, cs);
	if (r != 0) errtext(h, err, errn);
	return r;
}

static int decompress(tjhandle h, const unsigned char *buf, unsigned long n, unsigned char *dst, int w, int pitch, int ht,
		int pf, int flags, char *err, int errn) {
	int r = tjDecompress2(h, buf, n, dst, w, pitch, ht, pf, flags);
	if (r != 0) errtext(h, err, errn);
	return r;
}

static int compress(tjhandle h, const unsigned char *src, int w, int pitch, int ht, int pf, unsigned char **out,
		unsigned long *size, int sub, int q, int flags, char *err, int errn) {
	int r = tjCompress2(h, src, w, pitch, ht, pf, out, size, sub, q, flags);
	if (r != 0) errtext(h, err, errn);
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"unsafe"
)

// Errors callers branch on.
var (
	ErrCorrupt  = errors.New("jpegturbo: corrupt or truncated JPEG")
	ErrTooLarge = errors.New("jpegturbo: image too large")
	ErrCMYK     = errors.New("jpegturbo: CMYK JPEG not supported")
)

// MaxPixels bounds what Decode accepts: an A4 page at 1200 dpi is about
// 140 Mpx; anything much larger is not a page.
const MaxPixels = 200 << 20

// errBuf receives TurboJPEG's error text inside the call that failed.
type errBuf [256]C.char

func (e *errBuf) ptr() (*C.char, C.int) { return &e[0], C.int(len(e)) }
func (e *errBuf) String() string        { return C.GoString(&e[0]) }

func cbytes(b []byte) (*C.uchar, C.ulong) {
	return (*C.uchar)(unsafe.Pointer(unsafe.SliceData(b))), C.ulong(len(b))
}

// DecodeConfig reads the header: size and colour model.
func DecodeConfig(data []byte) (image.Config, error) {
	cfg, _, err := header(data)
	return cfg, err
}

func header(data []byte) (image.Config, C.int, error) {
	if len(data) < 4 {
		return image.Config{}, 0, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(data))
	}
	h := C.tjInitDecompress()
	if h == nil {
		return image.Config{}, 0, errors.New("jpegturbo: cannot start a decompressor")
	}
	defer C.tjDestroy(h)
	var w, ht, subsamp, cs C.int
	buf, n := cbytes(data)
	var e errBuf
	ep, en := e.ptr()
	if C.header(h, buf, n, &w, &ht, &subsamp, &cs, ep, en) != 0 {
		return image.Config{}, 0, fmt.Errorf("%w: %s", ErrCorrupt, e.String())
	}
	cfg := image.Config{Width: int(w), Height: int(ht), ColorModel: color.RGBAModel}
	switch cs {
	case C.TJCS_GRAY:
		cfg.ColorModel = color.GrayModel
	case C.TJCS_CMYK, C.TJCS_YCCK:
		return cfg, cs, ErrCMYK
	}
	return cfg, cs, nil
}

// Decode decodes a JPEG of at most MaxPixels.
func Decode(data []byte) (image.Image, error) { return decode(data, false) }

// DecodeGray decodes any JPEG to 8-bit gray (luminance), with no colour
// image in between: what page analysis works on.
func DecodeGray(data []byte) (*image.Gray, error) {
	img, err := decode(data, true)
	if err != nil {
		return nil, err
	}
	return img.(*image.Gray), nil
}

func decode(data []byte, gray bool) (image.Image, error) {
	cfg, _, err := header(data)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, errors.New("jpegturbo: cannot start a decompressor")
	}
	defer C.tjDestroy(h)
	var img image.Image
	var pix []byte
	var stride int
	var format C.int
	r := image.Rect(0, 0, cfg.Width, cfg.Height)
	if gray || cfg.ColorModel == color.GrayModel {
		g := image.NewGray(r)
		img, pix, stride, format = g, g.Pix, g.Stride, C.TJPF_GRAY
	} else {
		c := image.NewRGBA(r)
		img, pix, stride, format = c, c.Pix, c.Stride, C.TJPF_RGBA
	}
	buf, n := cbytes(data)
	var e errBuf
	ep, en := e.ptr()
	// Stop on warnings: libjpeg calls a truncated file a warning and
	// fills the rest of the page with gray.
	if C.decompress(h, buf, n, (*C.uchar)(unsafe.Pointer(unsafe.SliceData(pix))), C.int(cfg.Width), C.int(stride), C.int(cfg.Height),
		format, C.TJFLAG_STOPONWARNING, ep, en) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, e.String())
	}
	return img, nil
}

// Encode writes img as a baseline JPEG at quality (1-100): gray images as
// one component, others in YCbCr 4:2:0.
func Encode(w io.Writer, img image.Image, quality int) error {
	quality = min(max(quality, 1), 100)
	b := img.Bounds()
	if b.Empty() {
		return errors.New("jpegturbo: empty image")
	}
	var pix []byte
	var stride int
	var format, subsamp C.int
	switch m := img.(type) {
	case *image.Gray:
		pix, stride, format, subsamp = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, C.TJPF_GRAY, C.TJSAMP_GRAY
	case *image.RGBA:
		pix, stride, format, subsamp = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, C.TJPF_RGBA, C.TJSAMP_420
	default:
		// Other models go through RGBA once; pages in this program are
		// gray or RGBA already.
		c := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(c, c.Bounds(), img, b.Min, draw.Src)
		pix, stride, format, subsamp = c.Pix, c.Stride, C.TJPF_RGBA, C.TJSAMP_420
	}
	h := C.tjInitCompress()
	if h == nil {
		return errors.New("jpegturbo: cannot start a compressor")
	}
	defer C.tjDestroy(h)
	var out *C.uchar
	var size C.ulong
	var e errBuf
	ep, en := e.ptr()
	if C.compress(h, (*C.uchar)(unsafe.Pointer(unsafe.SliceData(pix))), C.int(b.Dx()), C.int(stride), C.int(b.Dy()), format,
		&out, &size, subsamp, C.int(quality), 0, ep, en) != 0 {
		return fmt.Errorf("jpegturbo: encoding: %s", e.String())
	}
	defer C.tjFree(out)
	_, err := w.Write(unsafe.Slice((*byte)(out), int(size)))
	return err
}

// Package pnm decodes the binary Netpbm images (P4 bitmap, P5 graymap, P6
// pixmap, 8 or 16 bits) that SANE frontends and drivers produce, and
// registers them with the image package. It reads untrusted bytes: the
// header is bounded, the pixel count is checked before any allocation, and
// a short file is an error.
package pnm

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// MaxPixels bounds an image this package will allocate (a 600 dpi A3 page
// is 70 Mpx).
var MaxPixels = 200_000_000

// ErrFormat is a malformed file.
var ErrFormat = errors.New("pnm: malformed image")

func init() {
	for _, m := range []string{"P4", "P5", "P6"} {
		image.RegisterFormat("pnm", m, Decode, DecodeConfig)
	}
}

type header struct {
	magic         byte // '4', '5' or '6'
	width, height int
	maxval        int
}

// readHeader reads "P5 <w> <h> <maxval>" with comments, and the single
// whitespace byte before the samples.
func readHeader(r *bufio.Reader) (header, error) {
	var h header
	var magic [2]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return h, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if magic[0] != 'P' || (magic[1] != '4' && magic[1] != '5' && magic[1] != '6') {
		return h, fmt.Errorf("%w: magic %q", ErrFormat, magic[:])
	}
	h.magic = magic[1]
	fields := 3
	if h.magic == '4' {
		fields = 2
	}
	vals := make([]int, 0, 3)
	read := 2
	for len(vals) < fields {
		c, err := r.ReadByte()
		read++
		if err != nil || read > 4096 {
			return h, fmt.Errorf("%w: header", ErrFormat)
		}
		switch {
		case c == '#':
			for c != '\n' && c != '\r' {
				if c, err = r.ReadByte(); err != nil {
					return h, fmt.Errorf("%w: header comment", ErrFormat)
				}
				if read++; read > 4096 {
					return h, fmt.Errorf("%w: header too long", ErrFormat)
				}
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c >= '0' && c <= '9':
			v := int(c - '0')
			for {
				c, err = r.ReadByte()
				read++
				if err != nil {
					return h, fmt.Errorf("%w: header number", ErrFormat)
				}
				if c < '0' || c > '9' {
					break
				}
				if v > 1<<24 {
					return h, fmt.Errorf("%w: number too large", ErrFormat)
				}
				v = v*10 + int(c-'0')
			}
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return h, fmt.Errorf("%w: %q after a number", ErrFormat, c)
			}
			vals = append(vals, v)
		default:
			return h, fmt.Errorf("%w: %q in header", ErrFormat, c)
		}
	}
	h.width, h.height = vals[0], vals[1]
	h.maxval = 1
	if fields == 3 {
		h.maxval = vals[2]
	}
	if h.width <= 0 || h.height <= 0 || h.maxval <= 0 || h.maxval > 65535 {
		return h, fmt.Errorf("%w: %dx%d maxval %d", ErrFormat, h.width, h.height, h.maxval)
	}
	if h.width*h.height > MaxPixels || h.width > 1<<20 || h.height > 1<<20 {
		return h, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrFormat, h.width, h.height, MaxPixels)
	}
	return h, nil
}

func (h header) model() color.Model {
	switch {
	case h.magic == '6' && h.maxval > 255:
		return color.RGBA64Model
	case h.magic == '6':
		return color.RGBAModel
	case h.maxval > 255:
		return color.Gray16Model
	}
	return color.GrayModel
}

// DecodeConfig reads the dimensions and colour model.
func DecodeConfig(r io.Reader) (image.Config, error) {
	h, err := readHeader(bufio.NewReader(r))
	if err != nil {
		return image.Config{}, err
	}
	return image.Config{ColorModel: h.model(), Width: h.width, Height: h.height}, nil
}

// Decode reads a whole image: *image.Gray for P4 and 8-bit P5, *image.Gray16
// for 16-bit P5, *image.RGBA or *image.RGBA64 for P6.
func Decode(r io.Reader) (image.Image, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	rect := image.Rect(0, 0, h.width, h.height)
	short := func(err error) error { return fmt.Errorf("%w: pixel data: %w", ErrFormat, err) }
	scale := func(v int) uint8 { return uint8(v * 255 / h.maxval) }
	switch {
	case h.magic == '4':
		img := image.NewGray(rect)
		row := make([]byte, (h.width+7)/8)
		for y := 0; y < h.height; y++ {
			if _, err := io.ReadFull(br, row); err != nil {
				return nil, short(err)
			}
			line := img.Pix[y*img.Stride:]
			for x := 0; x < h.width; x++ {
				if row[x/8]&(0x80>>(x%8)) == 0 {
					line[x] = 255 // PBM: 1 is black
				}
			}
		}
		return img, nil
	case h.magic == '5' && h.maxval <= 255:
		img := image.NewGray(rect)
		if _, err := io.ReadFull(br, img.Pix); err != nil {
			return nil, short(err)
		}
		if h.maxval != 255 {
			for i, v := range img.Pix {
				img.Pix[i] = scale(min(int(v), h.maxval))
			}
		}
		return img, nil
	case h.magic == '5':
		img := image.NewGray16(rect)
		if _, err := io.ReadFull(br, img.Pix); err != nil { // big-endian, as image.Gray16
			return nil, short(err)
		}
		return img, nil
	case h.maxval <= 255:
		img := image.NewRGBA(rect)
		row := make([]byte, 3*h.width)
		for y := 0; y < h.height; y++ {
			if _, err := io.ReadFull(br, row); err != nil {
				return nil, short(err)
			}
			line := img.Pix[y*img.Stride:]
			for x := 0; x < h.width; x++ {
				line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = row[3*x], row[3*x+1], row[3*x+2], 255
				if h.maxval != 255 {
					for c := 0; c < 3; c++ {
						line[4*x+c] = scale(min(int(line[4*x+c]), h.maxval))
					}
				}
			}
		}
		return img, nil
	default:
		img := image.NewRGBA64(rect)
		row := make([]byte, 6*h.width)
		for y := 0; y < h.height; y++ {
			if _, err := io.ReadFull(br, row); err != nil {
				return nil, short(err)
			}
			line := img.Pix[y*img.Stride:]
			for x := 0; x < h.width; x++ {
				copy(line[8*x:8*x+6], row[6*x:6*x+6])
				line[8*x+6], line[8*x+7] = 0xff, 0xff
			}
		}
		return img, nil
	}
}

package document

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/disintegration/imaging"

	"github.com/autografo/autografo/scanner/jpegturbo"
)

// ErrFormat is a format the act cannot be given in.
var ErrFormat = errors.New("document: format not possible for this act")

// BuildJPG gives a one-page act as ANSC's tipoFile 2: the scanner's own
// JPEG when it is upright, else the page turned upright and encoded once;
// either way with its resolution in the JFIF header, which a scanner's
// JPEG often lacks (a reader then takes it for 72 or 96 dpi and shows a
// page three times its size).
func BuildJPG(inputs []Input) ([]byte, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%w: JPG holds one page, the act has %d", ErrFormat, len(inputs))
	}
	in := inputs[0]
	if in.MediaType == "image/jpeg" && in.Rotate == 0 {
		// All of it must decode, not only its header: a page cut short
		// goes nowhere.
		if _, err := jpegturbo.Decode(in.Data); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPage, err)
		}
		return withDensity(in.Data, in.DPI)
	}
	img, err := decodePage(in)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPage, err)
	}
	if img, err = upright(img, in.Rotate); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpegturbo.Encode(&buf, img, 90); err != nil {
		return nil, err
	}
	return withDensity(buf.Bytes(), in.DPI)
}

// upright turns a page by its clockwise quarter turn. JPG and TIF have no
// /Rotate a reader obeys (TIFF's Orientation tag is widely ignored), so
// the pixels turn.
func upright(img image.Image, clockwise int) (image.Image, error) {
	switch clockwise {
	case 0:
		return img, nil
	case 90:
		return imaging.Rotate270(img), nil // imaging turns counter-clockwise
	case 180:
		return imaging.Rotate180(img), nil
	case 270:
		return imaging.Rotate90(img), nil
	}
	return nil, fmt.Errorf("%w: turned by %d degrees", ErrPage, clockwise)
}

// BuildTIFF gives an act as one multi-page TIFF (tipoFile 3): each page
// decoded and stored losslessly (Deflate), 8-bit gray or RGB, with its
// resolution and its page number.
func BuildTIFF(inputs []Input) ([]byte, error) {
	if len(inputs) == 0 {
		return nil, ErrNoPages
	}
	var out bytes.Buffer
	out.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0}) // little-endian; the first IFD's offset is patched below
	prevNext := 4                                  // where the previous "next IFD" offset lives
	for i, in := range inputs {
		img, err := decodePage(in)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
		}
		if img, err = upright(img, in.Rotate); err != nil {
			return nil, fmt.Errorf("page %d: %w", i+1, err)
		}
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		gray := img.ColorModel() == color.GrayModel
		spp := 3
		if gray {
			spp = 1
		}
		raw := make([]byte, 0, w*h*spp)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if gray {
					raw = append(raw, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
					continue
				}
				r, g, bb, _ := img.At(x, y).RGBA()
				raw = append(raw, uint8(r>>8), uint8(g>>8), uint8(bb>>8))
			}
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		for out.Len()%2 != 0 {
			out.WriteByte(0)
		}
		dataOff := out.Len()
		out.Write(z.Bytes())

		// Values that do not fit in an entry go after the IFD.
		for out.Len()%2 != 0 {
			out.WriteByte(0)
		}
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32 // or an offset
		}
		extra := &bytes.Buffer{}
		ifdOff := out.Len()
		nEntries := 14
		extraBase := ifdOff + 2 + nEntries*12 + 4
		putExtra := func(v []byte) uint32 {
			off := uint32(extraBase + extra.Len())
			extra.Write(v)
			return off
		}
		dpi := uint32(max(in.DPI, 1))
		rational := func(n uint32) []byte {
			v := make([]byte, 8)
			binary.LittleEndian.PutUint32(v, n)
			binary.LittleEndian.PutUint32(v[4:], 1)
			return v
		}
		bps := uint32(8)
		if !gray {
			bps = putExtra([]byte{8, 0, 8, 0, 8, 0})
		}
		photometric := uint32(1) // BlackIsZero
		if !gray {
			photometric = 2 // RGB
		}
		entries := []entry{
			{254, 4, 1, 2},                                   // NewSubfileType: a page of a multi-page document
			{256, 4, 1, uint32(w)},                           // ImageWidth
			{257, 4, 1, uint32(h)},                           // ImageLength
			{258, 3, uint32(spp), bps},                       // BitsPerSample
			{259, 3, 1, 8},                                   // Compression: Deflate
			{262, 3, 1, photometric},                         // PhotometricInterpretation
			{273, 4, 1, uint32(dataOff)},                     // StripOffsets
			{277, 3, 1, uint32(spp)},                         // SamplesPerPixel
			{278, 4, 1, uint32(h)},                           // RowsPerStrip: one strip
			{279, 4, 1, uint32(z.Len())},                     // StripByteCounts
			{282, 5, 1, putExtra(rational(dpi))},             // XResolution
			{283, 5, 1, putExtra(rational(dpi))},             // YResolution
			{296, 3, 1, 2},                                   // ResolutionUnit: inch
			{297, 3, 2, uint32(i) | uint32(len(inputs))<<16}, // PageNumber: page, of
		}
		var ifd bytes.Buffer
		binary.Write(&ifd, binary.LittleEndian, uint16(len(entries)))
		for _, e := range entries {
			binary.Write(&ifd, binary.LittleEndian, e.tag)
			binary.Write(&ifd, binary.LittleEndian, e.typ)
			binary.Write(&ifd, binary.LittleEndian, e.count)
			if e.typ == 3 && e.count == 1 {
				binary.Write(&ifd, binary.LittleEndian, uint16(e.value))
				binary.Write(&ifd, binary.LittleEndian, uint16(0))
			} else {
				binary.Write(&ifd, binary.LittleEndian, e.value)
			}
		}
		nextPos := out.Len() + ifd.Len()
		binary.Write(&ifd, binary.LittleEndian, uint32(0)) // next IFD, patched by the next page
		out.Write(ifd.Bytes())
		out.Write(extra.Bytes())
		data := out.Bytes()
		binary.LittleEndian.PutUint32(data[prevNext:], uint32(ifdOff))
		prevNext = nextPos
		if out.Len() > 1<<31 {
			return nil, fmt.Errorf("%w: TIFF over 2 GB", ErrFormat)
		}
	}
	return out.Bytes(), nil
}

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
//
// It is lossless (Deflate) when that fits within the budget, as ANSC's
// 10 MB rarely allows beyond four gray pages at 300 dpi (about 5 MB each);
// else each page is a JPEG inside the TIFF (TIFF technical note 2), at the
// first quality of the ladder that fits; else ErrTooLarge.
func BuildTIFF(inputs []Input, o Options) ([]byte, error) {
	if o.Budget <= 0 {
		o.Budget = 9_500_000
	}
	if len(inputs) == 0 {
		return nil, ErrNoPages
	}
	pages := make([]image.Image, len(inputs))
	for i, in := range inputs {
		img, err := decodePage(in)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
		}
		if pages[i], err = upright(img, in.Rotate); err != nil {
			return nil, fmt.Errorf("page %d: %w", i+1, err)
		}
	}
	for _, q := range append([]int{0}, tiffLadder...) {
		tif, err := encodeTIFF(pages, inputs, q, o.Budget)
		if err == nil {
			return tif, nil
		}
		if !errors.Is(err, errOverBudget) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: the TIFF is over %d bytes even at JPEG quality %d", ErrTooLarge, o.Budget, tiffLadder[len(tiffLadder)-1])
}

// errOverBudget stops an encoding as soon as it is over the budget: the
// next rung of the ladder is tried without finishing this one.
var errOverBudget = errors.New("over the budget")

// tiffLadder are the JPEG qualities tried, in 5-steps, when lossless is too
// large: 50 is where small print is still legible at 300 dpi.
var tiffLadder = []int{90, 85, 80, 75, 70, 65, 60, 55, 50}

// encodeTIFF writes the pages, lossless with quality 0, else as JPEG, or
// stops with errOverBudget once they are over budget.
func encodeTIFF(pages []image.Image, inputs []Input, quality, budget int) ([]byte, error) {
	var out bytes.Buffer
	out.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0}) // little-endian; the first IFD's offset is patched below
	prevNext := 4                                  // where the previous "next IFD" offset lives
	for i, img := range pages {
		in := inputs[i]
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		gray := img.ColorModel() == color.GrayModel
		spp := 3
		if gray {
			spp = 1
		}
		var z bytes.Buffer
		compression := uint32(8) // Deflate
		if quality > 0 {
			// One strip, a whole JPEG stream with its tables: gray, or
			// YCbCr subsampled 2x2 as libjpeg-turbo encodes colour.
			compression = 7
			if err := jpegturbo.Encode(&z, img, quality); err != nil {
				return nil, fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
			}
		} else {
			raw := make([]byte, 0, w*h*spp)
			g, isGray := img.(*image.Gray)
			for y := b.Min.Y; y < b.Max.Y; y++ {
				if isGray { // the scanner's gray page, row by row
					raw = append(raw, g.Pix[g.PixOffset(b.Min.X, y):g.PixOffset(b.Max.X, y)]...)
					continue
				}
				for x := b.Min.X; x < b.Max.X; x++ {
					if gray {
						raw = append(raw, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
						continue
					}
					r, g, bb, _ := img.At(x, y).RGBA()
					raw = append(raw, uint8(r>>8), uint8(g>>8), uint8(bb>>8))
				}
			}
			zw := zlib.NewWriter(&z)
			zw.Write(raw)
			zw.Close()
		}
		for out.Len()%2 != 0 {
			out.WriteByte(0)
		}
		dataOff := out.Len()
		out.Write(z.Bytes())
		if out.Len() > budget {
			return nil, errOverBudget
		}

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
		if quality > 0 && !gray {
			nEntries++ // YCbCrSubSampling
		}
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
		switch {
		case !gray && quality > 0:
			photometric = 6 // YCbCr, as the JPEG holds it
		case !gray:
			photometric = 2 // RGB
		}
		entries := []entry{
			{254, 4, 1, 2},                                   // NewSubfileType: a page of a multi-page document
			{256, 4, 1, uint32(w)},                           // ImageWidth
			{257, 4, 1, uint32(h)},                           // ImageLength
			{258, 3, uint32(spp), bps},                       // BitsPerSample
			{259, 3, 1, compression},                         // Compression: Deflate, or JPEG
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
		if quality > 0 && !gray {
			entries = append(entries, entry{530, 3, 2, 2 | 2<<16}) // YCbCrSubSampling: 2x2
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

package document

import (
	"encoding/binary"
	"fmt"
)

// withDensity gives a JPEG its resolution in dots per inch: the JFIF
// header's density is set when the file has one, and a JFIF header is
// added after the start of image when it has none (a scanner's JPEG may
// carry only Exif, or nothing). The image data is not touched.
func withDensity(data []byte, dpi int) ([]byte, error) {
	if dpi <= 0 || dpi > 0xffff {
		return nil, fmt.Errorf("%w: resolution %d dpi", ErrPage, dpi)
	}
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, fmt.Errorf("%w: not a JPEG", ErrPage)
	}
	// An APP0 JFIF segment right after SOI: FF E0, length, "JFIF\0",
	// version (2 bytes), units, X density, Y density.
	if len(data) >= 20 && data[2] == 0xff && data[3] == 0xe0 && string(data[6:11]) == "JFIF\x00" &&
		binary.BigEndian.Uint16(data[4:6]) >= 16 {
		out := append([]byte(nil), data...)
		out[13] = 1 // dots per inch
		binary.BigEndian.PutUint16(out[14:16], uint16(dpi))
		binary.BigEndian.PutUint16(out[16:18], uint16(dpi))
		return out, nil
	}
	app0 := []byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(app0[12:14], uint16(dpi))
	binary.BigEndian.PutUint16(app0[14:16], uint16(dpi))
	out := make([]byte, 0, len(data)+len(app0))
	out = append(out, data[:2]...)
	out = append(out, app0...)
	return append(out, data[2:]...), nil
}

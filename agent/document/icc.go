package document

import (
	"bytes"
	"encoding/binary"
	"math"
	"sync"
)

// srgbProfile builds a small ICC v2 display profile for sRGB as IEC
// 61966-2-1 defines it: the D50 white point, the sRGB primaries adapted to
// D50 (Bradford), and for each channel the standard's curve, linear below
// 0.04045 and a 2.4 power above, as a 1024-entry table (ICC v2 has no
// parametric curves). It is the output intent PDF/A needs when a document
// holds DeviceRGB or DeviceGray images, and it is labelled sRGB IEC61966-2.1:
// a plain 2.2 gamma, as before, was darker than sRGB in the shadows (a
// level of 20 came back as 12). Built here from the standard's parameters
// rather than shipped, so its origin and licence are not in question.
var srgbProfile = sync.OnceValue(func() []byte {
	s15 := func(v float64) uint32 { return uint32(int32(math.Round(v * 65536))) }
	xyz := func(x, y, z float64) []byte {
		b := make([]byte, 20)
		copy(b, "XYZ ")
		binary.BigEndian.PutUint32(b[8:], s15(x))
		binary.BigEndian.PutUint32(b[12:], s15(y))
		binary.BigEndian.PutUint32(b[16:], s15(z))
		return b
	}
	desc := func(s string) []byte {
		var b bytes.Buffer
		b.WriteString("desc\x00\x00\x00\x00")
		binary.Write(&b, binary.BigEndian, uint32(len(s)+1))
		b.WriteString(s)
		b.WriteByte(0)
		b.Write(make([]byte, 4+4+2+1+67)) // no Unicode, no ScriptCode descriptions
		return b.Bytes()
	}
	text := func(s string) []byte { return append([]byte("text\x00\x00\x00\x00"+s), 0) }
	const points = 1024
	curve := []byte{'c', 'u', 'r', 'v', 0, 0, 0, 0}
	curve = binary.BigEndian.AppendUint32(curve, points)
	for i := range points {
		v := float64(i) / (points - 1)
		linear := v / 12.92
		if v > 0.04045 {
			linear = math.Pow((v+0.055)/1.055, 2.4)
		}
		curve = binary.BigEndian.AppendUint16(curve, uint16(math.Round(linear*65535)))
	}

	type tag struct {
		sig  string
		data []byte
	}
	tags := []tag{
		{"desc", desc("sRGB IEC61966-2.1")},
		{"cprt", text("No copyright, use freely")},
		{"wtpt", xyz(0.9642, 1.0, 0.8249)},
		{"rXYZ", xyz(0.4361, 0.2225, 0.0139)},
		{"gXYZ", xyz(0.3851, 0.7169, 0.0971)},
		{"bXYZ", xyz(0.1431, 0.0606, 0.7141)},
		{"rTRC", curve}, {"gTRC", curve}, {"bTRC", curve},
	}
	const header = 128
	table := 4 + 12*len(tags)
	offset := header + table
	var data bytes.Buffer
	type entry struct{ sig, off, size uint32 }
	var entries []entry
	shared := map[string]uint32{}
	for _, t := range tags {
		key := string(t.data)
		off, ok := shared[key]
		if !ok {
			off = uint32(offset + data.Len())
			data.Write(t.data)
			for data.Len()%4 != 0 {
				data.WriteByte(0)
			}
			shared[key] = off
		}
		entries = append(entries, entry{binary.BigEndian.Uint32([]byte(t.sig)), off, uint32(len(t.data))})
	}
	size := offset + data.Len()
	p := make([]byte, header, size)
	binary.BigEndian.PutUint32(p[0:], uint32(size))
	binary.BigEndian.PutUint32(p[8:], 0x02100000) // version 2.1
	copy(p[12:], "mntrRGB XYZ ")
	for i, v := range []uint16{2026, 1, 1, 0, 0, 0} {
		binary.BigEndian.PutUint16(p[24+2*i:], v)
	}
	copy(p[36:], "acsp")
	binary.BigEndian.PutUint32(p[68:], s15(0.9642)) // the PCS illuminant, D50
	binary.BigEndian.PutUint32(p[72:], s15(1.0))
	binary.BigEndian.PutUint32(p[76:], s15(0.8249))
	p = binary.BigEndian.AppendUint32(p, uint32(len(entries)))
	for _, e := range entries {
		p = binary.BigEndian.AppendUint32(p, e.sig)
		p = binary.BigEndian.AppendUint32(p, e.off)
		p = binary.BigEndian.AppendUint32(p, e.size)
	}
	return append(p, data.Bytes()...)
})

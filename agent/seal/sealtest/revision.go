package sealtest

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/digitorus/pdf"
)

// AppendRevision appends to doc an incremental update that writes objs
// (object number to its body: a dictionary, or a dictionary and its
// stream), as any PDF editor can: what a forger does before signing again.
func AppendRevision(t testing.TB, doc []byte, objs map[uint32]string) []byte {
	t.Helper()
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	root := rdr.Trailer().Key("Root").GetPtr()
	size := uint32(rdr.Trailer().Key("Size").Int64())
	ids := make([]uint32, 0, len(objs))
	for id := range objs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out bytes.Buffer
	out.Write(doc)
	offsets := make([]int, len(ids))
	for i, id := range ids {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", id, objs[id])
		size = max(size, id+1)
	}
	xref := out.Len()
	out.WriteString("xref\n")
	for i, id := range ids {
		fmt.Fprintf(&out, "%d 1\n%010d 00000 n \n", id, offsets[i])
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size, root.GetID(), rdr.XrefInformation.StartPos, xref)
	return out.Bytes()
}

// FirstPage returns the object numbers of a PDF's first page and of its
// content stream.
func FirstPage(t testing.TB, doc []byte) (page, contents uint32) {
	t.Helper()
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	p := rdr.Page(1).V
	pp, cp := p.GetPtr(), p.Key("Contents").GetPtr()
	return pp.GetID(), cp.GetID()
}

// PaintOver is a content stream that paints a page white: the body of a
// forger's revision.
const PaintOver = "<< /Length 26 >>\nstream\n1 g 0 0 2000 2000 re f q Q\nendstream"

package seal

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/digitorus/pdf"
)

// changesSince lists what the revisions after the first end bytes of doc
// change of the document beyond signing it: empty when they only add
// signatures. A revision that signs adds a signature dictionary, its
// field's widget and appearance, the widget to its page's /Annots, the
// field to the form, and a new catalog naming the form (and, for a
// certification, /Perms); anything else (a page's content, a page added,
// an image replaced, an object redefined) is a change, named by its
// object.
func changesSince(doc []byte, end int) (changes []string, err error) {
	if end >= len(doc) {
		return nil, nil
	}
	// The PDF reader panics on what it cannot parse.
	defer func() {
		if p := recover(); p != nil {
			changes, err = nil, fmt.Errorf("%w: a revision cannot be read: %v", ErrDocument, p)
		}
	}()
	before, err := pdf.NewReader(bytes.NewReader(doc[:end]), int64(end))
	if err != nil {
		return nil, fmt.Errorf("%w: the signed revision cannot be read: %w", ErrDocument, err)
	}
	after, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("%w: the last revision cannot be read: %w", ErrDocument, err)
	}
	var out []string
	out = append(out, catalogChanges(before.Trailer().Key("Root"), after.Trailer().Key("Root"))...)
	if !sameRaw(before.Trailer().Key("Info").RawData(), after.Trailer().Key("Info").RawData()) {
		out = append(out, "the document information dictionary changed")
	}
	prev := before.Xref()
	for id, x := range after.Xref() {
		ptr := x.Ptr()
		if id == 0 || ptr.GetID() == 0 {
			continue // the free list's head, or an unused entry
		}
		if id >= len(prev) || prev[id].Ptr() != ptr {
			continue // new here: it matters only through an object that names it, checked below
		}
		// A revision appends: an object still at the offset it had is the
		// same bytes.
		if location(prev[id]) == location(x) {
			continue
		}
		was, now := before.Resolve(ptr, ptr), after.Resolve(ptr, ptr)
		if c := objectChange(doc, was, now); c != "" {
			out = append(out, fmt.Sprintf("object %d (%s) %s", ptr.GetID(), describe(now), c))
		}
	}
	sort.Strings(out)
	return out, nil
}

// objectAt is where a cross-reference entry puts an object: an offset in
// the file, or an object stream.
type objectAt struct {
	offset   int64
	inStream bool
	stream   uint32
}

// location reads an entry of the reader's cross-reference table. The
// reader keeps the offset to itself; reflection reads it without changing
// anything.
func location(x any) objectAt {
	v := reflect.ValueOf(x)
	at := objectAt{offset: v.FieldByName("offset").Int(), inStream: v.FieldByName("inStream").Bool()}
	if at.inStream {
		at.stream = uint32(v.FieldByName("stream").FieldByName("id").Uint())
	}
	return at
}

// objectChange says how an object redefined in a later revision changed,
// or "" when the change is one that signing makes.
func objectChange(doc []byte, was, now pdf.Value) string {
	switch {
	case sameValue(doc, was, now):
		return "" // written again, unchanged
	case now.Key("Type").Name() == "Catalog" || was.Key("Type").Name() == "Catalog":
		return "" // the trailer's catalog is compared on its own; an old one is no longer read
	case now.Key("Type").Name() == "Page":
		if d := differentKeys(was, now, "Annots"); len(d) > 0 {
			return "changed its " + strings.Join(d, ", ")
		}
		if added, ok := addedEntries(was.Key("Annots"), now.Key("Annots")); !ok {
			return "lost or reordered annotations"
		} else {
			for _, a := range added {
				if !isSignatureField(a) {
					return "gained an annotation that is not a signature field"
				}
			}
		}
		return ""
	case isSignatureField(was) && isSignatureField(now):
		// Signing an empty signature field, or giving a signature's
		// widget an appearance.
		if d := differentKeys(was, now, "V", "AP"); len(d) > 0 {
			return "changed its " + strings.Join(d, ", ")
		}
		if was.Key("V").Kind() != pdf.Null && !sameRaw(was.Key("V").RawData(), now.Key("V").RawData()) {
			return "had its signature replaced"
		}
		return ""
	}
	return "changed"
}

// catalogChanges compares the document catalogs of two revisions: only
// the form, the permissions and the document security store may differ,
// and the form only by gaining signature fields.
func catalogChanges(was, now pdf.Value) []string {
	var out []string
	if d := differentKeys(was, now, "AcroForm", "Perms", "DSS"); len(d) > 0 {
		out = append(out, "the catalog's "+strings.Join(d, ", ")+" changed")
	}
	if d := differentKeys(was.Key("AcroForm"), now.Key("AcroForm"), "Fields", "SigFlags", "NeedAppearances"); len(d) > 0 {
		out = append(out, "the form's "+strings.Join(d, ", ")+" changed")
	}
	added, ok := addedEntries(was.Key("AcroForm").Key("Fields"), now.Key("AcroForm").Key("Fields"))
	if !ok {
		out = append(out, "the form lost or reordered fields")
	}
	for _, f := range added {
		if !isSignatureField(f) {
			out = append(out, "the form gained a field that is not a signature")
		}
	}
	return out
}

// isSignatureField tells whether a value is a signature field (or its
// widget, merged with it as pdfsign writes them).
func isSignatureField(v pdf.Value) bool {
	return v.Kind() == pdf.Dict && v.Key("FT").Name() == "Sig"
}

// addedEntries returns the entries of array now past those of array was,
// and whether now begins with every entry of was, in order.
func addedEntries(was, now pdf.Value) ([]pdf.Value, bool) {
	if now.Len() < was.Len() {
		return nil, false
	}
	for i := range was.Len() {
		if !sameRaw(was.Index(i).RawData(), now.Index(i).RawData()) {
			return nil, false
		}
	}
	var added []pdf.Value
	for i := was.Len(); i < now.Len(); i++ {
		added = append(added, now.Index(i))
	}
	return added, true
}

// differentKeys lists the keys of two dictionaries whose values differ,
// leaving out those allowed to.
func differentKeys(was, now pdf.Value, allowed ...string) []string {
	keys := map[string]bool{}
	for _, k := range append(was.Keys(), now.Keys()...) {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if slices.Contains(allowed, k) {
			continue
		}
		// One level deep: a reference is followed to its object, whose
		// own references are compared by number (an object that changed
		// is named on its own).
		if !sameRaw(was.Key(k).RawData(), now.Key(k).RawData()) {
			out = append(out, "/"+k)
		}
	}
	sort.Strings(out)
	return out
}

// sameValue compares two objects as written: dictionaries and arrays entry
// by entry, references by number (not followed), streams by dictionary and
// the bytes they hold in doc (undecoded: the reader cannot decode images).
func sameValue(doc []byte, a, b pdf.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	if a.Kind() != pdf.Stream {
		return sameRaw(a.RawData(), b.RawData())
	}
	if len(differentKeys(a, b)) > 0 {
		return false
	}
	da, okA := streamBytes(doc, a)
	db, okB := streamBytes(doc, b)
	return okA && okB && bytes.Equal(da, db)
}

// streamBytes are a stream's bytes as written in doc.
func streamBytes(doc []byte, v pdf.Value) ([]byte, bool) {
	off := reflect.ValueOf(v.RawData()).FieldByName("offset").Int()
	n := v.Key("Length").Int64()
	if off < 0 || n < 0 || off+n > int64(len(doc)) {
		return nil, false
	}
	return doc[off : off+n], true
}

func describe(v pdf.Value) string {
	for _, k := range []string{"Type", "Subtype"} {
		if n := v.Key(k).Name(); n != "" {
			return n
		}
	}
	return "untyped"
}

// sameRaw compares two values as the PDF reader holds them, numbers by
// value: a revision's writer may print 432.00 as 432, an integer to the
// reader then, and that is no change.
func sameRaw(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() || va.Type() != vb.Type() {
		return !va.IsValid() && !vb.IsValid()
	}
	switch va.Kind() {
	case reflect.Map:
		if va.Len() != vb.Len() {
			return false
		}
		for _, k := range va.MapKeys() {
			w := vb.MapIndex(k)
			if !w.IsValid() || !sameRaw(va.MapIndex(k).Interface(), w.Interface()) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if va.Len() != vb.Len() {
			return false
		}
		for i := range va.Len() {
			if !sameRaw(va.Index(i).Interface(), vb.Index(i).Interface()) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

package document

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Attestation is the officer's declaration that the scanned pages are a
// faithful image copy of the paper act (CAD, d.lgs. 82/2005, art. 22 c. 2
// and art. 23-ter): an added page naming the officer, the act, the date and
// every page by the SHA-256 of its image as embedded, then signed with the
// officer's key. Acts taken in the emergency register need it.
type Attestation struct {
	Officer  string    // the officer's name, as on the signing certificate
	Office   string    // "Comune di ..."; may be empty
	Act      string    // what the paper document is
	Register string    // the emergency register's entry, when there is one
	Date     time.Time // when the officer attests
	// OnDevice: the officer signs with a key on a signature device (a
	// smart card), so the signature is a firma digitale (CAD art. 24) when
	// its certificate is qualified. A key in a file never makes one, and
	// the page says so.
	OnDevice bool
	// Gender is how the officer is spoken of: "f" (La sottoscritta), "m"
	// (Il sottoscritto), or "" for wording that names no gender.
	Gender string
}

// SignatureRect is where, on the attestation's last page, the officer's
// signature appears (PDF points, lower left and upper right on A4).
var SignatureRect = [4]float64{340, 56, 540, 112}

const (
	a4W, a4H   = 595.28, 841.89
	margin     = 64.0
	bodySize   = 10.5
	hashSize   = 8.5
	titleSize  = 15.0
	lineFactor = 1.45
)

// textLine is one line of the attestation: its size, indentation and words.
type textLine struct {
	size, indent float64
	text         string
	gapBefore    float64
}

// attestationLines lays out the declaration for pages whose embedded images
// have the given SHA-256 digests.
func attestationLines(f *textFont, a Attestation, digests [][32]byte) []textLine {
	width := a4W - 2*margin
	var out []textLine
	para := func(size, gap float64, text string) {
		for i, l := range f.wrap(text, size, width) {
			g := 0.0
			if i == 0 {
				g = gap
			}
			out = append(out, textLine{size: size, text: l, gapBefore: g})
		}
	}
	para(titleSize, 0, "Attestazione di conformità")
	para(bodySize-1, 4, "Copia per immagine su supporto informatico di documento analogico (artt. 22, comma 2, e 23-ter del d.lgs. 7 marzo 2005, n. 82, Codice dell'amministrazione digitale)")
	// With no gender given, the officer's name opens the sentence: «Il
	// sottoscritto» would be wrong for every woman who attests.
	who := a.Officer + ", ufficiale dello stato civile"
	if a.Office != "" {
		who += " del " + a.Office
	}
	switch a.Gender {
	case "f":
		who = "La sottoscritta " + who
	case "m":
		who = "Il sottoscritto " + who
	}
	pages := "la pagina che precede è copia per immagine conforme"
	if len(digests) > 1 {
		pages = "le " + strconv.Itoa(len(digests)) + " pagine che precedono sono copia per immagine conforme"
	}
	para(bodySize, 18, who+", attesta che "+pages+" al documento analogico originale: "+a.Act+".")
	if a.Register != "" {
		para(bodySize, 8, "Atto ricevuto durante l'indisponibilità di ANSC e iscritto nel registro di emergenza: "+a.Register+".")
	}
	para(bodySize, 12, "Ogni pagina è identificata dall'impronta SHA-256 dell'immagine contenuta in questo file:")
	for i, d := range digests {
		out = append(out, textLine{size: hashSize, indent: 12, text: fmt.Sprintf("Pagina %d   %s", i+1, hex.EncodeToString(d[:])), gapBefore: map[bool]float64{true: 6}[i == 0]})
	}
	para(bodySize, 18, "Data: "+a.Date.Format("02/01/2006"))
	para(bodySize, 4, "L'ufficiale dello stato civile: "+a.Officer)
	if a.OnDevice {
		para(bodySize-1, 4, "Documento sottoscritto con firma digitale ai sensi dell'art. 24 del Codice dell'amministrazione digitale.")
	} else {
		para(bodySize-1, 4, "Documento sottoscritto con firma elettronica dell'ufficiale. La chiave di firma è in un file, non su un dispositivo di firma: "+
			"non è una firma digitale ai sensi dell'art. 24 del Codice dell'amministrazione digitale.")
	}
	return out
}

// attestationPages writes the declaration on as many A4 pages as it needs
// (the list of digests of a long act may run over) and returns the page
// objects' numbers. The space for the signature is kept free on the last.
func attestationPages(w *writer, parent int, a Attestation, digests [][32]byte) ([]int, error) {
	f, err := goRegular()
	if err != nil {
		return nil, err
	}
	font := w.reserve() // written once the pages' text is encoded
	lines := attestationLines(f, a, digests)
	var pages []int
	for len(lines) > 0 {
		var content strings.Builder
		content.WriteString("0 g BT\n")
		y := a4H - margin
		n := 0
		for _, l := range lines {
			y -= l.gapBefore + l.size*lineFactor
			if y < SignatureRect[3]+12 {
				break
			}
			fmt.Fprintf(&content, "/F1 %s Tf 1 0 0 1 %s %s Tm %s Tj\n", num(l.size), num(margin+l.indent), num(y), literal(f.encode(l.text)))
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: attestation line does not fit a page", ErrPage)
		}
		lines = lines[n:]
		content.WriteString("ET\n")
		stream := w.stream("", []byte(content.String()))
		pages = append(pages, w.object(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
			parent, num(a4W), num(a4H), font, stream)))
	}
	f.embed(w, font)
	return pages, nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// PageDigest is the SHA-256 an attestation gives for a page: of the image
// stream as embedded in the document.
func PageDigest(embedded []byte) [32]byte { return sha256.Sum256(embedded) }

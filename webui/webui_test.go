package webui

import (
	"io/fs"
	"strings"
	"testing"
)

// pageBudget bounds the JavaScript and CSS the page loads, uncompressed:
// a workstation with an old browser opens it at once. It is the Italian
// page's; English adds english.js (and its catalog, data) when chosen.
const pageBudget = 60_000

func TestThePageStaysWithinItsBudget(t *testing.T) {
	total := 0
	for _, name := range []string{"app.js", "autografo.js", "style.css", "lang.js"} {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	if total > pageBudget {
		t.Errorf("the page's JavaScript and CSS are %d bytes, over the budget of %d", total, pageBudget)
	}
	// What the page loads is all there: index.html names it.
	html, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := fs.ReadFile(FS(), "app.js")
	lang, _ := fs.ReadFile(FS(), "lang.js")
	if !strings.Contains(string(html), `src="app.js"`) || !strings.Contains(string(html), `href="style.css"`) ||
		!strings.Contains(string(html), `src="lang.js"`) || strings.Count(string(html), "<script") != 2 ||
		!strings.Contains(string(app), `from "./autografo.js"`) || !strings.Contains(string(lang), `import("./english.js")`) {
		t.Error("the page loads files the budget does not count")
	}
}

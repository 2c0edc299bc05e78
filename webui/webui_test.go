package webui

import (
	"io/fs"
	"strings"
	"testing"
)

// pageBudget bounds the JavaScript and CSS the page loads, uncompressed,
// in Italian and in English (which adds english.js; its catalog en.json is
// data): a workstation with an old browser opens it at once. 60 000 until
// the client module gained AutografoClient.find (1.1 KB), for apps on
// machines several users share.
const pageBudget = 61_500

func TestThePageStaysWithinItsBudget(t *testing.T) {
	size := func(names ...string) int {
		total := 0
		for _, name := range names {
			b, err := fs.ReadFile(FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			total += len(b)
		}
		return total
	}
	italian := []string{"app.js", "autografo.js", "style.css", "lang.js"}
	for _, page := range []struct {
		lang  string
		files []string
	}{{"Italian", italian}, {"English", append(italian, "english.js")}} {
		if total := size(page.files...); total > pageBudget {
			t.Errorf("the %s page's JavaScript and CSS are %d bytes, over the budget of %d", page.lang, total, pageBudget)
		}
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

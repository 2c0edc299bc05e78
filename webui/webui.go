// Package webui embeds Autografo's reference act-drafting page and the
// JavaScript client module any act-drafting app can load. No build step: the
// files are served as they are.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the page's files, rooted at the page's directory.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is embedded above; this cannot fail
	}
	return sub
}

package web

import (
	"embed"
	"io/fs"
)

//go:generate go run ./internal/emojigen -in /usr/share/unicode/emoji/emoji-test.txt -out static/js/emoji-data.js

//go:embed static
var static embed.FS

// Assets returns the client's files rooted at static/: index.html at the top, the
// modules under js/ and the style sheets under css/. The FS is read-only and safe
// for concurrent use.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is a valid path embedded above
	}
	return sub
}

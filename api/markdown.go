package api

import (
	"bytes"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// Renderer turns a message's markdown into the sanitised HTML clients display
// (content_html). It renders once, at write time. goldmark never emits raw HTML from
// the source (WithUnsafe is off), and bluemonday's UGC policy strips whatever could
// still run: scripts, event handler attributes, javascript: and data: URLs.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer builds the renderer: CommonMark plus GFM strikethrough, tables,
// autolinks and task lists; links open safely (nofollow, noopener, target blank).
func NewRenderer() *Renderer {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowURLSchemes("http", "https", "mailto")
	return &Renderer{
		md: goldmark.New(
			goldmark.WithExtensions(extension.Strikethrough, extension.Table, extension.Linkify, extension.TaskList),
			goldmark.WithRendererOptions(html.WithHardWraps()),
		),
		policy: p,
	}
}

// Render returns the sanitised HTML of src. Invalid input yields escaped text, never
// an error: a message is always displayable.
func (r *Renderer) Render(src string) string {
	if isPlainText(src) {
		return "<p>" + src + "</p>" // what render gives, much cheaper (TestPlainTextFastPath)
	}
	return r.render(src)
}

// render is the full path: parse, render, sanitise.
func (r *Renderer) render(src string) string {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		return r.policy.Sanitize(src)
	}
	return string(bytes.TrimSpace(r.policy.SanitizeBytes(buf.Bytes())))
}

// isPlainText reports whether src is plain words that markdown renders as one
// paragraph of itself, so the parser and sanitiser can be skipped: ASCII letters,
// digits, single spaces and , . ? ! only, starting with a letter (no list or
// heading marker) and ending with no space, without "www" (an autolink). Most chat
// messages are not like that, but many short ones are.
func isPlainText(src string) bool {
	if len(src) == 0 || len(src) > 512 || !isASCIILetter(src[0]) || src[len(src)-1] == ' ' {
		return false
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case isASCIILetter(c), c >= '0' && c <= '9', c == ',', c == '.', c == '?', c == '!':
		case c == ' ' && src[i-1] != ' ':
		default:
			return false
		}
		if (c == 'w' || c == 'W') && i+2 < len(src) && (src[i+1]|0x20) == 'w' && (src[i+2]|0x20) == 'w' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

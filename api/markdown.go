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
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		return r.policy.Sanitize(src)
	}
	return string(bytes.TrimSpace(r.policy.SanitizeBytes(buf.Bytes())))
}

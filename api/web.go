package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/chatd/chatd/web"
)

// The web UI (package web) is served from memory: every file is read once at
// startup, gzipped once when that makes it smaller, and served under
// /assets/<hash>/<path>, where <hash> is a SHA-256 over every asset's path and
// content. The modules import each other by relative path, so one hash for the whole
// tree keeps those imports valid while any change to any file changes every asset
// URL: assets are cached for a year as immutable, and index.html, which names the
// current hash, is never cached. The app's own paths (/, /r/:id, /join/:code,
// /signin, /signup) all answer index.html; every other unknown path keeps the API's
// 404 envelope.

// contentSecurityPolicy allows scripts, styles and connections from this origin
// only (no inline script or style, no eval), images from here and from blob: URLs
// (attachments are fetched with the token and shown from blobs), and enforces
// Trusted Types: the only HTML the client inserts goes through its one policy
// ("chatd", web/static/js/dom.js), which takes the server's sanitised content_html
// and search highlights.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; " +
	"require-trusted-types-for 'script'; trusted-types chatd"

// assetsPlaceholder in index.html is replaced by the asset URL prefix at startup.
const assetsPlaceholder = "{{ASSETS}}"

// webFile is one asset held in memory.
type webFile struct {
	body, gz    []byte // gz is nil when gzip would not make the file smaller
	contentType string
	etag        string
}

// webAssets is the UI's files, ready to serve.
type webAssets struct {
	hash   string // of the whole tree, the <hash> of /assets/<hash>/
	prefix string // "/assets/<hash>/"
	files  map[string]*webFile
	index  *webFile
}

// loadWebAssets reads every file of fsys into memory and prepares index.html.
func loadWebAssets(fsys fs.FS) (*webAssets, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read web assets: %w", err)
	}
	if _, ok := raw["index.html"]; !ok {
		return nil, fmt.Errorf("web assets have no index.html")
	}
	names := make([]string, 0, len(raw))
	for p := range raw {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(raw[p]))
		h.Write(raw[p])
	}
	a := &webAssets{hash: hex.EncodeToString(h.Sum(nil))[:16], files: map[string]*webFile{}}
	a.prefix = "/assets/" + a.hash + "/"
	for p, b := range raw {
		if p == "index.html" {
			continue
		}
		a.files[p] = newWebFile(p, b)
	}
	index := bytes.ReplaceAll(raw["index.html"], []byte(assetsPlaceholder), []byte(strings.TrimSuffix(a.prefix, "/")))
	a.index = newWebFile("index.html", index)
	return a, nil
}

func newWebFile(p string, b []byte) *webFile {
	ct := mime.TypeByExtension(path.Ext(p))
	switch path.Ext(p) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case ".webmanifest":
		ct = "application/manifest+json"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(b)
	f := &webFile{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	if !strings.HasPrefix(ct, "image/png") && !strings.HasPrefix(ct, "image/jpeg") && len(b) > 256 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		_, _ = zw.Write(b)                                       // writes to a bytes.Buffer do not fail
		_ = zw.Close()
		if buf.Len() < len(b) {
			f.gz = buf.Bytes()
		}
	}
	return f
}

// registerWeb mounts the UI's routes. They are plain mux routes (no token: the
// pages carry no data), listed in api/openapi_test.go's notInOpenAPI.
func (s *Server) registerWeb() {
	s.mux.HandleFunc("GET /{$}", s.handleAppPage)
	s.mux.HandleFunc("GET /r/{id}", s.handleAppPage)
	s.mux.HandleFunc("GET /join/{code}", s.handleAppPage)
	s.mux.HandleFunc("GET /signin", s.handleAppPage)
	s.mux.HandleFunc("GET /signup", s.handleAppPage)
	s.mux.HandleFunc("GET /assets/{hash}/{path...}", s.handleAsset)
}

// handleAppPage answers index.html for every path of the single-page app.
func (s *Server) handleAppPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	serveWebFile(w, r, s.web.index)
}

// handleAsset serves one asset. Under the current hash it is immutable for a year;
// under another hash (a page loaded before a deploy) it is served fresh, uncached.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := s.web.files[r.PathValue("path")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.PathValue("hash") == s.web.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	serveWebFile(w, r, f)
}

// serveWebFile writes f with the security headers, gzipped when the client takes it.
func serveWebFile(w http.ResponseWriter, r *http.Request, f *webFile) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}

// webFS is the UI's file system; tests may swap it.
var webFS = web.Assets

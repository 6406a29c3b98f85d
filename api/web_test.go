package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWebAssets checks how the UI is served: index.html for the app's paths (never
// cached, strict CSP), hashed assets cached for a year and gzipped when asked, and
// the API's 404 envelope for every other unknown path.
func TestWebAssets(t *testing.T) {
	e := newEnv(t, "embedded")
	h := e.api.Handler()
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	var index string
	for _, p := range []string{"/", "/r/0191f2a8-7c4e-7b3a-9d2e-5f6a7b8c9d0e", "/join/abcdEFGH12", "/signin", "/signup"} {
		w := get(p)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", p, w.Code, w.Header().Get("Content-Type"))
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", p, cc)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "object-src 'none'", "require-trusted-types-for 'script'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("CSP allows something unsafe: %q", csp)
		}
		index = w.Body.String()
	}
	if strings.Contains(index, assetsPlaceholder) {
		t.Fatal("index.html still has the placeholder")
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=`).MatchString(index) {
		t.Error("index.html has inline script, inline style or an inline event handler")
	}
	m := regexp.MustCompile(`src="(/assets/[0-9a-f]{16}/js/main\.js)"`).FindStringSubmatch(index)
	if m == nil {
		t.Fatalf("index.html does not load a hashed main.js:\n%s", index)
	}
	m[1] = strings.TrimSuffix(m[1], "main.js") + "app.js" // big enough to be gzipped
	w := get(m[1], "Accept-Encoding", "gzip, br")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d, encoding %q, cache %q", m[1], w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("Cache-Control"))
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("app.js Content-Type %q", ct)
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	src, err := os.ReadFile(filepath.Join("..", "web", "static", "js", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(src) {
		t.Error("gzipped app.js differs from the source")
	}
	if w := get(m[1]); w.Header().Get("Content-Encoding") != "" || w.Body.String() != string(src) {
		t.Error("app.js without Accept-Encoding should be plain")
	}
	if w := get(m[1], "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 should get plain")
	}
	if w := get(m[1], "If-None-Match", get(m[1]).Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d", w.Code)
	}
	// Another hash (a page from before a deploy) still works, uncached.
	if w := get("/assets/0000000000000000/js/main.js"); w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale hash: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if w := get("/assets/" + e.api.web.hash + "/js/nope.js"); w.Code != 404 {
		t.Errorf("unknown asset: %d", w.Code)
	}
	// Unknown API paths keep the JSON 404 envelope.
	for _, p := range []string{"/nope", "/rooms/x/y/z", "/r/", "/assets"} {
		w := get(p)
		if w.Code != 404 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") || !strings.Contains(w.Body.String(), `"not_found"`) {
			t.Errorf("GET %s: %d %s %s", p, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
	}
}

// TestWebModulesPreloaded checks that index.html preloads every module, so the
// browser fetches them in one round instead of discovering imports level by level.
func TestWebModulesPreloaded(t *testing.T) {
	a, err := loadWebAssets(webFS())
	if err != nil {
		t.Fatal(err)
	}
	index := string(a.index.body)
	for p := range a.files {
		if !strings.HasPrefix(p, "js/") || p == "js/main.js" {
			continue
		}
		if !strings.Contains(index, `<link rel="modulepreload" href="`+a.prefix+p+`">`) {
			t.Errorf("index.html does not preload %s", p)
		}
	}
}

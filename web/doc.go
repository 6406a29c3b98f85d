// Package web holds the browser client: plain ES modules, custom elements and CSS
// custom properties under static/, with no build step. The files are embedded in
// the binary; package api serves them (api/web.go) under content-hashed URLs, with
// gzip precomputed at startup and a strict Content-Security-Policy.
//
// static/js/emoji-data.js is generated from Unicode's emoji-test.txt by
// `go generate ./web` (internal/emojigen); the generated file is committed, so a
// build needs nothing but Go.
//
// The browser tests live in web/e2e: they build cmd/chatd, run it as a process and
// drive headless Chromium through chromedp.
package web

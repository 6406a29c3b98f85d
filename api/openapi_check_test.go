package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// openAPIPath is the API's OpenAPI document, relative to this package.
const openAPIPath = "../docs/openapi.yaml"

// jsonContentType is the one Content-Type of JSON answers (API.md "Conventions").
const jsonContentType = "application/json; charset=utf-8"

// openAPISpec is the loaded document and a router over it, built once per test binary.
type openAPISpec struct {
	doc    *openapi3.T
	router *muxRouter
	opts   *openapi3filter.Options
	// errorSchema is components.schemas.Error, for the 404/405 of unrouted requests.
	errorSchema *openapi3.Schema
}

var (
	openAPIOnce   sync.Once
	openAPILoaded *openAPISpec
	openAPIErr    error
)

// loadOpenAPI loads and validates docs/openapi.yaml once; every caller gets the same
// result. The document is read-only afterwards, so validations may run concurrently.
func loadOpenAPI() (*openAPISpec, error) {
	openAPIOnce.Do(func() {
		openAPILoaded, openAPIErr = buildOpenAPISpec(openAPIPath)
	})
	return openAPILoaded, openAPIErr
}

func buildOpenAPISpec(path string) (*openAPISpec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", path, err)
	}
	router, err := newMuxRouter(doc, notInOpenAPI)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	errRef := doc.Components.Schemas["Error"]
	if errRef == nil || errRef.Value == nil {
		return nil, fmt.Errorf("%s: components.schemas.Error is missing", path)
	}
	return &openAPISpec{
		doc:         doc,
		router:      router,
		errorSchema: errRef.Value,
		opts: &openapi3filter.Options{
			// Tests send bad requests on purpose: only responses are checked, so
			// neither request bodies nor security are validated here.
			ExcludeRequestBody:        true,
			ExcludeRequestQueryParams: true,
			AuthenticationFunc:        openapi3filter.NoopAuthenticationFunc,
			// A status the operation does not list is a failure, not a pass.
			IncludeResponseStatus: true,
			MultiError:            true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				// format: uuid is only checked when a validator is registered; this
				// one is scoped to these validations (no global registration).
				openapi3.WithStringFormatValidator("uuid",
					openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
				// Keep failures to reason and JSON pointer, not a dump of the schema.
				openapi3.DisableSchemaErrorDetails(),
			},
		},
	}, nil
}

// openAPICheck wraps h so that every response the tests receive is checked against
// docs/openapi.yaml: the request must match a documented route (or get a 404/405 in
// the error envelope), the status must be one the operation documents, JSON bodies
// must match the schema and carry the contract's Content-Type. Failures are reported
// with t.Errorf (the test goes on); the client still receives the response unchanged.
//
// The handler may be called concurrently. Responses are buffered, validated, then
// written through; WebSocket upgrades pass straight through (the document covers REST).
func openAPICheck(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) {
			h.ServeHTTP(w, r)
			return
		}
		rec := newResponseRecorder(w)
		h.ServeHTTP(rec, r)
		rec.finish()
		if msg := spec.check(r, rec.status, rec.header, rec.body.Bytes()); msg != "" {
			t.Errorf("openapi: %s %s -> %d: %s", r.Method, r.URL.RequestURI(), rec.status, msg)
		}
		rec.writeTo(w)
	})
}

// check validates one exchange and returns what is wrong with it ("" when nothing).
func (s *openAPISpec) check(r *http.Request, status int, header http.Header, body []byte) string {
	route, _, err := s.router.FindRoute(r)
	if errors.Is(err, errNotInOpenAPI) {
		// A route deliberately left out (notInOpenAPI): its errors are still the envelope.
		if status >= 400 {
			return s.checkErrorEnvelope(header, body)
		}
		return ""
	}
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Sprintf("route not in docs/openapi.yaml (%v) but answered %d", err, status)
		}
		// An unknown route: the answer must still be the error envelope.
		return s.checkErrorEnvelope(header, body)
	}
	// Bodies are decoded by the validator from this reader; the recorder keeps its own copy.
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r,
			Route:   route,
			Options: s.opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: s.opts,
	}
	var problems []string
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		problems = append(problems, describeValidation(err))
	}
	if msg := checkContentType(route, status, header, body); msg != "" {
		problems = append(problems, msg)
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("%s (operation %s %s); body: %s",
		strings.Join(problems, "; "), route.Method, route.Path, excerpt(body))
}

// checkErrorEnvelope validates an error answer outside the document's operations
// (an unrouted request, or a route in notInOpenAPI).
func (s *openAPISpec) checkErrorEnvelope(header http.Header, body []byte) string {
	if ct := header.Get("Content-Type"); ct != jsonContentType {
		return fmt.Sprintf("error answer: Content-Type %q, want %q; body: %s", ct, jsonContentType, excerpt(body))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Sprintf("error answer: body is not JSON (%v): %s", err, excerpt(body))
	}
	opts := append([]openapi3.SchemaValidationOption{openapi3.VisitAsResponse(), openapi3.MultiErrors()},
		s.opts.SchemaValidationOptions...)
	if err := s.errorSchema.VisitJSON(v, opts...); err != nil {
		return fmt.Sprintf("error answer: not the error envelope: %v; body: %s", err, excerpt(body))
	}
	return ""
}

// checkContentType holds JSON answers to the contract's exact Content-Type.
func checkContentType(route *routers.Route, status int, header http.Header, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	ref := route.Operation.Responses.Status(status)
	// The exact key: Content.Get would also match a file's "*/*".
	if ref == nil || ref.Value == nil || ref.Value.Content["application/json"] == nil {
		return ""
	}
	if ct := header.Get("Content-Type"); ct != jsonContentType {
		return fmt.Sprintf("Content-Type %q, want %q", ct, jsonContentType)
	}
	return ""
}

// describeValidation flattens kin-openapi's (multi-)errors into one line per problem.
func describeValidation(err error) string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		if re.Err == nil {
			return re.Reason
		}
		return re.Reason + ": " + flattenErr(re.Err)
	}
	return flattenErr(err)
}

func flattenErr(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, flattenErr(e))
		}
		return strings.Join(parts, " | ")
	}
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
}

// excerpt shortens a body for a failure message.
func excerpt(b []byte) string {
	const max = 600
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "..."
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// responseRecorder buffers a response so it can be validated before the client sees
// it. Headers are snapshotted when the status is written, as a real server does.
type responseRecorder struct {
	under       http.ResponseWriter
	header      http.Header // what the handler mutates
	sent        http.Header // snapshot at WriteHeader
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func newResponseRecorder(under http.ResponseWriter) *responseRecorder {
	return &responseRecorder{under: under, header: make(http.Header)}
}

func (rec *responseRecorder) Header() http.Header { return rec.header }

func (rec *responseRecorder) WriteHeader(code int) {
	if rec.wroteHeader {
		return
	}
	if code >= 100 && code < 200 { // informational: not the final status
		return
	}
	rec.wroteHeader = true
	rec.status = code
	rec.sent = rec.header.Clone()
}

func (rec *responseRecorder) Write(p []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(p)
}

// Flush is a no-op: the response is delivered whole after validation.
func (rec *responseRecorder) Flush() {}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (rec *responseRecorder) Unwrap() http.ResponseWriter { return rec.under }

// finish completes a response whose handler wrote nothing (an implicit 200).
func (rec *responseRecorder) finish() {
	rec.WriteHeader(http.StatusOK)
	rec.header = rec.sent
}

// writeTo delivers the recorded response unchanged.
func (rec *responseRecorder) writeTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range rec.sent {
		h[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// muxRouter finds a request's operation with the standard library's ServeMux, built
// from the document's paths: the server routes with ServeMux patterns, and only the
// same matcher agrees with it everywhere (GET /users/me falls through to
// GET /users/{id} when /users/me has no GET; gorilla/mux would call that a 405).
type muxRouter struct {
	mux    *http.ServeMux
	routes map[string]*routers.Route // by ServeMux pattern "METHOD /path"
	// left are the server's routes the document leaves out (notInOpenAPI).
	left map[string]bool
}

// errNotInOpenAPI is FindRoute's answer for a route the document leaves out on purpose.
var errNotInOpenAPI = errors.New("route deliberately not in the OpenAPI document")

// newMuxRouter routes the document's operations, and left's patterns to errNotInOpenAPI.
func newMuxRouter(doc *openapi3.T, left map[string]string) (r *muxRouter, err error) {
	r = &muxRouter{mux: http.NewServeMux(), routes: make(map[string]*routers.Route), left: make(map[string]bool)}
	defer func() {
		if p := recover(); p != nil { // ServeMux panics on conflicting patterns
			r, err = nil, fmt.Errorf("conflicting paths: %v", p)
		}
	}()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			pattern := method + " " + path
			r.mux.Handle(pattern, noop)
			r.routes[pattern] = &routers.Route{
				Spec: doc, Path: path, PathItem: item, Method: method, Operation: op,
			}
		}
	}
	for pattern := range left {
		r.mux.Handle(pattern, noop)
		r.left[pattern] = true
	}
	return r, nil
}

// FindRoute implements routers.Router. Path parameters are not extracted: only
// responses are validated, which do not need them.
func (r *muxRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	h, pattern := r.mux.Handler(req)
	if r.left[pattern] {
		return nil, nil, errNotInOpenAPI
	}
	route, ok := r.routes[pattern]
	if !ok {
		// Unmatched: h is ServeMux's 404, 405 or redirect answer; ask it which.
		probe := httptest.NewRecorder()
		h.ServeHTTP(probe, req)
		if probe.Code == http.StatusMethodNotAllowed {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		return nil, nil, routers.ErrPathNotFound
	}
	if req.Method == http.MethodHead && route.Method == http.MethodGet {
		// ServeMux serves HEAD with GET; kin-openapi skips HEAD responses anyway.
		cp := *route
		cp.Method = http.MethodHead
		return &cp, nil, nil
	}
	return route, nil, nil
}

var _ routers.Router = (*muxRouter)(nil)

package api

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/chatd/chatd/chat"
)

// The tests of this file keep docs/openapi.yaml honest: a valid document, the same
// routes as the server, the same error codes as chat.Codes. (openapi_check_test.go
// checks every response of the other tests against it.)

// TestOpenAPIDocumentValid loads the document and validates it as OpenAPI 3.0.
func TestOpenAPIDocumentValid(t *testing.T) {
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if got := spec.doc.OpenAPI; got != "3.0.3" {
		t.Errorf("openapi version %q, want 3.0.3", got)
	}
}

// registeredRoute is a route the api package registers.
type registeredRoute struct {
	pattern string // "METHOD /path"
	public  bool   // registered with s.public or on the mux directly: no bearer token
	pos     string
}

// registeredRoutes parses the api package's non-test sources for route
// registrations: s.public("METHOD /path", ...), s.authed(...), and s.mux.Handle /
// HandleFunc with a method pattern (the catch-all "/" excluded). Parsing the source
// keeps server.go free of test hooks; a pattern that is not a string literal fails
// the test rather than escaping it.
func registeredRoutes(t *testing.T) []registeredRoute {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var routes []registeredRoute
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			var public bool
			switch sel.Sel.Name {
			case "public":
				public = true
			case "authed":
			case "Handle", "HandleFunc":
				if x, ok := sel.X.(*ast.SelectorExpr); !ok || x.Sel.Name != "mux" {
					return true
				}
				public = true
			default:
				return true
			}
			pos := fset.Position(call.Pos()).String()
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				// public and authed pass their own parameter on to the mux.
				if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "pattern" {
					return true
				}
				t.Errorf("%s: route pattern is not a string literal; the route check cannot see it", pos)
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			if pattern == "/" {
				return true // the catch-all 404
			}
			routes = append(routes, registeredRoute{pattern: pattern, public: public, pos: pos})
			return true
		})
	}
	if len(routes) == 0 {
		t.Fatal("found no route registrations in the api package")
	}
	return routes
}

// notInOpenAPI lists registered routes that docs/openapi.yaml deliberately leaves
// out, each with the reason. Keep it short.
var notInOpenAPI = map[string]string{
	"GET /ws": "the WebSocket protocol is described in docs/api.md, not in OpenAPI",
	// The web UI's pages and assets (api/web.go) are not API routes.
	"GET /{$}":                     "web UI: index.html",
	"GET /r/{id}":                  "web UI: index.html",
	"GET /join/{code}":             "web UI: index.html",
	"GET /signin":                  "web UI: index.html",
	"GET /signup":                  "web UI: index.html",
	"GET /assets/{hash}/{path...}": "web UI: hashed assets",
}

// TestOpenAPIRoutesMatchServer checks that the document has exactly the server's
// routes, and that the document's security says what the registration does: routes
// registered with s.authed need the bearer JWT, all others do not.
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]*openapi3.Operation{}
	for path, item := range spec.doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	registered := map[string]registeredRoute{}
	for _, r := range registeredRoutes(t) {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("%s: pattern %q has no method; every route names one", r.pos, r.pattern)
			continue
		}
		if prev, dup := registered[r.pattern]; dup {
			t.Errorf("%s: %q registered twice (also %s)", r.pos, r.pattern, prev.pos)
		}
		registered[r.pattern] = r
	}

	for _, pattern := range sortedKeys(registered) {
		r := registered[pattern]
		if _, skip := notInOpenAPI[pattern]; skip {
			continue
		}
		op, ok := documented[pattern]
		if !ok {
			t.Errorf("%s: route %q is not in docs/openapi.yaml", r.pos, pattern)
			continue
		}
		needsBearer := usesScheme(spec.doc, op, "bearerAuth")
		switch {
		case r.public && needsBearer:
			t.Errorf("%q is public in the server but needs bearerAuth in docs/openapi.yaml (set `security: []`)", pattern)
		case !r.public && !needsBearer:
			t.Errorf("%q needs a token in the server but not in docs/openapi.yaml", pattern)
		}
	}
	for _, pattern := range sortedKeys(documented) {
		if _, ok := registered[pattern]; !ok {
			t.Errorf("docs/openapi.yaml documents %q, which the server does not register", pattern)
		}
	}
}

// usesScheme reports whether op's effective security (its own, else the
// document's) requires the named scheme.
func usesScheme(doc *openapi3.T, op *openapi3.Operation, scheme string) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	for _, req := range reqs {
		if _, ok := req[scheme]; ok {
			return true
		}
	}
	return false
}

// TestOpenAPIErrorCodes checks the document's error codes against chat.Codes: the
// ErrorCode enum lists every code in order, and every error response (4xx/5xx) is the
// error envelope whose codes, when narrowed, all map to that response's status.
func TestOpenAPIErrorCodes(t *testing.T) {
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	ref := spec.doc.Components.Schemas["ErrorCode"]
	if ref == nil {
		t.Fatal("components.schemas.ErrorCode is missing")
	}
	var got, want []string
	for _, v := range ref.Value.Enum {
		got = append(got, fmt.Sprint(v))
	}
	for _, c := range chat.Codes {
		want = append(want, string(c.Code))
	}
	if !slices.Equal(got, want) {
		t.Errorf("ErrorCode enum = %v\nwant chat.Codes  %v", got, want)
	}
	errorSchema := spec.doc.Components.Schemas["Error"].Value

	seen := map[string]bool{} // a shared response is reported once per status
	for _, path := range sortedKeys(spec.doc.Paths.Map()) {
		item := spec.doc.Paths.Value(path)
		for _, method := range sortedKeys(item.Operations()) {
			op := item.GetOperation(method)
			for status, resp := range op.Responses.Map() {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("%s %s: response %q: use explicit status codes, not ranges or default", method, path, status)
					continue
				}
				if code < 400 {
					continue
				}
				where := fmt.Sprintf("%s %s -> %d", method, path, code)
				if resp.Ref != "" {
					where = fmt.Sprintf("%s as %d", resp.Ref, code)
				}
				if seen[where] {
					continue
				}
				seen[where] = true
				mt := resp.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil {
					t.Errorf("%s: an error response must be the JSON error envelope", where)
					continue
				}
				codes, ok := envelopeCodes(mt.Schema, errorSchema)
				if !ok {
					t.Errorf("%s: schema is not the Error envelope (or allOf with it)", where)
					continue
				}
				for _, c := range codes {
					if st := chat.Code(c).Status(); st != code {
						t.Errorf("%s: lists code %q, whose status is %d", where, c, st)
					}
				}
			}
		}
	}
}

// envelopeCodes returns the error codes a response schema allows: it must be the
// Error schema, or allOf the Error schema and a narrowing of error.code's enum.
func envelopeCodes(ref *openapi3.SchemaRef, errorSchema *openapi3.Schema) ([]string, bool) {
	s := ref.Value
	if s == errorSchema {
		return nil, true
	}
	if len(s.AllOf) == 0 || s.AllOf[0].Value != errorSchema {
		return nil, false
	}
	var codes []string
	for _, part := range s.AllOf[1:] {
		e := part.Value.Properties["error"]
		if e == nil {
			continue
		}
		if c := e.Value.Properties["code"]; c != nil {
			for _, v := range c.Value.Enum {
				codes = append(codes, fmt.Sprint(v))
			}
		}
	}
	return codes, true
}

// TestErrorsDocListsCodes checks that docs/errors.md has a table row for every code
// of chat.Codes with its status, in the table's order, and no row for other codes.
func TestErrorsDocListsCodes(t *testing.T) {
	raw, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\|\\s*`([a-z_]+)`\\s*\\|\\s*(\\d{3})\\s*\\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	var want []string
	for _, c := range chat.Codes {
		want = append(want, fmt.Sprintf("%s %d", c.Code, c.Status))
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/errors.md rows (code status):\n  %v\nwant, from chat.Codes:\n  %v", got, want)
	}
	// Each code's meaning should be there too, so the page does not drift from the table.
	for _, c := range chat.Codes {
		if !strings.Contains(string(raw), c.Doc) {
			t.Errorf("docs/errors.md: %s: missing the description %q", c.Code, c.Doc)
		}
		if http.StatusText(c.Status) == "" {
			t.Errorf("chat.Codes: %s has status %d, which is not an HTTP status", c.Code, c.Status)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

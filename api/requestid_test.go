package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	e := newEnv(t, "embedded")
	long := strings.Repeat("a", maxRequestIDLen+1)
	cases := []struct {
		name, in string
		keep     bool
	}{
		{"none given", "", false},
		{"sane id kept", "edge-7f3a.42:1_b", true},
		{"too long replaced", long, false},
		{"space replaced", "a b", false},
		{"newline replaced", "a\\nb", false},
		{"quote replaced", `a"b`, false},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.in != "" {
				req.Header.Set(requestIDHeader, tc.in)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get(requestIDHeader)
			switch {
			case tc.keep && got != tc.in:
				t.Fatalf("id %q answered as %q, want it kept", tc.in, got)
			case !tc.keep && (got == tc.in || len(got) != 16 || !validRequestID(got)):
				t.Fatalf("id %q answered as %q, want a fresh 16-digit id", tc.in, got)
			case !tc.keep && seen[got]:
				t.Fatalf("generated id %q twice", got)
			}
			seen[got] = true
		})
	}
}

func TestRequestIDOnErrors(t *testing.T) {
	e := newEnv(t, "embedded")
	resp, err := http.Get(e.srv.URL + "/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !validRequestID(resp.Header.Get(requestIDHeader)) {
		t.Fatalf("status %d, id %q: want 404 with an id", resp.StatusCode, resp.Header.Get(requestIDHeader))
	}
}

// Profiles live on the operator listener only (cmd/chatd --debug-listen).
func TestNoPprofOnPublicListener(t *testing.T) {
	e := newEnv(t, "embedded")
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the public listener: %d, want 404", path, resp.StatusCode)
		}
	}
}

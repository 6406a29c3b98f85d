package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// testEnv is one API server over a real store, served on a real listener.
type testEnv struct {
	t     testing.TB
	kind  string
	srv   *httptest.Server
	api   *Server
	store persist.Store
	node  *node.Node
	now   atomic.Int64 // clock offset in ms added to chat.Now (edit window tests)
	// blobDir holds the local blobs (unless adjust replaced Config.Blobs).
	blobDir string
}

var testSecret = []byte("test-secret-test-secret-test-secret!!")

// newEnv starts a server over a fresh store of kind "embedded" or "postgres".
func newEnv(t testing.TB, kind string) *testEnv { return newEnvWith(t, kind, nil) }

// newEnvWith is newEnv with a hook that adjusts the API's configuration.
func newEnvWith(t testing.TB, kind string, adjust func(*Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var (
		store persist.Store
		err   error
	)
	switch kind {
	case "embedded":
		store, err = persist.OpenEmbedded(ctx, t.TempDir(), log)
	case "postgres":
		store, err = persist.OpenPostgres(ctx, testsvc.PostgresURL(t), log)
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	e := &testEnv{t: t, kind: kind, store: store}
	nd, err := node.New(node.Config{Name: "test"}, store, log)
	if err != nil {
		t.Fatal(err)
	}
	e.node = nd
	e.blobDir = t.TempDir()
	blobs, err := persist.OpenLocalBlobs(e.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{JWTSecret: testSecret, Now: func() chat.Time { return chat.Now() + chat.Time(e.now.Load()) },
		Blobs: blobs, QuarantineDir: t.TempDir()}
	if adjust != nil {
		adjust(&cfg)
	}
	e.api, err = New(cfg, store, nd, persist.NewMemoryRateLimiter(), log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(openAPICheck(t, e.api.Handler()))
	t.Cleanup(func() {
		e.srv.Close()
		_ = nd.Close()
		_ = store.Close()
	})
	return e
}

// forEachStore runs f against the embedded store and, unless -short, Postgres.
func forEachStore(t *testing.T, f func(t *testing.T, e *testEnv)) {
	t.Helper()
	kinds := []string{"embedded", "postgres"}
	if testing.Short() {
		kinds = kinds[:1]
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { f(t, newEnv(t, kind)) })
	}
}

// client is a signed-in (or anonymous) HTTP caller.
type client struct {
	e     *testEnv
	token string
	user  chat.User
}

var userSeq atomic.Int64

// uniqueName returns a fresh valid username with prefix.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, userSeq.Add(1))
}

// register creates a user with a fresh name starting with prefix and signs it in.
func (e *testEnv) register(prefix string) *client {
	e.t.Helper()
	name := uniqueName(prefix)
	var out struct {
		Token string    `json:"token"`
		User  chat.User `json:"user"`
	}
	e.anon().mustJSON("POST", "/auth/register", map[string]string{
		"username": name, "password": "password-" + name, "display_name": "User " + name,
	}, http.StatusCreated, &out)
	return &client{e: e, token: out.Token, user: out.User}
}

// anon returns a caller without a token.
func (e *testEnv) anon() *client { return &client{e: e} }

// do sends a request; body is JSON-encoded unless it is a string or []byte.
func (c *client) do(method, path string, body any) (int, []byte, http.Header) {
	c.e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.e.t.Fatal(err)
		}
	}
	var hdr map[string]string
	if body != nil {
		hdr = map[string]string{"Content-Type": "application/json"}
	}
	return c.request(method, path, raw, hdr)
}

// request sends a raw request with headers and returns status, body and headers.
func (c *client) request(method, path string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		c.e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.e.srv.Client().Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// mustJSON sends a request, fails unless the status is want, and decodes into out.
func (c *client) mustJSON(method, path string, body any, want int, out any) {
	c.e.t.Helper()
	status, raw, _ := c.do(method, path, body)
	if status != want {
		c.e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// mustError sends a request and fails unless it gets status with the envelope's code.
func (c *client) mustError(method, path string, body any, status int, code chat.Code) *chat.Error {
	c.e.t.Helper()
	got, raw, _ := c.do(method, path, body)
	var env struct {
		Error *chat.Error `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil {
		c.e.t.Fatalf("%s %s: status %d, body %s: not an error envelope", method, path, got, raw)
	}
	if got != status || env.Error.Code != code {
		c.e.t.Fatalf("%s %s: got %d %s, want %d %s; body %s", method, path, got, env.Error.Code, status, code, raw)
	}
	return env.Error
}

func testLogOut() io.Writer {
	if os.Getenv("CHATD_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

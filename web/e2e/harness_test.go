// Package e2e drives the web UI in headless Chromium (chromedp) against a real
// chatd process built from this module.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

var jwtSecret = strings.Repeat("e2e-secret-", 4)

var build struct {
	once sync.Once
	path string
	err  error
}

// needBrowser skips without Chromium, except under CI where nothing may skip.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required under CI: %v", err)
		}
		t.Skipf("no chromium at %s", chromium)
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
}

// chatdBinary builds ./cmd/chatd once per test binary (CHATD_E2E_BIN names a
// prebuilt one instead).
func chatdBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CHATD_E2E_BIN"); bin != "" {
		return bin
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "chatd-e2e-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "chatd")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/chatd")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/chatd: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// node is one chatd process on a fixed address and data directory, so that it can
// be stopped and started again on the same port.
type node struct {
	t       *testing.T
	bin     string
	dataDir string
	addr    string
	log     string
	cmd     *exec.Cmd
	done    chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{t: t, bin: chatdBinary(t), dataDir: t.TempDir(), addr: freeAddr(t)}
	n.log = filepath.Join(t.TempDir(), "chatd.log")
	n.start()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("chatd log tail:\n%s", b)
		}
	})
	return n
}

func (n *node) url() string { return "http://" + n.addr }

func (n *node) start() {
	n.t.Helper()
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(n.bin, "--listen", n.addr, "--data-dir", n.dataDir, "--name", "e2e", "--jwt-secret", jwtSecret)
	cmd.Env = append(os.Environ(), "CHATD_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(n.done) }()
	poll(n.t, 30*time.Second, "chatd ready", func() bool {
		res, err := http.Get(n.url() + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// stop sends SIGTERM (the node drains and closes sockets with 1012) and waits.
func (n *node) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

// poll waits until cond holds, checking every 50 ms, failing after d.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond) // a polling interval, not a wait for an outcome
	}
}

// rest calls the API as token (or anonymously) and decodes the answer into out.
func (n *node) rest(t *testing.T, token, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url()+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

type account struct {
	Token string `json:"token"`
	User  struct {
		ID          string `json:"id"`
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
	} `json:"user"`
}

func (n *node) register(t *testing.T, username, display string) account {
	var a account
	n.rest(t, "", "POST", "/auth/register", map[string]string{"username": username, "password": "password-" + username, "display_name": display}, &a)
	return a
}

// guard runs in every page before its scripts: it counts alert/confirm/prompt calls
// and CSP violations (an XSS payload that ran, or one the CSP stopped), and stubs the
// Notification API as granted, recording what the page shows.
const guard = `(() => {
  window.__xss = 0; window.__csp = []; window.__notes = [];
  for (const f of ['alert', 'confirm', 'prompt', 'print']) window[f] = () => { window.__xss++; };
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  class N { constructor(title, opts) { window.__notes.push({ title, body: (opts || {}).body }); } static requestPermission() { return Promise.resolve('granted'); } }
  N.permission = 'granted';
  window.Notification = N;
})();`

// browser starts tabs, each in a Chromium of its own (own profile: another user).
type browser struct{ t *testing.T }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	needBrowser(t)
	return &browser{t: t}
}

// tab starts a headless Chromium with a fresh profile and a viewport of width x height.
func (b *browser) tab(width, height int64) *tab {
	t := b.t
	t.Helper()
	// Chromium now and then exits at start on a loaded machine (before its DevTools
	// endpoint is up); a fresh profile and another try gets past that.
	var (
		ctx   context.Context
		err   error
		tries = 3
	)
	for try := 1; try <= tries; try++ {
		profile := browserProfile(t)
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromium),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(int(width), int(height)),
		)
		alloc, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		c, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(quietErrorf))
		// The first Run starts the browser and must use the context itself: a derived
		// context's cancel would close it.
		if err = chromedp.Run(c); err == nil {
			ctx = c
			t.Cleanup(func() { cancel(); cancelA() })
			break
		}
		cancel()
		cancelA()
		t.Logf("start chromium (try %d of %d): %v", try, tries, err)
	}
	if ctx == nil {
		t.Fatalf("start chromium: %v", err)
	}
	tb := &tab{t: t, ctx: ctx}
	tb.run(chromedp.EmulateViewport(width, height), chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(guard).Do(ctx)
		return err
	}))
	return tb
}

// browserProfile is a fresh Chromium profile directory, removed after the test.
// Not t.TempDir: Chromium's helper processes can still write into the profile for
// a moment after the browser is stopped, and TempDir's cleanup then fails the test
// ("directory not empty"); this one retries the removal for a while and only logs.
func browserProfile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "chatd-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered before the browser's, so it runs after it
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Logf("browser profile %s not removed: %v", dir, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return dir
}

// quietErrorf logs chromedp's errors except its notes about DevTools events it has
// no handler for (newer Chromium sends events this cdproto does not know).
func quietErrorf(format string, args ...any) {
	if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled node event") {
		log.Print(msg)
	}
}

type tab struct {
	t   *testing.T
	ctx context.Context
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JS expression and decodes its value into out (may be nil).
func (tb *tab) eval(js string, out any) {
	tb.t.Helper()
	var v any
	if out == nil {
		out = &v
	}
	tb.run(chromedp.Evaluate(js, out, func(p *runtimeEvalParams) *runtimeEvalParams { return p.WithAwaitPromise(true) }))
}

// until polls a JS condition until it is true.
func (tb *tab) until(what, js string) {
	tb.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate("!!("+js+")", &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var snap string
			_ = chromedp.Run(tb.ctx, chromedp.Evaluate(`document.body.innerText.slice(0, 1500)`, &snap))
			tb.t.Fatalf("timed out waiting for %s (%s; err %v)\npage text:\n%s", what, js, err, snap)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// securityCounts returns the alert calls and CSP violations seen by the guard.
func (tb *tab) securityCounts() (int, []string) {
	var out struct {
		XSS int      `json:"xss"`
		CSP []string `json:"csp"`
	}
	tb.eval(`({xss: window.__xss, csp: window.__csp})`, &out)
	return out.XSS, out.CSP
}

// screenshot saves the page as docs/screenshots/name.png when CHATD_SCREENSHOTS=1.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if os.Getenv("CHATD_SCREENSHOTS") == "" {
		return
	}
	var buf []byte
	tb.run(chromedp.CaptureScreenshot(&buf))
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

package wsconn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// recorder is a Handler that records what happens, for assertions.
type recorder struct {
	mu      sync.Mutex
	closes  map[*Conn][]closeEvent
	onMsg   func(c *Conn, data []byte)
	upgrade chan *Conn
}

type closeEvent struct {
	code   ws.StatusCode
	reason string
}

func newRecorder(onMsg func(c *Conn, data []byte)) *recorder {
	return &recorder{closes: map[*Conn][]closeEvent{}, onMsg: onMsg, upgrade: make(chan *Conn, 10000)}
}

// echo sends every message back.
func echo(c *Conn, data []byte) { _ = c.Send(NewTextFrame(data)) }

func (r *recorder) OnMessage(c *Conn, data []byte) {
	if r.onMsg != nil {
		r.onMsg(c, data)
	}
}

func (r *recorder) OnClose(c *Conn, code ws.StatusCode, reason string) {
	r.mu.Lock()
	r.closes[c] = append(r.closes[c], closeEvent{code, reason})
	r.mu.Unlock()
}

// closeOf returns the close events of c so far.
func (r *recorder) closeOf(c *Conn) []closeEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]closeEvent(nil), r.closes[c]...)
}

func (r *recorder) closeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, evs := range r.closes {
		n += len(evs)
	}
	return n
}

// startServer runs a wsconn Server behind an httptest server; the returned URL is
// ws://.../ws. Shutdown runs at cleanup.
func startServer(t testing.TB, cfg Config, h *recorder) (*Server, string) {
	t.Helper()
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.Upgrade(w, r, r.URL.Query().Get("id"))
		if err == nil {
			h.upgrade <- c
		}
	}))
	ts.Config.ReadHeaderTimeout = 5 * time.Second
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx, CloseServiceRestart, "test over"); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ts.Close()
	})
	return s, "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
}

// client is a test WebSocket client speaking raw frames.
type client struct {
	t    testing.TB
	conn net.Conn
	r    io.Reader
	hs   ws.Handshake
	srv  *Conn // the server side, when known
}

func dial(t testing.TB, url string, h *recorder, deflate bool) *client {
	t.Helper()
	d := ws.Dialer{Timeout: 5 * time.Second}
	if deflate {
		d.Extensions = []httphead.Option{wsflate.DefaultParameters.Option()}
	}
	conn, br, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: conn, hs: hs}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	if h != nil {
		select {
		case c.srv = <-h.upgrade:
		case <-time.After(5 * time.Second):
			t.Fatal("no upgrade seen by the server")
		}
	}
	return c
}

// writeFrame writes a masked frame with the given header bits.
func (c *client) writeFrame(op ws.OpCode, fin bool, rsv1 bool, payload []byte) error {
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	if rsv1 {
		f.Header.Rsv = ws.Rsv(true, false, false)
	}
	f = ws.MaskFrameInPlace(f)
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return ws.WriteFrame(c.conn, f)
}

func (c *client) sendText(s string) {
	c.t.Helper()
	if err := c.writeFrame(ws.OpText, true, false, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one frame (unmasked from the server) within 5 s.
func (c *client) readFrame() (ws.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	return readFrame(c.r)
}

// readFrame reads one frame of at most 1 MiB (ws.ReadFrame trusts the peer's
// length).
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 1<<20 {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, err
	}
	if h.Masked {
		ws.Cipher(f.Payload, h.Mask, 0)
	}
	return f, nil
}

// readText reads frames until a text frame, answering nothing, and returns it
// (inflated when RSV1 is set).
func (c *client) readText() string {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpText:
			if f.Header.Rsv1() {
				f, err = wsflate.DecompressFrame(f)
				if err != nil {
					c.t.Fatalf("inflate: %v", err)
				}
			}
			return string(f.Payload)
		case ws.OpClose:
			c.t.Fatalf("unexpected close %v", closeBody(f.Payload))
		}
	}
}

// readClose reads frames until the close frame and returns its code and reason.
func (c *client) readClose() (ws.StatusCode, string) {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read while waiting for close: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			ev := closeBody(f.Payload)
			return ev.code, ev.reason
		}
	}
}

func closeBody(p []byte) closeEvent {
	if len(p) < 2 {
		return closeEvent{code: CloseNoStatus}
	}
	return closeEvent{ws.StatusCode(binary.BigEndian.Uint16(p)), string(p[2:])}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitClose waits until the server reported c closed and returns the one event.
func waitClose(t testing.TB, h *recorder, c *Conn) closeEvent {
	t.Helper()
	waitFor(t, 5*time.Second, "OnClose", func() bool { return len(h.closeOf(c)) > 0 })
	evs := h.closeOf(c)
	if len(evs) != 1 {
		t.Fatalf("OnClose called %d times: %v", len(evs), evs)
	}
	return evs[0]
}

func isClosedErr(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// quickConfig has short timeouts so that keepalive tests run fast.
func quickConfig() Config {
	return Config{PingInterval: time.Hour, IdleTimeout: 2 * time.Hour, CloseTimeout: time.Second}
}

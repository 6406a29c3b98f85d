package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

func TestEchoRoundTrip(t *testing.T) {
	h := newRecorder(echo)
	s, url := startServer(t, quickConfig(), h)
	c := dial(t, url+"?id=alice", h, false)
	if got := c.srv.UserData(); got != "alice" {
		t.Fatalf("UserData = %v", got)
	}
	c.sendText("hello")
	if got := c.readText(); got != "hello" {
		t.Fatalf("echo = %q", got)
	}
	// A fragmented message, with a ping between the fragments.
	if err := c.writeFrame(ws.OpText, false, false, []byte("frag")); err != nil {
		t.Fatal(err)
	}
	if err := c.writeFrame(ws.OpPing, true, false, []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := c.writeFrame(ws.OpContinuation, true, false, []byte("mented")); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(); got != "fragmented" {
		t.Fatalf("echo of fragments = %q", got)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
	if c.srv.Compressed() {
		t.Fatal("compression negotiated without an offer")
	}
}

func TestManyConnections(t *testing.T) {
	h := newRecorder(echo)
	s, url := startServer(t, quickConfig(), h)
	const n = 300
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, url, h, false)
	}
	if s.Len() != n {
		t.Fatalf("Len = %d, want %d", s.Len(), n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("message %d", i)
			if err := c.writeFrame(ws.OpText, true, false, []byte(msg)); err != nil {
				errs <- err
				return
			}
			f, err := c.readFrame()
			if err != nil || string(f.Payload) != msg {
				errs <- fmt.Errorf("conn %d: %q, %v", i, f.Payload, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServerPingAnswered(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.PingInterval, cfg.IdleTimeout = 30*time.Millisecond, 300*time.Millisecond
	s, url := startServer(t, cfg, h)
	c := dial(t, url, h, false)
	// Answer pings for well over IdleTimeout: the connection must stay open.
	deadline := time.Now().Add(4 * cfg.IdleTimeout)
	pings := 0
	for time.Now().Before(deadline) {
		f, err := c.readFrame()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if f.Header.OpCode != ws.OpPing {
			t.Fatalf("unexpected frame %v", f.Header.OpCode)
		}
		pings++
		if err := c.writeFrame(ws.OpPong, true, false, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if pings < 3 {
		t.Fatalf("only %d pings", pings)
	}
	if len(h.closeOf(c.srv)) != 0 || s.Len() != 1 {
		t.Fatalf("connection closed although it answered pings")
	}
	if s.Stats().PingsSent.Load() == 0 {
		t.Fatal("PingsSent not counted")
	}
}

func TestClientPingGetsPong(t *testing.T) {
	h := newRecorder(nil)
	_, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	if err := c.writeFrame(ws.OpPing, true, false, []byte("are you there")); err != nil {
		t.Fatal(err)
	}
	f, err := c.readFrame()
	if err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "are you there" {
		t.Fatalf("got %v %q %v", f.Header.OpCode, f.Payload, err)
	}
	// An unsolicited pong is ignored.
	if err := c.writeFrame(ws.OpPong, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.writeFrame(ws.OpPing, true, false, []byte("2")); err != nil {
		t.Fatal(err)
	}
	if f, err := c.readFrame(); err != nil || string(f.Payload) != "2" {
		t.Fatalf("second pong: %q %v", f.Payload, err)
	}
}

func TestPingFloodBoundedPongs(t *testing.T) {
	h := newRecorder(nil)
	_, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	var buf bytes.Buffer // many pings in few writes, never reading
	for i := range 20000 {
		f := ws.MaskFrameInPlace(ws.NewPingFrame([]byte(fmt.Sprint(i))))
		_ = ws.WriteFrame(&buf, f)
	}
	maxQueued := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-done:
				return
			default:
			}
			c.srv.mu.Lock()
			if c.srv.q != nil {
				maxQueued = max(maxQueued, c.srv.q.len())
			}
			c.srv.mu.Unlock()
			runtime.Gosched()
		}
	}()
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	c.sendText("end")
	waitFor(t, 5*time.Second, "all pings read", func() bool {
		return c.srv.srv.Stats().FramesIn.Load() >= 20001
	})
	done <- struct{}{}
	<-done
	if maxQueued > 2 {
		t.Fatalf("ping flood queued up to %d frames", maxQueued)
	}
	// The client gets pongs (far fewer than 20000), ending with the last ping's.
	last := ""
	for last != "19999" {
		f, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		last = string(f.Payload)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	max := DefaultConfig().MaxMessage

	c := dial(t, url, h, false)
	exact := strings.Repeat("a", max)
	c.sendText(exact)
	if got := c.readText(); got != exact {
		t.Fatalf("echo of %d bytes: %d bytes", max, len(got))
	}

	c2 := dial(t, url, h, false)
	_ = c2.writeFrame(ws.OpText, true, false, []byte(exact+"a"))
	if code, _ := c2.readClose(); code != CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	if ev := waitClose(t, h, c2.srv); ev.code != CloseMessageTooBig {
		t.Fatalf("OnClose %v", ev)
	}
}

func TestMessageSizeLimitByContinuations(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	chunk := bytes.Repeat([]byte("x"), 1000)
	_ = c.writeFrame(ws.OpText, false, false, chunk)
	for range 200 { // 200 KB in all; the server stops at 64 KiB
		if err := c.writeFrame(ws.OpContinuation, false, false, chunk); err != nil {
			break
		}
	}
	if code, _ := c.readClose(); code != CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	waitClose(t, h, c.srv)
}

func TestBadFramesClose(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	cases := []struct {
		name  string
		write func(c *client) error
		code  ws.StatusCode
	}{
		{
			name:  "binary",
			write: func(c *client) error { return c.writeFrame(ws.OpBinary, true, false, []byte{1, 2}) },
			code:  CloseUnsupportedData,
		},
		{
			name:  "invalid UTF-8",
			write: func(c *client) error { return c.writeFrame(ws.OpText, true, false, []byte{'a', 0xff, 0xfe}) },
			code:  CloseInvalidPayload,
		},
		{
			name: "invalid UTF-8 across fragments",
			write: func(c *client) error {
				_ = c.writeFrame(ws.OpText, false, false, []byte{0xe2, 0x82})
				return c.writeFrame(ws.OpContinuation, true, false, []byte{'a'})
			},
			code: CloseInvalidPayload,
		},
		{
			name:  "control frame over 125 bytes",
			write: func(c *client) error { return c.writeFrame(ws.OpPing, true, false, make([]byte, 126)) },
			code:  CloseProtocolError,
		},
		{
			name:  "fragmented control frame",
			write: func(c *client) error { return c.writeFrame(ws.OpPing, false, false, []byte("x")) },
			code:  CloseProtocolError,
		},
		{
			name: "unmasked frame",
			write: func(c *client) error {
				return ws.WriteFrame(c.conn, ws.NewTextFrame([]byte("plain")))
			},
			code: CloseProtocolError,
		},
		{
			name:  "RSV1 without compression",
			write: func(c *client) error { return c.writeFrame(ws.OpText, true, true, []byte("x")) },
			code:  CloseProtocolError,
		},
		{
			name:  "continuation without a message",
			write: func(c *client) error { return c.writeFrame(ws.OpContinuation, true, false, []byte("x")) },
			code:  CloseProtocolError,
		},
		{
			name:  "reserved opcode",
			write: func(c *client) error { return c.writeFrame(ws.OpCode(3), true, false, nil) },
			code:  CloseProtocolError,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, url, h, false)
			if err := tc.write(c); err != nil {
				t.Fatal(err)
			}
			if code, _ := c.readClose(); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
			if ev := waitClose(t, h, c.srv); ev.code != tc.code {
				t.Fatalf("OnClose %v", ev)
			}
		})
	}
}

func TestCompressionNegotiatedOnlyWhenOffered(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)

	plain := dial(t, url, h, false)
	if len(plain.hs.Extensions) != 0 || plain.srv.Compressed() {
		t.Fatalf("extensions without an offer: %v", plain.hs.Extensions)
	}

	c := dial(t, url, h, true)
	if len(c.hs.Extensions) != 1 || !c.srv.Compressed() {
		t.Fatalf("permessage-deflate not negotiated: %v", c.hs.Extensions)
	}
	var p wsflate.Parameters
	if err := p.Parse(c.hs.Extensions[0]); err != nil || !p.ServerNoContextTakeover || !p.ClientNoContextTakeover {
		t.Fatalf("parameters %+v, %v", p, err)
	}
	msg := strings.Repeat(`{"type":"message_created","data":{"content":"hello"}}`, 50)
	f, err := wsflate.CompressFrame(ws.NewTextFrame([]byte(msg)))
	if err != nil {
		t.Fatal(err)
	}
	f = ws.MaskFrameInPlace(f)
	if err := ws.WriteFrame(c.conn, f); err != nil {
		t.Fatal(err)
	}
	got, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Header.Rsv1() || len(got.Payload) >= len(msg) {
		t.Fatalf("reply not compressed: rsv1=%v len=%d", got.Header.Rsv1(), len(got.Payload))
	}
	if got, err = wsflate.DecompressFrame(got); err != nil || string(got.Payload) != msg {
		t.Fatalf("round trip: %v", err)
	}
	// Uncompressed messages remain allowed on a compressed connection.
	c.sendText("small")
	if got := c.readText(); got != "small" {
		t.Fatalf("echo %q", got)
	}
	// The plain connection receives the same frame uncompressed.
	plain.sendText(msg)
	if f, err := plain.readFrame(); err != nil || f.Header.Rsv1() || string(f.Payload) != msg {
		t.Fatalf("plain echo: rsv1=%v %v", f.Header.Rsv1(), err)
	}
}

func TestCompressionBomb(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, true)
	bomb, err := wsflate.CompressFrame(ws.NewTextFrame(make([]byte, 50<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50 MiB compress to %d bytes", len(bomb.Payload))
	bomb = ws.MaskFrameInPlace(bomb)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := ws.WriteFrame(c.conn, bomb); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.readClose(); code != CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	waitClose(t, h, c.srv)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("the bomb made the process allocate %d bytes", grew)
	}
}

func TestSlowConsumerClosedOthersUnaffected(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.WriteQueue, cfg.SocketSendBuffer = 64, 8<<10
	s, url := startServer(t, cfg, h)
	slow := dial(t, url, h, false)
	_ = slow.conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(8 << 10)
	fast := dial(t, url, h, false)

	frame := NewTextFrame(bytes.Repeat([]byte("z"), 1024))
	probe := NewTextFrame([]byte("probe"))
	var err error
	sent := 0
	for err == nil && sent < 1_000_000 {
		err = slow.srv.Send(frame)
		sent++
		if sent%200 == 0 { // the fast connection is served promptly meanwhile
			start := time.Now()
			if e := fast.srv.Send(probe); e != nil {
				t.Fatalf("fast send: %v", e)
			}
			if got := fast.readText(); got != "probe" || time.Since(start) > time.Second {
				t.Fatalf("fast connection: %q after %v", got, time.Since(start))
			}
		}
	}
	if err != ErrSlowConsumer {
		t.Fatalf("after %d sends: %v, want ErrSlowConsumer", sent, err)
	}
	if ev := waitClose(t, h, slow.srv); ev.code != ClosePolicyViolation || ev.reason != ReasonTooSlow {
		t.Fatalf("OnClose %v", ev)
	}
	if err := slow.srv.Send(frame); err != ErrClosed {
		t.Fatalf("Send after close: %v", err)
	}
	start := time.Now()
	_ = fast.srv.Send(probe)
	if got := fast.readText(); got != "probe" || time.Since(start) > time.Second {
		t.Fatalf("fast connection after the slow one's close: %q", got)
	}
	if n := s.Stats().SlowConsumerCloses.Load(); n != 1 {
		t.Fatalf("SlowConsumerCloses = %d", n)
	}
	// At least the refused frame was dropped, at most what was sent.
	if n := s.Stats().FramesDropped.Load(); n == 0 || n > uint64(sent) {
		t.Fatalf("FramesDropped = %d after %d sends", n, sent)
	}
	// The slow socket is released after CloseTimeout at the latest.
	waitFor(t, 5*time.Second, "slow socket released", func() bool { return s.fds.Load() == 1 })
}

func TestIdleTimeout(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.PingInterval, cfg.IdleTimeout = 20*time.Millisecond, 150*time.Millisecond
	_, url := startServer(t, cfg, h)
	start := time.Now()
	c := dial(t, url, h, false)
	code, reason := c.readClose() // pings are read but never answered
	if code != CloseGoingAway || reason != ReasonIdleTimeout {
		t.Fatalf("close %d %q", code, reason)
	}
	if el := time.Since(start); el < cfg.IdleTimeout {
		t.Fatalf("closed after %v, before IdleTimeout", el)
	}
	waitClose(t, h, c.srv)
}

func TestIncompleteFrameTimeout(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.FrameTimeout = 100 * time.Millisecond
	_, url := startServer(t, cfg, h)
	c := dial(t, url, h, false)
	if _, err := c.conn.Write([]byte{0x81, 0x80 | 100, 1, 2, 3, 4, 'a'}); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.readClose(); code != ClosePolicyViolation || reason != ReasonFrameTimeout {
		t.Fatalf("close %d %q", code, reason)
	}
}

func TestPeerCloseEchoed(t *testing.T) {
	h := newRecorder(nil)
	s, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	if err := c.writeFrame(ws.OpClose, true, false, ws.NewCloseFrameBody(CloseNormal, "bye")); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.readClose(); code != CloseNormal || reason != "bye" {
		t.Fatalf("echo %d %q", code, reason)
	}
	if ev := waitClose(t, h, c.srv); ev.code != CloseNormal || ev.reason != "bye" {
		t.Fatalf("OnClose %v", ev)
	}
	// The server closes the TCP connection after the echo.
	if _, err := c.readFrame(); !isClosedErr(err) {
		t.Fatalf("after echo: %v", err)
	}
	waitFor(t, 5*time.Second, "socket released", func() bool { return s.fds.Load() == 0 })
}

func TestPeerVanishes(t *testing.T) {
	h := newRecorder(nil)
	s, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	c.conn.Close()
	if ev := waitClose(t, h, c.srv); ev.code != CloseAbnormal {
		t.Fatalf("OnClose %v", ev)
	}
	waitFor(t, 5*time.Second, "socket released", func() bool { return s.fds.Load() == 0 })
}

func TestShutdownClosesAll(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.CloseTimeout = 10 * time.Second // answered closes must not wait for it
	s, url := startServer(t, cfg, h)
	const n = 50
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, url, h, false)
	}
	var wg sync.WaitGroup
	codes := make(chan ws.StatusCode, n)
	for _, c := range clients {
		wg.Add(1)
		go func() { // a well-behaved client answers the close
			defer wg.Done()
			code, reason := c.readClose()
			codes <- code
			_ = c.writeFrame(ws.OpClose, true, false, ws.NewCloseFrameBody(code, reason))
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx, CloseServiceRestart, "restart"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Shutdown took %v although every client answered", el)
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != CloseServiceRestart {
			t.Fatalf("close code %d", code)
		}
	}
	if h.closeCount() != n || s.Len() != 0 || s.fds.Load() != 0 {
		t.Fatalf("after shutdown: %d OnClose, Len %d, fds %d", h.closeCount(), s.Len(), s.fds.Load())
	}
	// Shutdown is idempotent, and upgrades are refused afterwards.
	if err := s.Shutdown(ctx, CloseServiceRestart, ""); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after shutdown: %d", resp.StatusCode)
	}
}

func TestOnCloseExactlyOnce(t *testing.T) {
	h := newRecorder(echo)
	s, url := startServer(t, quickConfig(), h)
	const n = 100
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, url, h, false)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(4)
		go func() { defer wg.Done(); c.srv.Close(CloseNormal, "server A") }()
		go func() { defer wg.Done(); c.srv.Close(ClosePolicyViolation, "server B") }()
		go func() { defer wg.Done(); _ = c.srv.Send(NewTextFrame([]byte("x"))) }()
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_ = c.writeFrame(ws.OpClose, true, false, ws.NewCloseFrameBody(CloseNormal, "client"))
			}
			c.conn.Close()
		}()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "all closed", func() bool { return h.closeCount() >= n })
	waitFor(t, 5*time.Second, "all released", func() bool { return s.fds.Load() == 0 })
	for _, c := range clients {
		if evs := h.closeOf(c.srv); len(evs) != 1 {
			t.Fatalf("OnClose called %d times: %v", len(evs), evs)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestBytesBeforeHandshakeResponse(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	// A client that writes its first frame in the same packet as the request.
	c := dial(t, url, nil, false)
	c.conn.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	raw, err := (&net.Dialer{}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var req bytes.Buffer
	req.WriteString("GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	_ = ws.WriteFrame(&req, ws.MaskFrameInPlace(ws.NewTextFrame([]byte("early"))))
	if _, err := raw.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(raw)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := readFrame(br)
	if err != nil || string(f.Payload) != "early" {
		t.Fatalf("echo of early frame: %q %v", f.Payload, err)
	}
}

func TestShutdownDeadlineForcesClose(t *testing.T) {
	h := newRecorder(nil)
	cfg := quickConfig()
	cfg.CloseTimeout = time.Hour
	s, url := startServer(t, cfg, h)
	for range 10 {
		dial(t, url, h, false) // never reads, never answers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx, CloseServiceRestart, "restart"); err == nil {
		t.Fatal("Shutdown returned nil although the peers never answered")
	}
	if s.fds.Load() != 0 || h.closeCount() != 10 {
		t.Fatalf("after forced shutdown: fds %d, OnClose %d", s.fds.Load(), h.closeCount())
	}
}

func TestQueuedFramesPrecedeClose(t *testing.T) {
	h := newRecorder(nil)
	_, url := startServer(t, quickConfig(), h)
	c := dial(t, url, h, false)
	for _, m := range []string{"one", "two"} {
		if err := c.srv.Send(NewTextFrame([]byte(m))); err != nil {
			t.Fatal(err)
		}
	}
	c.srv.Close(4000, "done")
	if err := c.srv.Send(NewTextFrame([]byte("three"))); err != ErrClosed {
		t.Fatalf("Send after Close: %v", err)
	}
	if a, b := c.readText(), c.readText(); a != "one" || b != "two" {
		t.Fatalf("got %q %q", a, b)
	}
	if code, reason := c.readClose(); code != 4000 || reason != "done" {
		t.Fatalf("close %d %q", code, reason)
	}
	if ev := waitClose(t, h, c.srv); ev.code != 4000 {
		t.Fatalf("OnClose %v", ev)
	}
}

func TestCompressionOffers(t *testing.T) {
	h := newRecorder(echo)
	_, url := startServer(t, quickConfig(), h)
	cases := []struct {
		name   string
		params map[string]string
		want   bool
	}{
		{
			name:   "browser offer with client_max_window_bits",
			params: map[string]string{"client_max_window_bits": ""},
			want:   true,
		},
		{
			name:   "server window we cannot honour is declined",
			params: map[string]string{"server_max_window_bits": "10"},
			want:   false,
		},
		{
			name:   "malformed offer is declined, not refused",
			params: map[string]string{"no_such_parameter": ""},
			want:   false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := ws.Dialer{Extensions: []httphead.Option{httphead.NewOption("permessage-deflate", tc.params)}}
			conn, _, hs, err := d.Dial(context.Background(), url)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			c := <-h.upgrade
			if got := len(hs.Extensions) == 1; got != tc.want || c.Compressed() != tc.want {
				t.Fatalf("negotiated %v (%v), want %v", got, hs.Extensions, tc.want)
			}
		})
	}
}

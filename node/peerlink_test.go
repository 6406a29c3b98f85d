package node

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var peerTestKey = []byte("0123456789abcdef0123456789abcdef")

// peerRecorder is a PeerHandler that checks order: every frame's payload is
// (stream, seq), and seq must follow the previous seq of the same (peer, stream).
type peerRecorder struct {
	mu    sync.Mutex
	next  map[string]uint64 // "peer/stream" -> next expected seq
	count map[string]int    // frames per peer
	errs  []string
	ups   map[string]int
	downs map[string]int
	total atomic.Int64
	block chan struct{} // when set, HandlePeerFrame waits on it
}

func newPeerRecorder() *peerRecorder {
	return &peerRecorder{next: map[string]uint64{}, count: map[string]int{}, ups: map[string]int{}, downs: map[string]int{}}
}

func (r *peerRecorder) HandlePeerFrame(from string, kind uint8, payload []byte) {
	if r.block != nil {
		<-r.block
	}
	d := NewPeerDecoder(payload)
	stream, seq := d.Uvarint(), d.Uvarint()
	d.Bytes() // padding
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := d.Finish(); err != nil || kind != 7 {
		r.errs = append(r.errs, fmt.Sprintf("from %s: kind %d, %v", from, kind, err))
		return
	}
	key := fmt.Sprintf("%s/%d", from, stream)
	if want := r.next[key]; seq != want {
		r.errs = append(r.errs, fmt.Sprintf("from %s stream %d: seq %d, want %d", from, stream, seq, want))
	}
	r.next[key] = seq + 1
	r.count[from]++
	r.total.Add(1)
}

func (r *peerRecorder) PeerUp(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ups[name]++
}

func (r *peerRecorder) PeerDown(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downs[name]++
}

func (r *peerRecorder) get(f func(r *peerRecorder) int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f(r)
}

func (r *peerRecorder) checkNoErrors(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.errs {
		if i == 10 {
			t.Errorf("... %d more", len(r.errs)-10)
			break
		}
		t.Error(e)
	}
}

// testPayload encodes (stream, seq) and pad bytes of padding.
func testPayload(buf []byte, stream, seq uint64, pad int) []byte {
	e := PeerEncoder{B: buf[:0]}
	e.Uvarint(stream)
	e.Uvarint(seq)
	e.B = append(e.B, byte(pad)) // uvarint length < 128
	for range pad {
		e.B = append(e.B, 'x')
	}
	return e.B
}

var peerTestLog = slog.New(slog.DiscardHandler)

// startPeers starts Peers named name on a loopback port with short timings,
// closed at the end of the test.
func startPeers(t testing.TB, name string, h PeerHandler, opts ...func(*PeerConfig)) *Peers {
	t.Helper()
	cfg := PeerConfig{Name: name, Bind: "127.0.0.1:0", Key: peerTestKey, Handler: h, Log: peerTestLog,
		heartbeat: 100 * time.Millisecond, readTimeout: 2 * time.Second, handshakeTimeout: 2 * time.Second,
		backoffMin: 10 * time.Millisecond, backoffMax: 200 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := ListenPeers(cfg)
	if err != nil {
		t.Fatalf("ListenPeers(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// peerWaitFor polls cond until it holds, failing the test after timeout.
func peerWaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPeerLinksOrderAndCounts(t *testing.T) {
	const frames = 10000
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) {
			recs := make([]*peerRecorder, n)
			peers := make([]*Peers, n)
			for i := range n {
				recs[i] = newPeerRecorder()
				peers[i] = startPeers(t, fmt.Sprintf("n%d", i), recs[i])
			}
			var wg sync.WaitGroup
			for i := range n {
				for j := range n {
					if i == j {
						continue
					}
					wg.Go(func() {
						buf := make([]byte, 0, 128)
						for seq := range uint64(frames) {
							err := peers[i].Send(fmt.Sprintf("n%d", j), peers[j].Addr(), 7, testPayload(buf, 0, seq, int(seq%100)))
							if err != nil {
								t.Errorf("send n%d->n%d #%d: %v", i, j, seq, err)
								return
							}
						}
					})
				}
			}
			wg.Wait()
			want := int64(frames * (n - 1))
			for i := range n {
				peerWaitFor(t, 20*time.Second, "all frames", func() bool { return recs[i].total.Load() >= want })
			}
			for i := range n {
				recs[i].checkNoErrors(t)
				if got := recs[i].total.Load(); got != want {
					t.Errorf("n%d received %d frames, want %d", i, got, want)
				}
				// The writer counts a burst after its writev returns, which may be after
				// the reader has it all: poll.
				peerWaitFor(t, 5*time.Second, "outbound counters", func() bool { return peers[i].Stats().FramesOut == uint64(want) })
				s := peers[i].Stats()
				if s.FramesOut != uint64(want) || s.OutLinks != int64(n-1) || s.LinksUp != uint64(n-1) {
					t.Errorf("n%d stats %+v: want %d frames out on %d links", i, s, want, n-1)
				}
				peerWaitFor(t, 5*time.Second, "inbound counters", func() bool { return peers[i].Stats().FramesIn == uint64(want) })
				if s.HandshakeFailures+s.QueueResets+s.LinkDrops+s.DialFailures != 0 {
					t.Errorf("n%d stats %+v: want no failures", i, s)
				}
				if ups := recs[i].get(func(r *peerRecorder) int { return len(r.ups) }); ups != n-1 {
					t.Errorf("n%d: PeerUp for %d peers, want %d", i, ups, n-1)
				}
			}
		})
	}
}

func TestPeerLinksConcurrentSenders(t *testing.T) {
	const senders, each = 16, 1000
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb)
	var wg sync.WaitGroup
	for g := range uint64(senders) {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for seq := range uint64(each) {
				if err := a.Send("b", b.Addr(), 7, testPayload(buf, g, seq, 10)); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	peerWaitFor(t, 20*time.Second, "all frames", func() bool { return rb.total.Load() >= senders*each })
	rb.checkNoErrors(t)
	if got := rb.total.Load(); got != senders*each {
		t.Errorf("received %d frames, want %d", got, senders*each)
	}
}

func TestPeerLinksWrongKey(t *testing.T) {
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb, func(c *PeerConfig) { c.Key = []byte("another key of 32 bytes, really!") })
	buf := make([]byte, 0, 64)
	peerWaitFor(t, 10*time.Second, "handshake failures on both sides, in both directions", func() bool {
		_ = a.Send("b", b.Addr(), 7, testPayload(buf, 0, 0, 0))
		_ = b.Send("a", a.Addr(), 7, testPayload(buf, 0, 0, 0))
		// Each node fails once as the dialer and once as the acceptor.
		return a.Stats().HandshakeFailures >= 2 && b.Stats().HandshakeFailures >= 2
	})
	for name, r := range map[string]*peerRecorder{"a": ra, "b": rb} {
		if n := r.total.Load(); n != 0 {
			t.Errorf("%s received %d frames with a wrong key", name, n)
		}
		if ups := r.get(func(r *peerRecorder) int { return len(r.ups) }); ups != 0 {
			t.Errorf("%s: PeerUp called with a wrong key", name)
		}
	}
	for _, p := range []*Peers{a, b} {
		if s := p.Stats(); s.LinksUp != 0 || s.InLinks != 0 || s.FramesIn != 0 {
			t.Errorf("stats with a wrong key: %+v", s)
		}
	}
}

// expectClosedByServer reads c until the server closes it and fails on a timeout.
func expectClosedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open: %v", err)
	}
}

func TestPeerLinksRawClientsInjectNothing(t *testing.T) {
	rec := newPeerRecorder()
	p := startPeers(t, "b", rec)
	frame := AppendPeerFrame(nil, 7, testPayload(nil, 0, 0, 0))
	hello := func(name string) []byte {
		h, err := newPeerHello(name)
		if err != nil {
			t.Fatal(err)
		}
		return h.append(nil)
	}
	fakeProof := func(t *testing.T, c net.Conn, name string) {
		r := bufio.NewReader(c)
		if _, err := c.Write(hello(name)); err != nil {
			t.Fatal(err)
		}
		if _, err := readPeerHello(r); err != nil {
			t.Fatal(err)
		}
		if _, err := readPeerMAC(r); err != nil {
			t.Fatal(err)
		}
		proof := make([]byte, peerMACLen)
		_, _ = rand.Read(proof)
		_, _ = c.Write(append(proof, bytes.Repeat(frame, 100)...))
	}
	cases := map[string]func(t *testing.T, c net.Conn){
		"garbage": func(t *testing.T, c net.Conn) {
			junk := make([]byte, 4096)
			_, _ = rand.Read(junk)
			_, _ = c.Write(junk)
		},
		"frames without handshake":  func(t *testing.T, c net.Conn) { _, _ = c.Write(bytes.Repeat(frame, 100)) },
		"hello with a forged proof": func(t *testing.T, c net.Conn) { fakeProof(t, c, "a") },
		"hello claiming the node's own name": func(t *testing.T, c net.Conn) {
			_, _ = c.Write(append(hello("b"), bytes.Repeat(frame, 10)...))
		},
		"wrong version": func(t *testing.T, c net.Conn) {
			h := hello("a")
			h[7] = peerVersion + 1
			_, _ = c.Write(h)
		},
		"silence": func(t *testing.T, c net.Conn) {}, // the handshake deadline closes it
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			before := p.Stats().HandshakeFailures
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f(t, c)
			expectClosedByServer(t, c)
			peerWaitFor(t, 5*time.Second, "the failure counted", func() bool { return p.Stats().HandshakeFailures > before })
		})
	}
	if n := rec.total.Load(); n != 0 {
		t.Errorf("the handler got %d frames from raw clients", n)
	}
	if s := p.Stats(); s.FramesIn != 0 || s.InLinks != 0 {
		t.Errorf("stats after raw clients: %+v", s)
	}
}

func TestPeerLinksRefuseWrongPeerName(t *testing.T) {
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb)
	// Membership says "c" is at b's address (b took over c's old port, say).
	if err := a.Send("c", b.Addr(), 7, testPayload(nil, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	peerWaitFor(t, 5*time.Second, "a handshake failure", func() bool { return a.Stats().HandshakeFailures > 0 })
	if n := rb.total.Load(); n != 0 {
		t.Errorf("b received %d frames meant for c", n)
	}
	if err := a.Send("a", b.Addr(), 7, nil); !errors.Is(err, ErrPeerInvalid) {
		t.Errorf("Send to self: %v, want ErrPeerInvalid", err)
	}
}

func TestPeerLinksReconnectAfterRestart(t *testing.T) {
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb)
	if err := a.Send("b", b.Addr(), 7, testPayload(nil, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	peerWaitFor(t, 5*time.Second, "the first frame", func() bool { return rb.total.Load() == 1 })
	_ = b.Close()
	peerWaitFor(t, 5*time.Second, "PeerDown(b)", func() bool { return ra.get(func(r *peerRecorder) int { return r.downs["b"] }) > 0 })

	rb2 := newPeerRecorder()
	b2 := startPeers(t, "b", rb2)
	// The restarted b gets a new stream of seqs: the node would repair or resend.
	var sent uint64
	peerWaitFor(t, 10*time.Second, "a frame on the new link", func() bool {
		if err := a.Send("b", b2.Addr(), 7, testPayload(nil, 1, sent, 0)); err == nil {
			sent++
		}
		return rb2.total.Load() > 0
	})
	rb2.mu.Lock()
	rb2.next["a/1"] = sent // frames sent before the link came up may be lost: seqs restart below
	rb2.mu.Unlock()
	for seq := sent; seq < sent+100; seq++ {
		if err := a.Send("b", b2.Addr(), 7, testPayload(nil, 1, seq, 0)); err != nil {
			t.Fatal(err)
		}
	}
	peerWaitFor(t, 5*time.Second, "100 frames in order", func() bool { return rb2.get(func(r *peerRecorder) int { return r.count["a"] }) >= 101 })
	if s := a.Stats(); s.Reconnects < 1 || s.LinkDrops < 1 {
		t.Errorf("stats after a restart: %+v", s)
	}
}

func TestPeerLinksStalledReceiverResetsLink(t *testing.T) {
	ra, rb := newPeerRecorder(), newPeerRecorder()
	rb.block = make(chan struct{})
	a := startPeers(t, "a", ra, func(c *PeerConfig) { c.QueueBytes = 256 << 10 })
	b := startPeers(t, "b", rb)
	t.Cleanup(func() { close(rb.block) }) // runs before the Closes, which wait for the handler
	buf := make([]byte, 0, 20<<10)
	var slowest time.Duration
	var err error
	var sent uint64
	for sent = 0; sent < 100000; sent++ { // 1.6 GB: far more than any socket buffers
		start := time.Now()
		err = a.Send("b", b.Addr(), 7, testPayload(buf, 0, sent, 16<<10-10))
		slowest = max(slowest, time.Since(start))
		if err != nil {
			break
		}
		// Let the writer drain the queue as long as the sockets take it, so that the
		// reset comes from the stalled receiver, not from a burst outrunning the writer.
		for deadline := time.Now().Add(20 * time.Millisecond); a.Stats().FramesOut <= sent && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	if !errors.Is(err, ErrPeerQueueFull) {
		t.Fatalf("Send to a stalled peer: %v, want ErrPeerQueueFull", err)
	}
	if slowest > 250*time.Millisecond {
		t.Errorf("the slowest Send took %v: Send must not block on a stalled peer", slowest)
	}
	if out := a.Stats().FramesOut; out < 2*256/16 {
		t.Errorf("only %d frames reached the socket before the reset: the sockets never filled", out)
	}
	t.Logf("%d frames sent, %d written to the socket before the reset; slowest Send %v", sent, a.Stats().FramesOut, slowest)
	peerWaitFor(t, 5*time.Second, "PeerDown(b)", func() bool { return ra.get(func(r *peerRecorder) int { return r.downs["b"] }) > 0 })
	if s := a.Stats(); s.QueueResets != 1 {
		t.Errorf("stats: %+v, want one queue reset", s)
	}
}

// fakePeerListener accepts one connection, runs the acceptor's handshake as name
// and returns the connection to the test.
func fakePeerListener(t *testing.T, name string) (addr string, conns <-chan net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r := bufio.NewReader(c)
		if _, err := acceptHandshake(c, r, derivePeerKey(peerTestKey), name, time.Second); err != nil {
			t.Errorf("fake acceptor: %v", err)
			c.Close()
			return
		}
		ch <- c
	}()
	return ln.Addr().String(), ch
}

func TestPeerLinksDetectHalfDeadPeers(t *testing.T) {
	short := func(c *PeerConfig) { c.heartbeat, c.readTimeout = 50*time.Millisecond, 300*time.Millisecond }
	t.Run("acceptor goes silent", func(t *testing.T) {
		ra := newPeerRecorder()
		a := startPeers(t, "a", ra, short)
		addr, conns := fakePeerListener(t, "ghost")
		if err := a.Send("ghost", addr, 7, testPayload(nil, 0, 0, 0)); err != nil {
			t.Fatal(err)
		}
		c := <-conns
		defer c.Close()
		// a sends its frame, then heartbeats while idle; the ghost never answers.
		fr := newPeerFrameReader(bufio.NewReader(c), PeerMaxPayload)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if kind, _, err := fr.next(); err != nil || kind != 7 {
			t.Fatalf("first frame: kind %d, %v", kind, err)
		}
		if kind, _, err := fr.next(); err != nil || kind != PeerKindHeartbeat {
			t.Fatalf("then: kind %d, %v; want a heartbeat", kind, err)
		}
		peerWaitFor(t, 3*time.Second, "PeerDown(ghost)", func() bool { return ra.get(func(r *peerRecorder) int { return r.downs["ghost"] }) > 0 })
	})
	t.Run("dialer goes silent", func(t *testing.T) {
		b := startPeers(t, "b", newPeerRecorder(), short)
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		if err := dialHandshake(c, r, derivePeerKey(peerTestKey), "ghost", "b", time.Second); err != nil {
			t.Fatal(err)
		}
		peerWaitFor(t, 3*time.Second, "the inbound link", func() bool { return b.Stats().InLinks == 1 })
		start := time.Now()
		fr := newPeerFrameReader(r, PeerMaxPayload)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		heartbeats := 0
		for {
			kind, _, err := fr.next()
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("b did not close a silent inbound link: %v", err)
				}
				break
			}
			if kind != PeerKindHeartbeat {
				t.Fatalf("b sent kind %d on an inbound link", kind)
			}
			heartbeats++
		}
		if heartbeats == 0 || time.Since(start) > 3*time.Second {
			t.Errorf("%d heartbeats, closed after %v", heartbeats, time.Since(start))
		}
	})
}

func TestPeerLinksDrop(t *testing.T) {
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb)
	if err := a.Send("b", b.Addr(), 7, testPayload(nil, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	peerWaitFor(t, 5*time.Second, "the frame", func() bool { return rb.total.Load() == 1 })
	a.Drop("b")
	peerWaitFor(t, 5*time.Second, "both ends closed", func() bool { return a.Stats().OutLinks == 0 && b.Stats().InLinks == 0 })
	if n := ra.get(func(r *peerRecorder) int { return r.downs["b"] }); n != 0 {
		t.Errorf("PeerDown called %d times after Drop", n)
	}
	if err := a.Send("b", b.Addr(), 7, testPayload(nil, 0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	peerWaitFor(t, 5*time.Second, "a frame on a new link", func() bool { return rb.total.Load() == 2 })
	rb.checkNoErrors(t)
}

func TestPeerLinksCloseTwiceLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	ra, rb := newPeerRecorder(), newPeerRecorder()
	a := startPeers(t, "a", ra)
	b := startPeers(t, "b", rb)
	for seq := range uint64(100) {
		_ = a.Send("b", b.Addr(), 7, testPayload(nil, 0, seq, 0))
		_ = b.Send("a", a.Addr(), 7, testPayload(nil, 0, seq, 0))
	}
	peerWaitFor(t, 5*time.Second, "the frames", func() bool { return ra.total.Load() == 100 && rb.total.Load() == 100 })
	// A connection in handshake and one to a peer that is down must not hold Close up.
	stray, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	_ = a.Send("nobody", "127.0.0.1:1", 7, nil)
	for _, p := range []*Peers{a, b, a, b} {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := a.Send("b", b.Addr(), 7, nil); !errors.Is(err, ErrPeersClosed) {
		t.Errorf("Send after Close: %v, want ErrPeersClosed", err)
	}
	peerWaitFor(t, 5*time.Second, fmt.Sprintf("goroutines back to %d", base), func() bool { return runtime.NumGoroutine() <= base })
}

func TestPeerSendRefusesInvalidFrames(t *testing.T) {
	a := startPeers(t, "a", newPeerRecorder())
	for name, send := range map[string]func() error{
		"kind 0":     func() error { return a.Send("b", "127.0.0.1:1", PeerKindHeartbeat, nil) },
		"too large":  func() error { return a.Send("b", "127.0.0.1:1", 7, make([]byte, PeerMaxPayload+1)) },
		"to itself":  func() error { return a.Send("a", "127.0.0.1:1", 7, nil) },
		"no address": func() error { return a.Send("b", "", 7, nil) },
	} {
		if err := send(); !errors.Is(err, ErrPeerInvalid) {
			t.Errorf("%s: %v, want ErrPeerInvalid", name, err)
		}
	}
	for _, cfg := range []PeerConfig{
		{Name: "", Key: peerTestKey, Handler: newPeerRecorder()},
		{Name: "a", Key: []byte("short"), Handler: newPeerRecorder()},
		{Name: "a", Key: peerTestKey},
	} {
		cfg.Bind = "127.0.0.1:0"
		if p, err := ListenPeers(cfg); err == nil {
			_ = p.Close()
			t.Errorf("ListenPeers(%+v) accepted a bad config", cfg)
		}
	}
}

// TestPeerSendAllocs guards the hot path: a Send on a live link copies the frame
// into pooled chunks and allocates nothing, and nor do the writer and the reader.
func TestPeerSendAllocs(t *testing.T) {
	a := startPeers(t, "a", newPeerRecorder())
	b := startPeers(t, "b", &peerCountingHandler{})
	payload := make([]byte, 100)
	if err := a.Send("b", b.Addr(), 7, payload); err != nil {
		t.Fatal(err)
	}
	peerWaitFor(t, 5*time.Second, "the link", func() bool { return b.Stats().FramesIn == 1 })
	allocs := testing.AllocsPerRun(10000, func() {
		if err := a.Send("b", b.Addr(), 7, payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= 1 {
		t.Errorf("%.1f allocations per Send, want 0", allocs)
	}
}

// peerCountingHandler counts frames and bytes; it is the cheapest possible handler.
type peerCountingHandler struct {
	frames, bytes atomic.Int64
}

func (h *peerCountingHandler) HandlePeerFrame(_ string, _ uint8, payload []byte) {
	h.frames.Add(1)
	h.bytes.Add(int64(len(payload)))
}
func (h *peerCountingHandler) PeerUp(string)   {}
func (h *peerCountingHandler) PeerDown(string) {}

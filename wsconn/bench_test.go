package wsconn

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"
)

// benchConfig lets a benchmark run ahead of its readers without tripping the
// slow-consumer bound; the benchmarks keep at most fanoutWindow rounds in flight.
func benchConfig() Config {
	cfg := quickConfig()
	cfg.WriteQueue, cfg.WriteQueueBytes = 1024, 64<<20
	return cfg
}

const fanoutWindow = 64

// counter counts bytes received by client goroutines and wakes a waiter once the
// count reaches its target.
type counter struct {
	atomic.Int64
	target atomic.Int64
	wake   chan struct{}
}

func newCounter() *counter { return &counter{wake: make(chan struct{}, 1)} }

func (c *counter) add(n int) {
	if c.Add(int64(n)) >= c.target.Load() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// waitFor blocks until the count reaches at least v.
func (c *counter) waitFor(v int64) {
	c.target.Store(v)
	for c.Load() < v {
		<-c.wake
	}
}

// drain reads r until it fails, counting the bytes.
func (c *counter) drain(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		c.add(k)
		if err != nil {
			return
		}
	}
}

// dialDrained dials n clients whose goroutines read and count every byte.
func dialDrained(tb testing.TB, url string, h *recorder, n int, received *counter) []*Conn {
	tb.Helper()
	conns := make([]*Conn, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				if i >= n {
					mu.Unlock()
					return
				}
				c := dial(tb, url, h, false) // takes one upgrade off h.upgrade
				conns[i] = c.srv
				mu.Unlock()
				go received.drain(c.r)
			}
		}()
	}
	wg.Wait()
	return conns
}

// fanout sends f to every connection once per round, rounds times, keeping at most
// window rounds in flight, and waits until every byte was received. It
// blocks while it waits (a spinning sender would starve the runtime's netpoller
// and with it the in-process readers).
func fanout(tb testing.TB, conns []*Conn, f *Frame, rounds, window int, received *counter) {
	per := int64(f.Len()) * int64(len(conns))
	base := received.Load()
	for i := range rounds {
		for _, c := range conns {
			if err := c.Send(f); err != nil {
				tb.Fatalf("send: %v", err)
			}
		}
		if i+1 >= window {
			received.waitFor(base + int64(i+1-window+1)*per)
		}
	}
	received.waitFor(base + int64(rounds)*per)
}

// TestSendAllocatesNothing guards the hot path: queueing a pre-encoded frame, and
// the worker's writev of it, allocate nothing.
func TestSendAllocatesNothing(t *testing.T) {
	h := newRecorder(nil)
	_, url := startServer(t, benchConfig(), h)
	received := newCounter()
	conns := dialDrained(t, url, h, 100, received)
	f := NewTextFrame(bytes.Repeat([]byte("x"), 200))
	fanout(t, conns, f, 50, fanoutWindow, received) // warm the pools

	allocs := testing.AllocsPerRun(500, func() { // below the queue bound: AllocsPerRun runs on one P
		if err := conns[0].Send(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Send allocates %v times per call", allocs)
	}
	// Whole fan-out rounds, delivered, must not allocate per receiver either. The
	// process-wide count also sees the runtime's own allocations (a new M when a
	// system call blocks, sudogs), hence the best of three and the tolerance.
	best := 1.0
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fanout(t, conns, f, 100, fanoutWindow, received)
		runtime.ReadMemStats(&after)
		best = min(best, float64(after.Mallocs-before.Mallocs)/(100*100))
	}
	if best > 0.005 {
		t.Fatalf("%.4f allocations per delivery", best)
	}
	t.Logf("%.4f allocations per delivery", best)
}

// TestCompressedFanoutDeflatesOnce: a frame to many compressed connections is
// deflated once, so allocations do not grow with the receivers.
func TestCompressedFanoutDeflatesOnce(t *testing.T) {
	h := newRecorder(nil)
	_, url := startServer(t, benchConfig(), h)
	received := newCounter()
	conns := make([]*Conn, 50)
	for i := range conns {
		c := dial(t, url, h, true)
		conns[i] = c.srv
		go received.drain(c.r)
	}
	payload := bytes.Repeat([]byte(`{"type":"message_created","data":{}}`), 20)
	f := NewTextFrame(payload)
	for _, c := range conns {
		_ = c.Send(f)
	}
	z := f.bytesFor(true)
	if len(z) >= f.Len() || z[0]&0x40 == 0 {
		t.Fatalf("not compressed: %d of %d bytes", len(z), f.Len())
	}
	waitFor(t, 5e9, "compressed delivery", func() bool { return received.Load() >= int64(50*len(z)) })
	allocs := testing.AllocsPerRun(20, func() {
		f := NewTextFrame(payload)
		for _, c := range conns {
			_ = c.Send(f)
		}
		f.bytesFor(true)
	})
	if allocs > 10 {
		t.Fatalf("a compressed fan-out to %d connections allocates %v times", len(conns), allocs)
	}
}

// BenchmarkSendFlush measures Send plus the worker's flush to one connection.
func BenchmarkSendFlush(b *testing.B) {
	h := newRecorder(nil)
	_, url := startServer(b, benchConfig(), h)
	received := newCounter()
	conns := dialDrained(b, url, h, 1, received)
	f := NewTextFrame(bytes.Repeat([]byte("x"), 200))
	b.SetBytes(int64(f.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	fanout(b, conns, f, b.N, fanoutWindow, received)
}

// BenchmarkFanout sends one 256-byte frame to every connection of a room, on
// loopback, with the readers in the same process; deliveries/s counts frames
// received by clients per second. window=1 waits for every delivery of an event
// before the next (no batching); window=64 lets events queue up, as a busy room
// does, and shows the writev batching (frames/writev).
func BenchmarkFanout(b *testing.B) {
	for _, bc := range []struct{ n, window int }{{1000, 1}, {1000, fanoutWindow}, {5000, 1}, {5000, fanoutWindow}} {
		n := bc.n
		b.Run(fmt.Sprintf("conns=%d/window=%d", n, bc.window), func(b *testing.B) {
			h := newRecorder(nil)
			s, url := startServer(b, benchConfig(), h)
			received := newCounter()
			conns := dialDrained(b, url, h, n, received)
			f := NewTextFrame(bytes.Repeat([]byte("e"), 256-4))
			fanout(b, conns, f, 5, fanoutWindow, received)
			writes, frames := s.Stats().Writes.Load(), s.Stats().FramesOut.Load()
			b.ReportAllocs()
			b.ResetTimer()
			fanout(b, conns, f, b.N, bc.window, received)
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
			w, fr := s.Stats().Writes.Load()-writes, s.Stats().FramesOut.Load()-frames
			b.ReportMetric(float64(fr)/float64(max(w, 1)), "frames/writev")
		})
	}
}

// BenchmarkParse measures the read path's parsing of one masked text frame.
func BenchmarkParse(b *testing.B) {
	frame := clientStream(b, ws.NewTextFrame([]byte(`{"type":"send_message","id":"1","data":{"room_id":"0190","content":"hello there"}}`)))
	p := newParser(64<<10, newBufPool(maxWire(64<<10)+maxHeaderLen))
	var st readState
	buf := make([]byte, len(frame))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame)
		if err := p.feed(&st, buf, nopSink{}); err != nil {
			b.Fatal(err)
		}
	}
}

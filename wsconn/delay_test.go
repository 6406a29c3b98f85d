package wsconn

import (
	"fmt"
	"testing"
	"time"
)

// TestSendDelayedCoalesces: on a quiet connection a delayed frame leaves at once;
// the frames that follow within one WriteDelay leave together in one writev, in
// order, no later than about one delay; a Send meanwhile flushes what waits at
// once, still in order.
func TestSendDelayedCoalesces(t *testing.T) {
	const delay = 500 * time.Millisecond
	cfg := quickConfig()
	cfg.WriteDelay = delay
	h := newRecorder(nil)
	s, url := startServer(t, cfg, h)
	c := dial(t, url+"?id=a", h, false)

	start := time.Now()
	if err := c.srv.SendDelayed(NewTextFrame([]byte("first"))); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(); got != "first" {
		t.Fatalf("first frame = %q", got)
	}
	if waited := time.Since(start); waited >= delay {
		t.Fatalf("a quiet connection's frame waited %v", waited)
	}
	waitFor(t, 5*time.Second, "the first write counted", func() bool { return s.stats.Writes.Load() > 0 })
	before := s.stats.Writes.Load()
	start = time.Now()
	for i := range 5 {
		if err := c.srv.SendDelayed(NewTextFrame([]byte(fmt.Sprint("d", i)))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if got, want := c.readText(), fmt.Sprint("d", i); got != want {
			t.Fatalf("frame %d = %q, want %q", i, got, want)
		}
	}
	if waited := time.Since(start); waited > 4*delay {
		t.Fatalf("delayed frames took %v, want about %v at most", waited, delay)
	}
	// The counter moves just after the write returns: wait for it, then check that
	// one write carried all five.
	waitFor(t, 5*time.Second, "the write counted", func() bool { return s.stats.Writes.Load() > before })
	if n := s.stats.Writes.Load() - before; n != 1 {
		t.Fatalf("5 delayed frames took %d writes, want 1", n)
	}

	// A Send behind delayed frames flushes them with it, in order, at once.
	start = time.Now()
	if err := c.srv.SendDelayed(NewTextFrame([]byte("late"))); err != nil {
		t.Fatal(err)
	}
	if err := c.srv.Send(NewTextFrame([]byte("now"))); err != nil {
		t.Fatal(err)
	}
	if a, b := c.readText(), c.readText(); a != "late" || b != "now" {
		t.Fatalf("got %q then %q, want late then now", a, b)
	}
	if waited := time.Since(start); waited >= delay {
		t.Fatalf("Send waited %v for the delayed flush", waited)
	}
}

// TestSendBatchBurstOverFrameBound: one burst larger than the frame bound (presence
// after a restart, say) is queued and written whole, not taken for a slow reader.
func TestSendBatchBurstOverFrameBound(t *testing.T) {
	cfg := quickConfig()
	cfg.WriteQueue = 8
	h := newRecorder(nil)
	_, url := startServer(t, cfg, h)
	c := dial(t, url+"?id=a", h, false)
	burst := make([]*Frame, 3*cfg.WriteQueue)
	for i := range burst {
		burst[i] = NewTextFrame([]byte(fmt.Sprint("b", i)))
	}
	if err := c.srv.SendBatch(burst...); err != nil {
		t.Fatalf("burst of %d frames: %v", len(burst), err)
	}
	for i := range burst {
		if got, want := c.readText(), fmt.Sprint("b", i); got != want {
			t.Fatalf("frame %d = %q, want %q", i, got, want)
		}
	}
}

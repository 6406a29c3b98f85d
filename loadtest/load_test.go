package loadtest

import (
	"bufio"
	"context"
	"io"
	"testing"
	"time"
)

func TestPaceStopsAtLimitWithDueTimes(t *testing.T) {
	var dues []time.Time
	w := &worker{}
	start := time.Now()
	w.pace(context.Background(), 5000, 50, func(due time.Time) { dues = append(dues, due) })
	if len(dues) != 50 {
		t.Fatalf("%d fires, want the limit 50", len(dues))
	}
	for i, d := range dues {
		want := dues[0].Add(time.Duration(i) * 200 * time.Microsecond)
		if d.Sub(want).Abs() > time.Microsecond {
			t.Fatalf("fire %d due %v after the first, want %v", i, d.Sub(dues[0]), want.Sub(dues[0]))
		}
	}
	if dues[0].Before(start) {
		t.Fatal("due times start at the pacer's start")
	}
}

func TestPaceEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	(&worker{}).pace(ctx, 100, 0, func(time.Time) { n++ })
	// 100/s for 0.3 s; a loaded machine may wake late, but the pacer catches up.
	if n < 20 || n > 40 {
		t.Fatalf("%d fires in 0.3 s at 100/s", n)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	(&worker{}).pace(ctx2, 0, 0, func(time.Time) { t.Fatal("rate 0 must not fire") })
}

func TestSpawnCountsOverload(t *testing.T) {
	w := &worker{slots: make(chan struct{}, 1)}
	block := make(chan struct{})
	if !w.spawn(func() { <-block }) {
		t.Fatal("first spawn refused")
	}
	if w.spawn(func() {}) {
		t.Fatal("second spawn must find no slot")
	}
	close(block)
	w.inflight.Wait()
	if got := w.errs.snapshot()["generator:overloaded"]; got != 1 {
		t.Fatalf("overloaded counted %d, want 1", got)
	}
}

func TestChurnAndActionsExclude(t *testing.T) {
	c := &conn{}
	if c.acquire() || c.startChurn() {
		t.Fatal("a connection that has not joined takes no action")
	}
	c.joined.Store(true)
	if !c.acquire() {
		t.Fatal("acquire")
	}
	if c.startChurn() {
		t.Fatal("churn while an action is under way")
	}
	c.release()
	if !c.startChurn() || c.acquire() {
		t.Fatal("an action during churn")
	}
}

func TestReadCommands(t *testing.T) {
	r, w := io.Pipe()
	goCh, stopCh := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		readCommands(bufio.NewScanner(r), goCh, stopCh)
	}()
	for _, line := range []string{`{"cmd":"go"}`, `{"cmd":"go"}`, `garbage`, `{"cmd":"stop"}`, `{"cmd":"stop"}`, `{"cmd":"go"}`} {
		// A synchronous pipe: each write returns only once the line is read, so
		// this also checks that nothing stops reading after "stop".
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	<-goCh
	<-stopCh
	w.Close()
	<-done
}

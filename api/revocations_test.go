package api

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

func TestRevocationList(t *testing.T) {
	ctx := context.Background()
	store, err := persist.OpenEmbedded(ctx, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // ms added to the list's clock
	now := func() chat.Time { return chat.Now() + chat.Time(offset.Load()) }
	l := newRevocationList(store, now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	has := func(id string) bool {
		t.Helper()
		ok, err := l.has(ctx, id)
		must(err)
		return ok
	}

	// Revocations from before the node started are read at the first check.
	must(store.RevokeToken(ctx, "before", chat.Now().Add(time.Hour)))
	if !has("before") || has("never") {
		t.Fatal("first read: want before revoked, never not")
	}
	// A revocation recorded by another node whose broadcast never came is seen
	// within revocationsFresh.
	must(store.RevokeToken(ctx, "elsewhere", chat.Now().Add(time.Hour)))
	deadline := time.Now().Add(5 * revocationsFresh)
	for !has("elsewhere") {
		if time.Now().After(deadline) {
			t.Fatal("a revocation in the store was not read within 5 x revocationsFresh")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A logout on this node, or its broadcast, counts at once.
	l.add("here", chat.Now().Add(time.Minute))
	l.add("old-node", 0)
	if !has("here") || !has("old-node") {
		t.Fatal("added revocations not seen at once")
	}
	// Expired revocations leave the copy at a sweep.
	offset.Store(2 * time.Hour.Milliseconds())
	l.readAt.Store(1) // stale: the next check reads and sweeps
	if has("here") || has("before") {
		t.Error("expired revocations kept after a sweep")
	}
	if !has("old-node") {
		t.Error("a revocation without expiry must last a token's lifetime")
	}
	// The check fails when the store cannot be read, as the per-request read did.
	store.Close()
	l.readAt.Store(1)
	if _, err := l.has(ctx, "x"); err == nil {
		t.Error("a check against a stale copy with the store closed succeeded")
	}
}

// slowTokens is a real store whose revocation reads are counted and held until
// released: the list's waiting checks must share one read.
type slowTokens struct {
	persist.Store
	reads   atomic.Int32
	release chan struct{}
}

func (s *slowTokens) RevokedTokens(ctx context.Context, since chat.Time) ([]persist.RevokedToken, error) {
	s.reads.Add(1)
	<-s.release
	return s.Store.RevokedTokens(ctx, since)
}

func TestRevocationListOneReadForWaiters(t *testing.T) {
	ctx := context.Background()
	store, err := persist.OpenEmbedded(ctx, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	slow := &slowTokens{Store: store, release: make(chan struct{})}
	l := newRevocationList(slow, chat.Now)
	const checks = 20
	errs := make(chan error, checks)
	for range checks {
		go func() {
			_, err := l.has(ctx, "x")
			errs <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for slow.reads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(slow.release) // every read from now on returns at once
	for range checks {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := slow.reads.Load(); n != 1 {
		t.Fatalf("%d concurrent checks of a stale list made %d store reads, want 1", checks, n)
	}
	// A check that gives up while waiting for the read answers with its context's error.
	l.readAt.Store(1)
	l.reading <- struct{}{} // a read in progress
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.has(cctx, "x"); err == nil {
		t.Fatal("a cancelled check waiting for the read succeeded")
	}
	<-l.reading
}

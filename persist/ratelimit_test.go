package persist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file holds the behaviour every RateLimiter must show, run against each
// implementation on the real clock (Redis reads its own, which no test can move).
// Waits are bounded and each timed scenario checks afterwards that the machine kept
// to its schedule, retrying on a fresh key when it did not, so a loaded CI machine
// gives a retry rather than a false failure. The exact arithmetic of the window is
// pinned on an injected clock in ratelimit_memory_test.go.

// rateLimiterSuite runs the shared behaviour against the limiter l. Keys are unique
// per run, so the suite may share a Redis with other runs.
func rateLimiterSuite(t *testing.T, l RateLimiter) {
	prefix := fmt.Sprintf("test:%d:", time.Now().UnixNano())
	key := func(t *testing.T) string { return prefix + t.Name() }

	t.Run("LimitThenRefused", func(t *testing.T) {
		t.Parallel()
		testLimitThenRefused(t, l, key(t))
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		t.Parallel()
		testKeysIndependent(t, l, key(t))
	})
	t.Run("InvalidArguments", func(t *testing.T) {
		t.Parallel()
		testInvalidArguments(t, l, key(t))
	})
	t.Run("ConcurrentNeverOverLimit", func(t *testing.T) {
		t.Parallel()
		testConcurrentNeverOverLimit(t, l, key(t))
	})
	t.Run("RefusedDoNotCount", func(t *testing.T) {
		t.Parallel()
		retryTimed(t, key(t), func(k string) (bool, error) { return refusedDoNotCount(l, k) })
	})
	t.Run("SlidingNoFixedEdge", func(t *testing.T) {
		t.Parallel()
		retryTimed(t, key(t), func(k string) (bool, error) { return slidingNoFixedEdge(l, k) })
	})
	t.Run("RetryAfterIsEnough", func(t *testing.T) {
		t.Parallel()
		testRetryAfterIsEnough(t, l, key(t))
	})
	t.Run("RefundFreesASlot", func(t *testing.T) {
		t.Parallel()
		testRefundFreesASlot(t, l, key(t))
	})
}

// testRefundFreesASlot: a refunded event no longer counts, and refunding a key with
// nothing counted neither fails nor lends a slot in advance.
func testRefundFreesASlot(t *testing.T, l RateLimiter, key string) {
	ctx := context.Background()
	const limit, window = 3, time.Minute
	if err := l.Refund(ctx, key); err != nil {
		t.Fatalf("refund of an unknown key: %v", err)
	}
	for i := range limit {
		if ok, _, err := l.Allow(ctx, key, limit, window); err != nil || !ok {
			t.Fatalf("attempt %d: ok=%v err=%v, want allowed", i+1, ok, err)
		}
	}
	if ok, _, _ := l.Allow(ctx, key, limit, window); ok {
		t.Fatal("attempt over the limit allowed (an early refund lent a slot)")
	}
	if err := l.Refund(ctx, key); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if ok, _, err := l.Allow(ctx, key, limit, window); err != nil || !ok {
		t.Fatalf("after a refund: ok=%v err=%v, want allowed", ok, err)
	}
	if ok, _, _ := l.Allow(ctx, key, limit, window); ok {
		t.Fatal("a refund freed more than one slot")
	}
}

func testLimitThenRefused(t *testing.T, l RateLimiter, key string) {
	ctx := context.Background()
	const limit, window = 10, 10 * time.Second
	start := time.Now()
	for i := range limit {
		ok, retry, err := l.Allow(ctx, key, limit, window)
		if err != nil || !ok || retry != 0 {
			t.Fatalf("attempt %d: ok=%v retry=%v err=%v, want allowed", i+1, ok, retry, err)
		}
	}
	for i := range 3 {
		ok, retry, err := l.Allow(ctx, key, limit, window)
		if err != nil || ok {
			t.Fatalf("attempt %d: ok=%v err=%v, want refused", limit+1+i, ok, err)
		}
		// The oldest event is at most time.Since(start) old, so a slot frees in
		// window minus that (Redis counts whole microseconds); never more than a window.
		if low := window - time.Since(start) - time.Millisecond; retry < low || retry > window {
			t.Fatalf("retryAfter %v, want in [%v, %v]", retry, low, window)
		}
	}
}

func testKeysIndependent(t *testing.T, l RateLimiter, key string) {
	ctx := context.Background()
	const window = time.Minute
	mustAllow(t, l, key+":a", 2, window, 2)
	mustRefuse(t, l, key+":a", 2, window)
	mustAllow(t, l, key+":b", 2, window, 2)
	mustRefuse(t, l, key+":b", 2, window)
	if ok, _, err := l.Allow(ctx, key+":c", 1, window); !ok || err != nil {
		t.Fatalf("fresh key: ok=%v err=%v", ok, err)
	}
}

func testInvalidArguments(t *testing.T, l RateLimiter, key string) {
	ctx := context.Background()
	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, -time.Second}} {
		ok, _, err := l.Allow(ctx, key, tc.limit, tc.window)
		if err == nil || ok {
			t.Errorf("Allow(limit=%d, window=%v) = ok %v, err %v; want an error", tc.limit, tc.window, ok, err)
		}
	}
	// A cancelled context counts nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if ok, _, err := l.Allow(cctx, key, 1, time.Minute); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: ok=%v err=%v, want context.Canceled", ok, err)
	}
	mustAllow(t, l, key, 1, time.Minute, 1)
}

// testConcurrentNeverOverLimit hammers a few keys from many goroutines: each key
// lets through exactly limit attempts, however they interleave.
func testConcurrentNeverOverLimit(t *testing.T, l RateLimiter, key string) {
	ctx := context.Background()
	const (
		limit      = 10
		keys       = 3
		goroutines = 24
		attempts   = 15 // per goroutine per key: 24*15 = 360 tries for 10 slots
	)
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range attempts * keys {
				k := (g + i) % keys
				ok, retry, err := l.Allow(ctx, fmt.Sprintf("%s:%d", key, k), limit, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					allowed[k].Add(1)
				} else if retry <= 0 || retry > time.Minute {
					errs <- fmt.Errorf("refused with retryAfter %v", retry)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range allowed {
		if n := allowed[k].Load(); n != limit {
			t.Errorf("key %d: %d allowed, want exactly %d", k, n, limit)
		}
	}
}

// testRetryAfterIsEnough: waiting the retryAfter of a refusal is enough to be let in.
func testRetryAfterIsEnough(t *testing.T, l RateLimiter, key string) {
	const limit, window = 2, 300 * time.Millisecond
	mustAllow(t, l, key, limit, window, limit)
	retry := mustRefuse(t, l, key, limit, window)
	time.Sleep(retry + 5*time.Millisecond)
	mustAllow(t, l, key, limit, window, 1)
}

// refusedDoNotCount fills the window, makes refused attempts in its middle, and
// checks that once the window has passed the filling events, the whole limit is
// available again: had the refused attempts counted, they would still be in it.
func refusedDoNotCount(l RateLimiter, key string) (onTime bool, err error) {
	ctx := context.Background()
	const limit, window = 3, time.Second
	if err := allowN(ctx, l, key, limit, window, limit); err != nil {
		return true, err
	}
	filled := time.Now() // every counted event happened before this
	time.Sleep(window / 2)
	spamStart := time.Now()
	for range 5 {
		ok, _, err := l.Allow(ctx, key, limit, window)
		if ok && time.Since(filled) >= window {
			return false, nil // stalled until the filling events left: proves nothing
		}
		if err != nil || ok {
			return true, fmt.Errorf("attempt in mid-window: ok=%v err=%v, want refused", ok, err)
		}
	}
	time.Sleep(time.Until(filled.Add(window + 50*time.Millisecond)))
	err = allowN(ctx, l, key, limit, window, limit)
	// Had the refused attempts counted, they would be in the window until
	// spamStart+window: the check proves something only if it ran before that.
	if time.Now().After(spamStart.Add(window)) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("after the window passed the filling events: %w", err)
	}
	if ok, _, err := l.Allow(ctx, key, limit, window); err != nil || ok {
		return true, fmt.Errorf("attempt over the limit: ok=%v err=%v, want refused", ok, err)
	}
	return true, nil
}

// slidingNoFixedEdge spends half the limit at the start of a window and half in its
// middle; one window after the start, only the first half has freed. A fixed-window
// counter would let the whole limit through again there.
func slidingNoFixedEdge(l RateLimiter, key string) (onTime bool, err error) {
	ctx := context.Background()
	const limit, window = 4, time.Second
	if err := allowN(ctx, l, key, limit, window, limit/2); err != nil {
		return true, err
	}
	first := time.Now()
	time.Sleep(window / 2)
	second := time.Now() // the second half happens after this...
	if err := allowN(ctx, l, key, limit, window, limit/2); err != nil {
		return true, err
	}
	secondDone := time.Now() // ...and before this
	ok, _, err := l.Allow(ctx, key, limit, window)
	if ok && time.Since(first) >= window {
		return false, nil // stalled until the first half left: proves nothing
	}
	if err != nil || ok {
		return true, fmt.Errorf("attempt over the limit mid-window: ok=%v err=%v, want refused", ok, err)
	}
	time.Sleep(time.Until(first.Add(window + 50*time.Millisecond)))
	err = allowN(ctx, l, key, limit, window, limit/2)
	before := time.Now()
	ok, retry, rerr := l.Allow(ctx, key, limit, window)
	after := time.Now()
	if after.After(second.Add(window)) {
		return false, nil // the second half may have left the window: proves nothing
	}
	if err != nil {
		return true, fmt.Errorf("after the first half left the window: %w", err)
	}
	if rerr != nil || ok {
		return true, fmt.Errorf("attempt while the second half is in the window: ok=%v err=%v, want refused", ok, rerr)
	}
	// The slot frees when the oldest of the second half leaves the window.
	low := second.Add(window).Sub(after) - time.Millisecond
	high := secondDone.Add(window).Sub(before) + time.Millisecond
	if retry < low || retry > high {
		return true, fmt.Errorf("retryAfter %v, want in [%v, %v] (when the second half leaves)", retry, low, high)
	}
	return true, nil
}

// retryTimed runs a timed scenario up to three times, each on a fresh key, until one
// run kept its schedule; a broken promise fails at once.
func retryTimed(t *testing.T, key string, run func(key string) (onTime bool, err error)) {
	t.Helper()
	for try := range 3 {
		onTime, err := run(fmt.Sprintf("%s:%d", key, try))
		if err != nil {
			t.Fatal(err)
		}
		if onTime {
			return
		}
		t.Logf("try %d ran late (machine busy); again", try+1)
	}
	t.Fatal("three tries ran late: the machine is too busy for this timed test")
}

func allowN(ctx context.Context, l RateLimiter, key string, limit int, window time.Duration, n int) error {
	for i := range n {
		ok, retry, err := l.Allow(ctx, key, limit, window)
		if err != nil {
			return err
		}
		if !ok || retry != 0 {
			return fmt.Errorf("attempt %d of %d: ok=%v retryAfter=%v, want allowed", i+1, n, ok, retry)
		}
	}
	return nil
}

func mustAllow(t *testing.T, l RateLimiter, key string, limit int, window time.Duration, n int) {
	t.Helper()
	if err := allowN(context.Background(), l, key, limit, window, n); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

func mustRefuse(t *testing.T, l RateLimiter, key string, limit int, window time.Duration) time.Duration {
	t.Helper()
	ok, retry, err := l.Allow(context.Background(), key, limit, window)
	if err != nil || ok {
		t.Fatalf("%s: ok=%v err=%v, want refused", key, ok, err)
	}
	if retry <= 0 || retry > window {
		t.Fatalf("%s: retryAfter %v, want in (0, %v]", key, retry, window)
	}
	return retry
}

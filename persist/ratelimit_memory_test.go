package persist

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"testing"
	"time"
)

func TestMemoryRateLimiter(t *testing.T) {
	rateLimiterSuite(t, NewMemoryRateLimiter())
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to start+d (never backwards).
func (c *fakeClock) Set(start time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at := start.Add(d); at.After(c.now) {
		c.now = at
	}
}

// rlStep is one call at a moment of the injected clock and what it must answer.
type rlStep struct {
	at    time.Duration // since the start of the case
	key   string        // "u" when empty
	limit int           // 10 when zero
	ok    bool
	retry time.Duration // when refused
}

// times repeats a step n times (n events at the same instant).
func times(n int, s rlStep) []rlStep {
	out := make([]rlStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func steps(groups ...[]rlStep) []rlStep {
	var out []rlStep
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(s rlStep) []rlStep { return []rlStep{s} }

// TestMemoryRateLimiterExact pins the sliding-window arithmetic on an injected clock,
// with the contract's numbers: 10 per 10 s.
func TestMemoryRateLimiterExact(t *testing.T) {
	const s = time.Second
	// spread counts one event per second from 0 s to 9 s.
	spread := func() []rlStep {
		var out []rlStep
		for i := range 10 {
			out = append(out, rlStep{at: time.Duration(i) * s, ok: true})
		}
		return out
	}
	cases := []struct {
		name  string
		steps []rlStep
	}{
		{"ten allowed, eleventh refused for a whole window", steps(
			times(10, rlStep{ok: true}),
			one(rlStep{ok: false, retry: 10 * s}),
			one(rlStep{at: 3 * s, ok: false, retry: 7 * s}),
		)},
		{"one slot frees when the oldest leaves the window", steps(
			spread(),
			one(rlStep{at: 9*s + 500*time.Millisecond, ok: false, retry: 500 * time.Millisecond}),
			one(rlStep{at: 10 * s, ok: true}), // the event at 0 s leaves at exactly 10 s
			one(rlStep{at: 10 * s, ok: false, retry: 1 * s}),
			one(rlStep{at: 11 * s, ok: true}),
		)},
		{"an event counts until exactly one window later", steps(
			times(10, rlStep{ok: true}),
			one(rlStep{at: 10*s - time.Nanosecond, ok: false, retry: time.Nanosecond}),
			times(10, rlStep{at: 10 * s, ok: true}),
			one(rlStep{at: 10 * s, ok: false, retry: 10 * s}),
		)},
		{"refused attempts do not count", steps(
			times(10, rlStep{ok: true}),
			times(50, rlStep{at: 5 * s, ok: false, retry: 5 * s}),
			times(50, rlStep{at: 9 * s, ok: false, retry: 1 * s}),
			times(10, rlStep{at: 10 * s, ok: true}),
		)},
		{"no fixed-window edge", steps(
			times(10, rlStep{at: 9*s + 900*time.Millisecond, ok: true}),
			// A counter reset at 10 s would let ten more through here.
			one(rlStep{at: 10*s + 100*time.Millisecond, ok: false, retry: 9*s + 800*time.Millisecond}),
			times(10, rlStep{at: 19*s + 900*time.Millisecond, ok: true}),
		)},
		{"half the window, half the limit", steps(
			times(5, rlStep{ok: true}),
			times(5, rlStep{at: 5 * s, ok: true}),
			one(rlStep{at: 5 * s, ok: false, retry: 5 * s}),
			times(5, rlStep{at: 10 * s, ok: true}),
			one(rlStep{at: 10 * s, ok: false, retry: 5 * s}),
		)},
		{"keys are independent", steps(
			times(10, rlStep{key: "alice", ok: true}),
			one(rlStep{key: "alice", ok: false, retry: 10 * s}),
			times(10, rlStep{key: "bob", ok: true}),
			one(rlStep{key: "bob", ok: false, retry: 10 * s}),
		)},
		{"a lowered limit waits for enough events to leave", steps(
			spread(),
			// Ten events at 0..9 s; under a limit of 5 the one at 5 s must leave.
			one(rlStep{at: 9 * s, limit: 5, ok: false, retry: 6 * s}),
			one(rlStep{at: 14 * s, limit: 5, ok: false, retry: 1 * s}),
			one(rlStep{at: 15 * s, limit: 5, ok: true}),
		)},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			l := newMemoryRateLimiter(clock.Now)
			for i, st := range tc.steps {
				clock.Set(start, st.at)
				key, limit := st.key, st.limit
				if key == "" {
					key = "u"
				}
				if limit == 0 {
					limit = 10
				}
				ok, retry, err := l.Allow(ctx, key, limit, 10*time.Second)
				if err != nil {
					t.Fatalf("step %d (at %v): %v", i, st.at, err)
				}
				want := time.Duration(0)
				if !st.ok {
					want = st.retry
				}
				if ok != st.ok || retry != want {
					t.Fatalf("step %d (at %v, key %s): ok=%v retryAfter=%v, want ok=%v retryAfter=%v",
						i, st.at, key, ok, retry, st.ok, want)
				}
			}
		})
	}
}

// TestMemoryRateLimiterBoundedMemory checks that keys whose events all left the
// window are swept, that live keys survive the sweep with their counts, and that a
// shard's map is rebuilt once it has shrunk far below its peak.
func TestMemoryRateLimiterBoundedMemory(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	start := clock.Now()
	l := newMemoryRateLimiter(clock.Now)
	const window = 10 * time.Second

	const dead = 100_000
	for i := range dead {
		if ok, _, err := l.Allow(ctx, fmt.Sprintf("dead:%d", i), 10, window); !ok || err != nil {
			t.Fatalf("dead:%d: ok=%v err=%v", i, ok, err)
		}
	}
	clock.Set(start, memSweepEvery-5*time.Second)
	for range 10 {
		mustAllowAt(t, l, "live", true)
	}
	if n := l.keyCount(); n != dead+1 {
		t.Fatalf("%d keys before the sweep, want %d", n, dead+1)
	}

	// Past the sweep time, touch every shard once: each sweeps as it is touched.
	clock.Set(start, memSweepEvery+time.Second)
	mustAllowAt(t, l, "live", false) // swept in its shard, but still full
	touched := oneKeyPerShard(l, "fresh:")
	for _, k := range touched {
		mustAllowAt(t, l, k, true)
	}
	if n := l.keyCount(); n != len(touched)+1 {
		t.Fatalf("%d keys after the sweep, want %d (the fresh ones and live)", n, len(touched)+1)
	}
	for i := range l.shards {
		if p := l.shards[i].peak; p > 4 {
			t.Errorf("shard %d: peak %d after the sweep, want the map rebuilt small", i, p)
		}
	}
}

func mustAllowAt(t *testing.T, l RateLimiter, key string, want bool) {
	t.Helper()
	ok, _, err := l.Allow(context.Background(), key, 10, 10*time.Second)
	if err != nil || ok != want {
		t.Fatalf("%s: ok=%v err=%v, want ok=%v", key, ok, err, want)
	}
}

// oneKeyPerShard returns a key for each shard of l, each starting with prefix.
func oneKeyPerShard(l *memoryRateLimiter, prefix string) []string {
	keys := make([]string, memShardCount)
	found := 0
	for i := 0; found < memShardCount; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if s := maphash.String(l.seed, k) % memShardCount; keys[s] == "" {
			keys[s] = k
			found++
		}
	}
	return keys
}

// TestMemoryRateLimiterAllocs guards the hot path: counting for a known key
// allocates nothing.
func TestMemoryRateLimiterAllocs(t *testing.T) {
	l := NewMemoryRateLimiter()
	ctx := context.Background()
	key := "user:0196b8f4-5b7a-7c1e-9f00-000000000001"
	allocs := testing.AllocsPerRun(1000, func() {
		_, _, _ = l.Allow(ctx, key, 10, 10*time.Second)
	})
	if allocs != 0 {
		t.Fatalf("Allow allocates %.1f times per call, want 0", allocs)
	}
}

func BenchmarkMemoryRateLimiter(b *testing.B) {
	l := NewMemoryRateLimiter()
	ctx := context.Background()
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user:%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _, _ = l.Allow(ctx, keys[i%len(keys)], 10, 10*time.Second)
			i += 7
		}
	})
}

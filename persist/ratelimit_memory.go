package persist

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// memShardCount is the number of independently locked shards of the memory
	// limiter: enough that concurrent senders rarely meet on a lock, few enough that
	// the fixed array stays small.
	memShardCount = 64
	// memSweepEvery is how often a shard drops the keys whose counted events have
	// all left their window, so memory follows the keys active in the last window
	// (plus at most this long), not every key ever seen.
	memSweepEvery = time.Minute
	// memShrinkMin is the peak key count of a shard below which an emptied map is
	// kept as is; above it, a map that fell to a quarter of its peak is rebuilt,
	// because Go maps never give back the memory of deleted entries.
	memShrinkMin = 1024
	// memInitialCap caps the first allocation of a key's event log, so that a huge
	// limit does not allocate its whole log up front.
	memInitialCap = 16
)

// NewMemoryRateLimiter returns a RateLimiter that keeps its counters in this
// process. It is the embedded default: exact for one node, but each node of a
// cluster would count on its own, so clusters use NewRedisRateLimiter.
//
// It keeps, per key, the times of the counted events still inside their window (at
// most limit of them) on the monotonic clock, so wall-clock steps change nothing.
// Keys hash (maphash) into a fixed array of shards, each with its own lock; each
// shard sweeps out dead keys about once a minute, during a call, so no goroutine is
// left behind and there is nothing to close.
func NewMemoryRateLimiter() RateLimiter { return newMemoryRateLimiter(time.Now) }

// newMemoryRateLimiter takes the clock, so tests can move time by hand. clock must
// never go backwards (time.Now's monotonic reading does not).
func newMemoryRateLimiter(clock func() time.Time) *memoryRateLimiter {
	l := &memoryRateLimiter{seed: maphash.MakeSeed(), clock: clock, base: clock()}
	for i := range l.shards {
		l.shards[i].keys = make(map[string]*memLog)
		l.shards[i].nextSweep = memSweepEvery
	}
	return l
}

type memoryRateLimiter struct {
	seed   maphash.Seed
	clock  func() time.Time
	base   time.Time // clock() at creation; event times are offsets from it
	shards [memShardCount]memShard
}

// memShard is one lock's worth of keys. mu guards every field and every memLog in
// keys.
type memShard struct {
	mu        sync.Mutex
	keys      map[string]*memLog
	nextSweep time.Duration // offset from base of the next sweep
	peak      int           // most keys held since the map was last rebuilt
}

// memLog is one key's sliding log.
type memLog struct {
	// times are the offsets from base of the counted events still inside the window,
	// oldest first.
	times []time.Duration
	// window is the window of the key's latest call; the sweep uses it to tell a
	// dead key from a live one.
	window time.Duration
}

// Allow implements RateLimiter.
func (l *memoryRateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := checkLimitArgs(limit, window); err != nil {
		return false, 0, err
	}
	if err := ctx.Err(); err != nil {
		return false, 0, fmt.Errorf("persist: rate limit: %w", err)
	}
	now := l.clock().Sub(l.base)
	s := &l.shards[maphash.String(l.seed, key)%memShardCount]

	s.mu.Lock()
	defer s.mu.Unlock()
	if now >= s.nextSweep {
		s.sweepLocked(now)
	}
	e := s.keys[key]
	if e == nil {
		e = &memLog{times: make([]time.Duration, 0, min(limit, memInitialCap))}
		s.keys[key] = e
		s.peak = max(s.peak, len(s.keys))
	}
	e.window = window
	e.prune(now)
	if n := len(e.times); n >= limit {
		// The (n-limit)th oldest event is the one whose expiry brings the count
		// below limit (n > limit only when a caller lowered the limit).
		return false, clampRetry(e.times[n-limit]+window-now, window), nil
	}
	e.times = append(e.times, now)
	return true, 0, nil
}

// Refund implements RateLimiter.
func (l *memoryRateLimiter) Refund(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("persist: rate limit refund: %w", err)
	}
	s := &l.shards[maphash.String(l.seed, key)%memShardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.keys[key]; e != nil && len(e.times) > 0 {
		e.times = e.times[:len(e.times)-1]
	}
	return nil
}

// prune drops the events that left the window: an event at t counts while
// now < t+window.
func (e *memLog) prune(now time.Duration) {
	cut := now - e.window
	i := 0
	for i < len(e.times) && e.times[i] <= cut {
		i++
	}
	if i > 0 {
		e.times = e.times[:copy(e.times, e.times[i:])]
	}
}

// sweepLocked deletes the keys whose newest event left its window (such a key
// behaves exactly like an absent one) and rebuilds the map when it has shrunk well
// below its peak.
func (s *memShard) sweepLocked(now time.Duration) {
	s.nextSweep = now + memSweepEvery
	for k, e := range s.keys {
		if n := len(e.times); n == 0 || e.times[n-1] <= now-e.window {
			delete(s.keys, k)
		}
	}
	if s.peak >= memShrinkMin && len(s.keys) <= s.peak/4 {
		m := make(map[string]*memLog, len(s.keys))
		for k, e := range s.keys {
			m[k] = e
		}
		s.keys = m
		s.peak = len(m)
	}
}

// keyCount returns how many keys the limiter holds (tests check the bound).
func (l *memoryRateLimiter) keyCount() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.keys)
		s.mu.Unlock()
	}
	return n
}

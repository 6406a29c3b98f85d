package persist

import (
	"context"
	"fmt"
	"time"
)

// RateLimiter counts events per key in a sliding window. The API uses one limiter,
// keyed by user, for every send (REST and WebSocket alike), so that the contract's
// "10 sends per 10 s per user, cluster-wide" holds whichever node and transport a
// user sends through.
//
// The window slides: an event counts for exactly window after it happened, so there
// is no fixed-window edge where twice the limit could pass in a short burst. Refused
// attempts are not counted: a client that keeps retrying too early is not pushed
// further back.
//
// Two implementations: NewMemoryRateLimiter (one process; the embedded default) and
// NewRedisRateLimiter (shared by every node of a cluster). Both are safe for
// concurrent use.
type RateLimiter interface {
	// Allow counts one event for key if fewer than limit events happened in the last
	// window; otherwise it counts nothing and returns ok=false with how long until one
	// slot frees (0 < retryAfter <= window). limit and window must be positive.
	//
	// err means the limiter could not decide (a cancelled context, Redis down) and
	// nothing was counted; ok is false then and the caller chooses whether to let
	// the event through.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)

	// Refund takes back the newest event counted for key: an attempt that Allow let
	// through but that turned out not to happen (a resend answered with the stored
	// original, a send the room's owner refused). Taking the newest rather than the
	// caller's own leaves the same count; a key with nothing counted is left alone.
	Refund(ctx context.Context, key string) error
}

// checkLimitArgs refuses the arguments no window can honour: they are programming
// mistakes, reported as errors rather than silently allowing or refusing everything.
func checkLimitArgs(limit int, window time.Duration) error {
	if limit <= 0 || window <= 0 {
		return fmt.Errorf("persist: rate limit: limit (%d) and window (%v) must be positive", limit, window)
	}
	return nil
}

// clampRetry keeps a computed retry delay within (0, window]: a clock step (Redis'
// wall clock going back, say) must not ask a client to wait longer than a window,
// and a refusal always asks for some wait.
func clampRetry(d, window time.Duration) time.Duration {
	switch {
	case d <= 0:
		return min(time.Millisecond, window)
	case d > window:
		return window
	}
	return d
}

package api

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

const (
	// revocationsFresh is how old the node's copy of the revoked list may be when a
	// token is checked against it; an older copy is brought up to date first. It
	// bounds how long a node that missed a logout's broadcast (a partition, a
	// restart in between) still accepts the token.
	revocationsFresh = time.Second
	// revocationsOverlap is how far before the newest revocation seen each read goes
	// back, so that revocations committed out of their timestamps' order, or stamped
	// by a node whose clock is behind (by less than this), are not skipped. Logouts
	// are rare next to requests, so re-reading a minute of them costs little.
	revocationsOverlap = time.Minute
	// revocationsReadTimeout bounds one read of the store's list.
	revocationsReadTimeout = 5 * time.Second
	// revocationsSweep is how often expired revocations leave the copy.
	revocationsSweep = time.Minute
)

// revocationList is this node's copy of the revoked tokens. A token is checked on
// every request and every WebSocket upgrade, which was one store read each (a
// quarter of a connect storm's node CPU, and most of Postgres's). The copy is fed
// by the logout itself on the node that served it, by the EventTokenRevoked
// broadcast on the others, and by reading the store's new revocations at most once
// per revocationsFresh, on demand: a check that finds the copy older reads first,
// while other checks wait for that one read. When the store cannot be read the
// check fails, as the per-request read did.
type revocationList struct {
	store persist.TokenStore
	now   func() chat.Time

	// readAt is when the last store read began, in monotonic nanoseconds since
	// start (0: never): the copy is as fresh as that.
	readAt atomic.Int64
	// reading holds the one store read at a time (a channel, so that a waiting
	// check can give up with its context). reads counts the reads done, and
	// lastErr is the last one's outcome: a check that waited for a read uses it
	// rather than reading again, so a slow store costs one read per round, not
	// one per waiting check.
	reading chan struct{}
	reads   atomic.Uint64
	lastErr error // guarded by reading

	mark    chat.Time // the newest revoked_at read; guarded by reading
	sweptAt chat.Time // guarded by reading

	mu  sync.RWMutex
	ids map[string]chat.Time // token ID -> when it expires anyway
}

// monoStart anchors the list's monotonic clock.
var monoStart = time.Now()

func newRevocationList(store persist.TokenStore, now func() chat.Time) *revocationList {
	return &revocationList{store: store, now: now, ids: make(map[string]chat.Time), reading: make(chan struct{}, 1)}
}

// has reports whether the token ID is revoked.
func (l *revocationList) has(ctx context.Context, id string) (bool, error) {
	if err := l.refresh(ctx); err != nil {
		return false, err
	}
	l.mu.RLock()
	_, ok := l.ids[id]
	l.mu.RUnlock()
	return ok, nil
}

// add records a revocation learnt from a logout or its broadcast.
func (l *revocationList) add(id string, expires chat.Time) {
	if expires == 0 {
		expires = l.now().Add(chat.TokenTTL)
	}
	l.mu.Lock()
	l.ids[id] = expires
	l.mu.Unlock()
}

func (l *revocationList) fresh() bool {
	at := l.readAt.Load()
	return at != 0 && time.Duration(int64(time.Since(monoStart))-at) < revocationsFresh
}

// refresh reads the store's revocations since the last read (all unexpired ones
// the first time) unless the copy is fresh.
func (l *revocationList) refresh(ctx context.Context) error {
	// reads is loaded before readAt: a check that finds the copy stale then either
	// sees a read finish after that point or makes its own.
	before := l.reads.Load()
	if l.fresh() {
		return nil
	}
	select {
	case l.reading <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("api: read revoked tokens: %w", ctx.Err())
	}
	defer func() { <-l.reading }()
	if l.reads.Load() != before { // a read finished while this check waited: its outcome
		return l.lastErr
	}
	// Not the caller's context: waiting checks take this read's outcome, which must
	// not be the cancellation of one request whose client went away.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revocationsReadTimeout)
	l.lastErr = l.read(rctx)
	cancel()
	l.reads.Add(1)
	return l.lastErr
}

// read brings the copy up to date; the caller holds reading.
func (l *revocationList) read(ctx context.Context) error {
	var since chat.Time
	if l.readAt.Load() != 0 {
		since = l.mark.Add(-revocationsOverlap)
	}
	started := int64(time.Since(monoStart))
	got, err := l.store.RevokedTokens(ctx, since)
	if err != nil {
		return fmt.Errorf("api: read revoked tokens: %w", err)
	}
	now := l.now()
	l.mu.Lock()
	for _, r := range got {
		l.ids[r.ID] = r.ExpiresAt
		l.mark = max(l.mark, r.RevokedAt)
	}
	if now-l.sweptAt >= chat.Time(revocationsSweep.Milliseconds()) {
		for id, exp := range l.ids {
			if exp <= now {
				delete(l.ids, id)
			}
		}
		l.sweptAt = now
	}
	l.mu.Unlock()
	l.readAt.Store(max(started, 1)) // before the caller counts the read (see refresh)
	return nil
}

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
	// by a node whose clock is a little behind, are not skipped.
	revocationsOverlap = 10 * time.Second
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

	// readAt is when the copy was last read from the store, in monotonic
	// nanoseconds since start (0: never).
	readAt atomic.Int64
	readMu sync.Mutex // one store read at a time; guards mark, sweptAt

	mark    chat.Time // the newest revoked_at read
	sweptAt chat.Time

	mu  sync.RWMutex
	ids map[string]chat.Time // token ID -> when it expires anyway
}

// monoStart anchors the list's monotonic clock.
var monoStart = time.Now()

func newRevocationList(store persist.TokenStore, now func() chat.Time) *revocationList {
	return &revocationList{store: store, now: now, ids: make(map[string]chat.Time)}
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
	if l.fresh() {
		return nil
	}
	l.readMu.Lock()
	defer l.readMu.Unlock()
	if l.fresh() { // read by another check while this one waited
		return nil
	}
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
	l.readAt.Store(max(started, 1))
	return nil
}

package api

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// touchEvery is how often at most a user's last_seen is written: presence needs
// minutes of precision (chat.PresenceTTL), not one write per request.
const touchEvery = time.Minute

// touchCache throttles last_seen writes per user.
type touchCache struct {
	mu   sync.Mutex
	last map[chat.ID]chat.Time
}

func (c *touchCache) init() { c.last = make(map[chat.ID]chat.Time) }

// seen records activity of user at now, writing to the store at most once per
// touchEvery. Failures are logged by the store's caller, never fatal to a request.
func (c *touchCache) seen(ctx context.Context, store persist.Store, user chat.ID, now chat.Time) {
	c.mu.Lock()
	prev, ok := c.last[user]
	due := !ok || now.Std().Sub(prev.Std()) >= touchEvery
	if due {
		c.last[user] = now
		if len(c.last) > 100000 { // bound memory: forget everyone, rewrite once each
			c.last = map[chat.ID]chat.Time{user: now}
		}
	}
	c.mu.Unlock()
	if due {
		_ = store.TouchUser(ctx, user, now)
	}
}

package api

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// userCacheTTL is how long a user read for the hot paths (each send's sender, each
// upgrade) is reused. A profile change is seen at once: the PATCH forgets the entry
// here and publishes EventUserChanged, which every node's hub turns into a forget;
// the TTL only bounds a node that missed that event (a partition). It outlasts the
// time between a client's connect and its first sends, so that after a reconnect
// storm the first message of each user does not read the store (with 5 s, every
// user of a freshly connected benchmark missed at once, a few seconds in).
// History and every other read come from the store.
const userCacheTTL = time.Minute

// userCacheMax bounds the cache; past it the map starts afresh (users active in the
// last TTL refill it).
const userCacheMax = 100000

// userCache keeps recently read users, so that a busy sender costs one user read
// per TTL instead of one per message.
type userCache struct {
	mu sync.Mutex
	m  map[chat.ID]cachedUser
	// forgets counts forget calls: a read that a forget overtook (the store read
	// began before the profile changed, the forget came before the insert) is not
	// cached, or the old profile would stay for a whole TTL.
	forgets uint64
}

type cachedUser struct {
	user    chat.User
	expires time.Time
}

// get returns the user from the cache or the store (chat.CodeUnauthorized when
// the user no longer exists, as currentUser).
func (c *userCache) get(ctx context.Context, s *Server, sess *Session) (*chat.User, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[sess.UserID]
	forgets := c.forgets
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		u := e.user
		return &u, nil
	}
	u, err := s.currentUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets != forgets {
		return u, nil
	}
	if c.m == nil || len(c.m) >= userCacheMax {
		c.m = make(map[chat.ID]cachedUser)
	}
	c.m[u.ID] = cachedUser{user: *u, expires: now.Add(userCacheTTL)}
	return u, nil
}

// forget drops a user whose profile this node just changed.
func (c *userCache) forget(id chat.ID) {
	c.mu.Lock()
	delete(c.m, id)
	c.forgets++
	c.mu.Unlock()
}

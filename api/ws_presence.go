package api

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// presenceEvery is the most often one user's presence_updated goes out; changes in
// between are coalesced into the latest state (the contract allows one per second).
const presenceEvery = time.Second

// presenceHeartbeat is how often a node renews the presence TTL and last_seen of the
// users it holds connections of, well inside chat.PresenceTTL.
const presenceHeartbeat = time.Minute

// PresenceEvent is the payload of presence_updated: the contract's user_id and
// status, plus when the user was last active and the room they are in now (the one
// they most recently joined on this node), when known.
type PresenceEvent struct {
	UserID      chat.ID     `json:"user_id"`
	Status      chat.Status `json:"status"`
	LastSeen    *chat.Time  `json:"last_seen,omitempty"`
	CurrentRoom *chat.ID    `json:"current_room,omitempty"`
}

// setCurrentRoom records the room a user is now in (nil: none) and announces it.
func (h *wsHub) setCurrentRoom(user chat.ID, room *chat.ID) {
	h.mu.Lock()
	cur, had := h.current[user]
	switch {
	case room == nil && had:
		delete(h.current, user)
	case room != nil && (!had || cur != *room):
		h.current[user] = *room
	default:
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.presenceChanged(user)
}

// presenceCoalescer sends at most one presence_updated per user per presenceEvery,
// always the latest state.
type presenceCoalescer struct {
	mu      sync.Mutex
	last    map[chat.ID]time.Time
	pending map[chat.ID]bool
}

// connected is called when a user's first connection opens (cluster-wide count).
func (h *wsHub) connected(c *wsClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	total, err := h.s.presence.Connect(ctx, c.sess.UserID, h.s.node.Name())
	if err != nil {
		h.s.m.redisErrors.Inc()
		h.s.log.Warn("presence connect", "err", err)
		return
	}
	h.s.touch.seen(ctx, h.s.store, c.sess.UserID, h.s.cfg.Now()) // throttled: a connect storm is not a write storm
	if total == 1 {
		h.presenceChanged(c.sess.UserID)
	}
}

// disconnected is called when one of a user's connections closes.
func (h *wsHub) disconnected(c *wsClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	total, err := h.s.presence.Disconnect(ctx, c.sess.UserID, h.s.node.Name())
	if err != nil {
		h.s.m.redisErrors.Inc()
		h.s.log.Warn("presence disconnect", "err", err)
		return
	}
	if total == 0 {
		h.presenceChanged(c.sess.UserID)
	}
}

// presenceChanged schedules a presence_updated for user, coalesced.
func (h *wsHub) presenceChanged(user chat.ID) {
	p := &h.presence
	p.mu.Lock()
	if p.pending[user] {
		p.mu.Unlock()
		return // a send is already scheduled; it will read the latest state
	}
	wait := presenceEvery - time.Since(p.last[user])
	if wait < 0 {
		wait = 0
	}
	p.pending[user] = true
	p.mu.Unlock()
	time.AfterFunc(wait, func() {
		p.mu.Lock()
		delete(p.pending, user)
		p.last[user] = time.Now()
		if len(p.last) > 100000 {
			p.last = map[chat.ID]time.Time{user: time.Now()}
		}
		p.mu.Unlock()
		h.publishPresence(user)
	})
}

// publishPresence sends the user's current presence to the user and to everyone who
// shares a room with them.
func (h *wsHub) publishPresence(user chat.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := h.s.store.UserByID(ctx, user)
	if err != nil {
		return
	}
	on, err := h.s.presence.Connected(ctx, []chat.ID{user})
	if err != nil {
		h.s.log.Warn("presence lookup", "err", err)
		return
	}
	// The store's status is the chosen one while last_seen is fresh, which the
	// connection's touches keep it; without a connection anywhere the user is offline.
	status := u.Status
	if !on[user] {
		status = chat.StatusOffline
	}
	peers, err := h.s.store.RoomPeers(ctx, user)
	if err != nil {
		h.s.log.Warn("presence peers", "err", err)
		return
	}
	ev := PresenceEvent{UserID: user, Status: status, LastSeen: u.LastSeen}
	h.mu.Lock()
	if room, ok := h.current[user]; ok && status != chat.StatusOffline {
		ev.CurrentRoom = &room
	}
	h.mu.Unlock()
	for _, peer := range append(peers, user) {
		h.s.publish(&node.Event{Type: node.EventPresence, UserID: peer, Data: &ev})
	}
}

// heartbeat renews presence and last_seen of the users connected here.
func (h *wsHub) heartbeat() {
	h.mu.Lock()
	users := make([]chat.ID, 0, len(h.users))
	for u := range h.users {
		users = append(users, u)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.s.presence.Refresh(ctx, users); err != nil {
		h.s.log.Warn("presence refresh", "err", err)
	}
	now := h.s.cfg.Now()
	for _, u := range users {
		_ = h.s.store.TouchUser(ctx, u, now)
	}
}

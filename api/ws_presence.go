package api

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/wsconn"
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

// presenceTick is how often the pending presence changes are published, together.
// A change waits at most this long (or until its user's presenceEvery is up), so a
// connect and the join that follows it make one update, and everyone's updates of
// one tick reach a connection as one burst (one write) rather than one by one.
const presenceTick = 250 * time.Millisecond

// presenceCoalescer holds the users whose presence changed and when each was last
// published: at most one presence_updated per user per presenceEvery, always the
// latest state.
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

// presenceChanged marks user's presence for the next tick's publication.
func (h *wsHub) presenceChanged(user chat.ID) {
	p := &h.presence
	p.mu.Lock()
	p.pending[user] = true
	p.mu.Unlock()
}

// publishPresenceLoop publishes the due presence changes every presenceTick.
func (h *wsHub) publishPresenceLoop() {
	t := time.NewTicker(presenceTick)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			if due := h.presence.due(time.Now()); len(due) > 0 {
				h.publishPresence(due)
			}
		}
	}
}

// due takes the pending users whose last publication is presenceEvery old.
func (p *presenceCoalescer) due(now time.Time) []chat.ID {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []chat.ID
	for u := range p.pending {
		if now.Sub(p.last[u]) >= presenceEvery {
			out = append(out, u)
			delete(p.pending, u)
			p.last[u] = now
		}
	}
	if len(p.last) > 100000 {
		for u, t := range p.last {
			if now.Sub(t) >= presenceEvery {
				delete(p.last, u)
			}
		}
	}
	return out
}

// publishPresence sends each user's current presence to the user and to everyone
// who shares a room with them: one node event per receiving user, carrying every
// update of the tick for them (node.EventPresenceBatch).
func (h *wsHub) publishPresence(users []chat.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	on, err := h.s.presence.Connected(ctx, users)
	if err != nil {
		h.s.log.Warn("presence lookup", "err", err)
		return
	}
	byPeer := make(map[chat.ID][]PresenceEvent)
	for _, user := range users {
		ev, peers, ok := h.presenceOf(user, on[user])
		if !ok {
			continue
		}
		for _, peer := range append(peers, user) {
			byPeer[peer] = append(byPeer[peer], ev)
		}
	}
	for peer, evs := range byPeer {
		h.s.publish(&node.Event{Type: node.EventPresenceBatch, UserID: peer, Data: &evs})
	}
}

// presenceOf reads what publishPresence announces of user (connected anywhere or
// not) and who shares a room with them; false when the store cannot say. Each user
// has a deadline of its own, so a tick with many users does not starve the last.
func (h *wsHub) presenceOf(user chat.ID, connected bool) (PresenceEvent, []chat.ID, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := h.s.users.get(ctx, h.s, &Session{UserID: user})
	if err != nil {
		return PresenceEvent{}, nil, false
	}
	// The store's status is the chosen one while last_seen is fresh, which the
	// connection's touches keep it; without a connection anywhere the user is offline.
	status := u.Status
	if !connected {
		status = chat.StatusOffline
	}
	peers, err := h.s.store.RoomPeers(ctx, user)
	if err != nil {
		h.s.log.Warn("presence peers", "err", err)
		return PresenceEvent{}, nil, false
	}
	ev := PresenceEvent{UserID: user, Status: status, LastSeen: u.LastSeen}
	h.mu.Lock()
	if room, ok := h.current[user]; ok && status != chat.StatusOffline {
		ev.CurrentRoom = &room
	}
	h.mu.Unlock()
	return ev, peers, true
}

// deliverPresence writes a batch of presence updates to the user's sockets: one
// presence_updated frame each (the contract's event), queued together.
func (h *wsHub) deliverPresence(ev *node.Event) {
	evs, ok := node.DecodeData[[]PresenceEvent](ev)
	if !ok || len(*evs) == 0 {
		return
	}
	frames := make([]*wsconn.Frame, 0, len(*evs))
	for i := range *evs {
		if f := encodeFrame(outFrame{Type: string(node.EventPresence), Data: &(*evs)[i]}); f != nil {
			frames = append(frames, f)
		}
	}
	h.mu.Lock()
	conns := make([]*wsClient, 0, len(h.users[ev.UserID]))
	for c := range h.users[ev.UserID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.sendDelayed(frames...)
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

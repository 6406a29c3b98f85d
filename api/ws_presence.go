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
// users it holds connections of, well inside chat.PresenceTTL (the default of
// Config.PresenceHeartbeat).
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

// presenceAnnouncer tells the cluster-wide presence (persist.Presence) whether
// this node holds connections of a user: when its first connection opens and its
// last one closes, not on every connection. A user with several tabs, or a
// reconnect storm of many connections per user, costs one Redis call per user and
// node; Redis counts nodes, not connections, and its total still reaches 1 exactly
// when a user comes online anywhere.
//
// The truth is the hub's own count (h.users, kept by admit and release); the
// announcer only brings Presence in line with it, under the user's stripe lock, so
// one user's announcements are made one at a time and in order, whichever of a
// connection's open and close runs first. A failed call is retried by the user's
// next connection or close, and by the heartbeat.
type presenceAnnouncer struct {
	stripes   [64]sync.Mutex
	mu        sync.Mutex
	announced map[chat.ID]bool // Presence counts this node for the user
}

func (a *presenceAnnouncer) stripe(user chat.ID) *sync.Mutex {
	return &a.stripes[stripeOf(user, len(a.stripes))]
}

// stripeOf picks a user's stripe by the random end of the id (a UUIDv7 begins
// with its time).
func stripeOf(user chat.ID, n int) int { return int(user[15]) % n }

func (a *presenceAnnouncer) isAnnounced(user chat.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.announced[user]
}

func (a *presenceAnnouncer) set(user chat.ID, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !on {
		delete(a.announced, user)
		return
	}
	if a.announced == nil {
		a.announced = make(map[chat.ID]bool)
	}
	a.announced[user] = true
}

// connected is called when one of a user's connections opens.
func (h *wsHub) connected(c *wsClient) { h.announcePresence(c.sess.UserID) }

// disconnected is called when one of a user's connections closes.
func (h *wsHub) disconnected(c *wsClient) { h.announcePresence(c.sess.UserID) }

// announcePresence tells Presence whether this node holds connections of user, if
// that changed since it last told it.
func (h *wsHub) announcePresence(user chat.ID) {
	lock := h.announcer.stripe(user)
	lock.Lock()
	defer lock.Unlock()
	h.mu.Lock()
	here := len(h.users[user]) > 0
	h.mu.Unlock()
	if here == h.announcer.isAnnounced(user) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !here {
		// Retracted even when Redis fails: its entry then expires with the TTL.
		h.announcer.set(user, false)
		total, err := h.s.presence.Disconnect(ctx, user, h.s.node.Name())
		if err != nil {
			h.s.m.redisErrors.Inc()
			h.s.log.Warn("presence disconnect", "err", err)
			return
		}
		if total == 0 {
			h.presenceChanged(user)
		}
		return
	}
	total, err := h.s.presence.Connect(ctx, user, h.s.node.Name())
	if err != nil {
		h.s.m.redisErrors.Inc()
		h.s.log.Warn("presence connect", "err", err)
		return
	}
	h.announcer.set(user, true)
	h.s.touch.seen(ctx, h.s.store, user, h.s.cfg.Now()) // throttled: a connect storm is not a write storm
	if total == 1 {
		h.presence.cameOnline(user, time.Now())
	}
}

// onlineGrace is how long a user who just came online waits before being announced,
// so that the join_room a client sends right after connecting (a new current room)
// goes out in the same presence_updated instead of a second one a second later. In
// a reconnect storm that halves the presence frames, each of which goes to every
// connection of everyone sharing a room with the user.
const onlineGrace = 500 * time.Millisecond

// cameOnline marks user pending, to be published no earlier than onlineGrace from
// now (and within presenceEvery of the previous publication, as every change).
func (p *presenceCoalescer) cameOnline(user chat.ID, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending[user] = true
	if hold := now.Add(onlineGrace - presenceEvery); hold.After(p.last[user]) {
		p.last[user] = hold
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
			h.presenceFrames.reset()
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
	// An offline announcement reads the store: its last_seen is the news, and the
	// cache may hold one up to userCacheTTL old.
	sess := &Session{UserID: user}
	var (
		u   *chat.User
		err error
	)
	if connected {
		u, err = h.s.users.get(ctx, h.s, sess)
	} else {
		u, err = h.s.currentUser(ctx, sess)
	}
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
	h.mu.Lock()
	conns := make([]*wsClient, 0, len(h.users[ev.UserID]))
	for c := range h.users[ev.UserID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	if len(conns) == 0 {
		return // every node gets every user event; most hold none of this user's sockets
	}
	evs, ok := node.DecodeData[[]PresenceEvent](ev)
	if !ok || len(*evs) == 0 {
		return
	}
	frames := make([]*wsconn.Frame, 0, len(*evs))
	for i := range *evs {
		if f := h.presenceFrames.frame(&(*evs)[i]); f != nil {
			frames = append(frames, f)
		}
	}
	for _, c := range conns {
		c.sendDelayed(frames...)
	}
}

// presenceFrameCache keeps the encoded presence_updated of each user's latest
// state: one update goes to every user who shares a room with its user, in one
// event per receiving user, and without the cache it would be encoded once per
// receiver (a room of 1,000 coming online: a million encodes instead of a
// thousand). An entry is used only for an equal event, so events from other nodes
// are safe; the cache is emptied every presenceTick.
type presenceFrameCache struct {
	mu sync.Mutex
	m  map[chat.ID]presenceFrame
}

type presenceFrame struct {
	ev PresenceEvent
	f  *wsconn.Frame
}

func (p *presenceFrameCache) frame(ev *PresenceEvent) *wsconn.Frame {
	p.mu.Lock()
	e, ok := p.m[ev.UserID]
	p.mu.Unlock()
	if ok && e.ev.equal(ev) {
		return e.f
	}
	f := encodeFrame(outFrame{Type: string(node.EventPresence), Data: ev})
	if f == nil {
		return nil
	}
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[chat.ID]presenceFrame)
	}
	p.m[ev.UserID] = presenceFrame{ev: *ev, f: f}
	p.mu.Unlock()
	return f
}

func (p *presenceFrameCache) reset() {
	p.mu.Lock()
	p.m = nil
	p.mu.Unlock()
}

// equal compares two updates by value.
func (e *PresenceEvent) equal(o *PresenceEvent) bool {
	return e.UserID == o.UserID && e.Status == o.Status &&
		equalPtr(e.LastSeen, o.LastSeen) && equalPtr(e.CurrentRoom, o.CurrentRoom)
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

// refreshAnnounced renews this node's presence entries of users, one stripe at a
// time under its lock: only users still announced are renewed (a retraction takes
// the same lock), and an entry the store lost (a Redis restarted empty) is written
// again, so presence recovers within one heartbeat.
func (h *wsHub) refreshAnnounced(ctx context.Context, users []chat.ID) {
	a := &h.announcer
	for _, u := range users {
		if !a.isAnnounced(u) {
			h.announcePresence(u) // an announcement that failed, tried again
		}
	}
	var byStripe [len(a.stripes)][]chat.ID
	for _, u := range users {
		i := stripeOf(u, len(a.stripes))
		byStripe[i] = append(byStripe[i], u)
	}
	for i, us := range byStripe {
		if len(us) == 0 {
			continue
		}
		a.stripes[i].Lock()
		live := us[:0]
		for _, u := range us {
			if a.isAnnounced(u) {
				live = append(live, u)
			}
		}
		restored, err := h.s.presence.Refresh(ctx, live, h.s.node.Name())
		a.stripes[i].Unlock()
		if err != nil {
			h.s.m.redisErrors.Inc()
			h.s.log.Warn("presence refresh", "err", err)
		}
		// Peers may have been told these users left while the store had lost them
		// (a device closing on another node saw a total of 0): announce them again.
		for _, u := range restored {
			h.presenceChanged(u)
		}
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
	h.refreshAnnounced(ctx, users)
	if err := h.s.store.TouchUsers(ctx, users, h.s.cfg.Now()); err != nil {
		h.s.log.Warn("presence heartbeat: last_seen", "users", len(users), "err", err)
	}
}

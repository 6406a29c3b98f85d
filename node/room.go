package node

import (
	"context"
	"errors"
	"sync"

	"github.com/chatd/chatd/chat"
)

// room is the owner state of one room on this node.
type room struct {
	id chat.ID

	// acquireMu serialises taking ownership, so one store round trip acquires a room
	// however many senders arrive at once.
	acquireMu sync.Mutex

	// pubMu orders the room's events: every delivery to sinks happens under it.
	pubMu sync.Mutex

	mu      sync.Mutex
	owned   bool
	epoch   int64
	lastSeq int64 // highest committed seq
	recent  recentBuffer
	typ     chat.RoomType
	members map[chat.ID]*memberInfo // nil entry: known non-member
	sinks   map[Sink]struct{}

	// Cluster state. remoteSubs: nodes subscribed to this owned room. subOwner: the
	// node this node's sinks get the room's events from (itself when it owns the
	// room). remoteSeqKnown: lastSeq was set by an owner's ack (edge mode).
	// subPending: the owner a subscription is in flight to; resyncs counts the
	// resyncs that owner asked for meanwhile (see ensureSubscribed).
	remoteSubs     map[string]struct{}
	subOwner       string
	subPending     string
	resyncs        uint64
	remoteSeqKnown bool
}

// memberInfo is the cached part of a membership the owner checks on every send.
type memberInfo struct {
	role       chat.Role
	mutedUntil *chat.Time
}

// room returns the room's state, creating an unowned one.
func (n *Node) room(id chat.ID) *room {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.rooms[id]
	if r == nil {
		r = &room{id: id, recent: newRecentBuffer(n.cfg.RecentSize), sinks: make(map[Sink]struct{})}
		n.rooms[id] = r
	}
	return r
}

// ensureOwned takes ownership of r if this node does not hold it: a new epoch in the
// store, the highest seq and the recent messages (warm-up).
func (n *Node) ensureOwned(ctx context.Context, r *room) error {
	r.mu.Lock()
	owned := r.owned
	r.mu.Unlock()
	if owned {
		return nil
	}
	if !n.isLocal(r.id) {
		return chat.Errorf(chat.CodeNotOwner, "room ownership is moving; retry")
	}
	r.acquireMu.Lock()
	defer r.acquireMu.Unlock()
	r.mu.Lock()
	owned = r.owned
	r.mu.Unlock()
	if owned {
		return nil
	}
	epoch, lastSeq, err := n.store.AcquireRoom(ctx, r.id, n.cfg.Name)
	if err != nil && !errors.Is(err, chat.ErrNotFound) {
		n.m.storeErrors.Inc()
	}
	if err != nil {
		if errors.Is(err, chat.ErrNotFound) {
			return chat.Errorf(chat.CodeNotFound, "room not found")
		}
		return wrapStore("acquire room", err)
	}
	recent, err := n.store.RecentMessages(ctx, r.id, n.cfg.RecentSize)
	if err != nil {
		return wrapStore("warm up room", err)
	}
	info, err := n.store.RoomByID(ctx, r.id, chat.NilID)
	if err != nil {
		return wrapStore("load room", err)
	}
	n.m.roomsOwned.Inc()
	n.m.ownership.Inc()
	// Local subscribers fed by the previous owner may be behind the store: bring them
	// up to the room's last seq before this node takes writes (and events) for it.
	r.pubMu.Lock()
	r.mu.Lock()
	behind := len(r.sinks) > 0 && r.lastSeq < lastSeq
	r.mu.Unlock()
	if behind {
		n.repairLocked(r, lastSeq)
	}
	r.mu.Lock()
	r.owned, r.epoch, r.lastSeq, r.typ = true, epoch, lastSeq, info.Type
	r.subOwner = n.cfg.Name
	r.recent.reset(recent)
	r.members = make(map[chat.ID]*memberInfo)
	r.mu.Unlock()
	r.pubMu.Unlock()
	n.log.Debug("room acquired", "room", r.id, "epoch", epoch, "last_seq", lastSeq)
	return nil
}

// member returns the cached membership of user (nil: not a member), loading it.
func (n *Node) member(ctx context.Context, r *room, user chat.ID) (*memberInfo, error) {
	if m, ok := r.cachedMember(user); ok {
		return m, nil
	}
	return n.loadMember(ctx, r, user)
}

// cachedMember is the cache's answer; ok is false when it has none.
func (r *room) cachedMember(user chat.ID) (m *memberInfo, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok = r.members[user]
	return m, ok
}

// loadMember reads user's membership from the store and caches it.
func (n *Node) loadMember(ctx context.Context, r *room, user chat.ID) (*memberInfo, error) {
	var m *memberInfo
	mem, err := n.store.Member(ctx, r.id, user)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		m = nil
	case err != nil:
		return nil, wrapStore("load member", err)
	default:
		m = &memberInfo{role: mem.Role, mutedUntil: mem.MutedUntil}
		if mem.Muted && mem.MutedUntil == nil {
			f := chat.Forever
			m.mutedUntil = &f
		}
	}
	r.mu.Lock()
	if r.members != nil {
		r.members[user] = m
	}
	r.mu.Unlock()
	return m, nil
}

// roomChanged drops the room's cached members here and on every other node, not
// only the owner this node sees: during a ring change another node may be the
// owner, or become it with a cache of its own. Changes of members are rare next to
// messages, so telling everyone costs little.
func (n *Node) roomChanged(id chat.ID) {
	if n.cluster != nil {
		n.cluster.broadcast(kindRoomChanged, encodeWire(&wireSub{Room: id}))
	}
	n.roomChangedLocal(id)
}

// dropMemberCaches forgets every room's cached members, when a peer's room changes
// may have been lost with a dropped link (kindResync).
func (n *Node) dropMemberCaches() {
	for _, r := range n.roomList() {
		r.forgetMembers()
	}
}

// roomChangedLocal drops this node's cached members of the room.
func (n *Node) roomChangedLocal(id chat.ID) {
	n.mu.Lock()
	r := n.rooms[id]
	n.mu.Unlock()
	if r != nil {
		r.forgetMembers()
	}
}

// forgetMembers empties the member cache of an owned room (nil while not owned).
func (r *room) forgetMembers() {
	r.mu.Lock()
	if r.members != nil {
		r.members = make(map[chat.ID]*memberInfo)
	}
	r.mu.Unlock()
}

// roomList is a snapshot of the room table, to visit rooms without holding Node.mu.
func (n *Node) roomList() []*room {
	n.mu.Lock()
	defer n.mu.Unlock()
	rooms := make([]*room, 0, len(n.rooms))
	for _, r := range n.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

func (n *Node) subscribe(ctx context.Context, id chat.ID, sink Sink) (int64, error) {
	r := n.room(id)
	r.pubMu.Lock()
	r.mu.Lock()
	r.sinks[sink] = struct{}{}
	r.mu.Unlock()
	r.pubMu.Unlock()
	if err := n.ensureSubscribed(ctx, r); err != nil {
		n.unsubscribe(id, sink)
		return 0, err
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastSeq, nil
}

func (n *Node) unsubscribe(id chat.ID, sink Sink) {
	n.mu.Lock()
	r := n.rooms[id]
	n.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.sinks, sink)
	var tell string
	if len(r.sinks) == 0 && r.subOwner != "" && r.subOwner != n.cfg.Name {
		tell, r.subOwner, r.remoteSeqKnown = r.subOwner, "", false
	}
	r.mu.Unlock()
	if tell != "" && n.cluster != nil {
		_ = n.cluster.send(tell, kindUnsub, encodeWire(&wireSub{Room: id}))
	}
}

// deliverLocked hands ev to every sink of r and returns how many; the caller holds
// r.pubMu.
func (r *room) deliverLocked(ev *Event) int {
	r.mu.Lock()
	if len(r.sinks) == 0 {
		r.mu.Unlock()
		return 0
	}
	sinks := make([]Sink, 0, len(r.sinks))
	for s := range r.sinks {
		sinks = append(sinks, s)
	}
	r.mu.Unlock()
	for _, s := range sinks {
		s.Deliver(ev)
	}
	return len(sinks)
}

func (n *Node) publish(ev *Event) {
	if n.cluster != nil {
		if owner := n.cluster.owner(ev.RoomID); owner != n.cfg.Name {
			if owner == "" {
				return
			}
			if err := n.cluster.send(owner, kindPublish, wireOf(ev)); err != nil {
				n.log.Warn("event to room owner", "room", ev.RoomID, "type", ev.Type, "err", err)
			}
			return
		}
	}
	n.mu.Lock()
	_, known := n.rooms[ev.RoomID]
	n.mu.Unlock()
	if !known {
		return // nobody subscribed here and the room is not in use
	}
	n.publishOwned(ev)
}

func (n *Node) recent(id chat.ID, after int64) ([]chat.Message, int64, bool) {
	n.mu.Lock()
	r := n.rooms[id]
	n.mu.Unlock()
	if r == nil {
		return nil, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.owned {
		return nil, 0, false
	}
	msgs, ok := r.recent.after(after, r.lastSeq)
	return msgs, r.lastSeq, ok
}

// recentBuffer keeps a room's last messages in seq order: a slice that grows with
// the room's messages up to its capacity, then a ring. Growing on demand keeps a
// quiet room cheap: a node may know thousands of rooms that had a few messages
// each, and a buffer allocated whole up front cost ~24 KiB per room (and GC work
// to scan it) whatever the room held.
type recentBuffer struct {
	buf   []chat.Message // len(buf) == size; start is 0 until len reaches max
	max   int
	start int
	size  int
}

func newRecentBuffer(capacity int) recentBuffer {
	return recentBuffer{max: capacity}
}

func (b *recentBuffer) reset(msgs []chat.Message) {
	clear(b.buf)
	b.buf, b.start, b.size = b.buf[:0], 0, 0
	for i := range msgs {
		b.push(msgs[i])
	}
}

func (b *recentBuffer) push(m chat.Message) {
	if b.max <= 0 {
		return
	}
	if len(b.buf) < b.max {
		if len(b.buf) == cap(b.buf) {
			grown := make([]chat.Message, len(b.buf), min(max(4, 2*cap(b.buf)), b.max))
			copy(grown, b.buf)
			b.buf = grown
		}
		b.buf = append(b.buf, m)
		b.size++
		return
	}
	b.buf[b.start] = m
	b.start = (b.start + 1) % len(b.buf)
}

// after returns the buffered messages with seq > after; ok is false when the buffer
// does not hold every message from after+1 to lastSeq.
func (b *recentBuffer) after(after, lastSeq int64) ([]chat.Message, bool) {
	if after >= lastSeq {
		return nil, true
	}
	if b.size == 0 || b.buf[b.start].Seq > after+1 {
		return nil, false
	}
	var out []chat.Message
	for i := 0; i < b.size; i++ {
		m := b.buf[(b.start+i)%len(b.buf)]
		if m.Seq > after {
			out = append(out, m)
		}
	}
	return out, true
}

// update replaces a buffered message (edits, deletions) if it is still buffered.
func (b *recentBuffer) update(m *chat.Message) {
	for i := 0; i < b.size; i++ {
		j := (b.start + i) % len(b.buf)
		if b.buf[j].ID == m.ID {
			b.buf[j] = *m
			return
		}
	}
}

package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/ring"
)

// remoteTimeout bounds a request to another node (a forwarded send waits for a
// durable commit there). Short, because a dead owner is found by gossip within a
// few seconds and a send with a client_msg_id is then retried at the next owner.
const remoteTimeout = 4 * time.Second

// HandlePeerFrame implements PeerHandler. Frames that must keep their order (events,
// publishes, subscription acks) are handled inline on the link's reader; requests
// that touch the store get their own goroutine.
func (c *cluster) HandlePeerFrame(from string, kind uint8, payload []byte) {
	if !c.waitUp() {
		return
	}
	switch kind {
	case kindSendResp, kindMemberResp:
		var w struct {
			ID uint64 `json:"id"`
		}
		if json.Unmarshal(payload, &w) == nil {
			c.calls.done(w.ID, payload)
		}
	case kindSubAck:
		c.n.subAcked(payload)
	case kindEvent:
		if ev, err := eventOf(payload); err == nil {
			c.n.deliverRemote(ev)
		}
	case kindPublish:
		if ev, err := eventOf(payload); err == nil {
			c.n.publishOwned(ev)
		}
	case kindUserEvent:
		if ev, err := eventOf(payload); err == nil {
			c.n.deliverUser(ev)
		}
	case kindUnsub:
		var w wireSub
		if json.Unmarshal(payload, &w) == nil {
			c.n.removeRemoteSub(w.Room, from)
		}
	case kindRoomChanged:
		var w wireSub
		if json.Unmarshal(payload, &w) == nil {
			c.n.roomChangedLocal(w.Room)
		}
	case kindResync:
		// Frames from `from` may have been lost, its room changes among them.
		c.n.dropMemberCaches()
		c.n.resubscribeFrom(from)
	case kindSendReq, kindSub, kindMemberReq:
		p := append([]byte(nil), payload...)
		go c.serveRequest(from, kind, p)
	}
}

// PeerDown implements PeerHandler: calls waiting on that peer have unknown outcomes,
// and rooms it owned for our subscribers resubscribe (to it again, or to whoever
// the ring names next).
func (c *cluster) PeerDown(name string) {
	if !c.waitUp() {
		return
	}
	c.calls.failPeer(name)
	c.n.resubscribeFrom(name)
}

// PeerUp implements PeerHandler. A link that (re)connects may have lost frames when
// the previous one dropped (its queue is discarded, never replayed): the peer is told
// to resubscribe the rooms it gets from this node, which repairs any gap from the
// store. Only the sending side learns of a drop, hence this message.
func (c *cluster) PeerUp(name string) {
	if !c.waitUp() {
		return
	}
	if err := c.send(name, kindResync, []byte("{}")); err != nil {
		c.n.log.Debug("resync", "to", name, "err", err)
	}
}

func (c *cluster) serveRequest(from string, kind uint8, payload []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	switch kind {
	case kindMemberReq:
		c.serveMemberReq(ctx, from, payload)
	case kindSendReq:
		var w wireSendReq
		if json.Unmarshal(payload, &w) != nil || w.Req == nil {
			return
		}
		resp := wireSendResp{ID: w.ID}
		msg, created, err := c.n.sendOwned(ctx, w.Req)
		switch {
		case errors.Is(err, ErrUnknownOutcome):
			resp.Unknown = true
		case err != nil:
			resp.Err = chat.AsError(err)
			if resp.Err == nil {
				c.n.log.Error("forwarded send failed", "from", from, "err", err)
				resp.Err = chat.Errorf(chat.CodeUnavailable, "send failed; retry")
			}
		default:
			resp.Message, resp.Created = msg, created
		}
		_ = c.send(from, kindSendResp, encodeWire(&resp))
	case kindSub:
		var w wireSub
		if json.Unmarshal(payload, &w) != nil {
			return
		}
		if err := c.n.addRemoteSub(ctx, w.Room, from, w.ID); err != nil {
			ack := wireSubAck{ID: w.ID, Room: w.Room, Err: chat.AsError(err)}
			if ack.Err == nil {
				ack.Err = chat.Errorf(chat.CodeUnavailable, "subscribe failed; retry")
			}
			_ = c.send(from, kindSubAck, encodeWire(&ack))
		}
	}
}

// sendRemote forwards a send to the room's owner and waits for its answer.
func (n *Node) sendRemote(ctx context.Context, owner string, req *SendRequest) (*chat.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	payload, err := n.cluster.call(ctx, owner, kindSendReq, func(id uint64) []byte {
		return encodeWire(&wireSendReq{ID: id, Req: req})
	})
	if err != nil {
		return nil, false, err
	}
	var resp wireSendResp
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, false, ErrUnknownOutcome
	}
	switch {
	case resp.Unknown:
		return nil, false, ErrUnknownOutcome
	case resp.Err != nil:
		return nil, false, resp.Err
	case resp.Message == nil:
		return nil, false, ErrUnknownOutcome
	}
	return resp.Message, resp.Created, nil
}

// addRemoteSub registers node `from` as a subscriber of an owned room and sends it
// the ack with the room's last seq, under the room's publish order so that no event
// of the room reaches `from` before the ack. An error is for the caller to report.
func (n *Node) addRemoteSub(ctx context.Context, roomID chat.ID, from string, ackID uint64) error {
	if !n.isLocal(roomID) {
		return chat.Errorf(chat.CodeNotOwner, "not the owner of this room; retry")
	}
	r := n.room(roomID)
	if err := n.ensureOwned(ctx, r); err != nil {
		return err
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.mu.Lock()
	if !r.owned {
		r.mu.Unlock()
		return chat.Errorf(chat.CodeNotOwner, "ownership moved; retry")
	}
	if r.remoteSubs == nil {
		r.remoteSubs = make(map[string]struct{})
	}
	r.remoteSubs[from] = struct{}{}
	last := r.lastSeq
	r.mu.Unlock()
	return n.cluster.send(from, kindSubAck, encodeWire(&wireSubAck{ID: ackID, Room: roomID, LastSeq: last}))
}

func (n *Node) removeRemoteSub(roomID chat.ID, from string) {
	n.mu.Lock()
	r := n.rooms[roomID]
	n.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.remoteSubs, from)
	r.mu.Unlock()
}

// fanoutRemote sends an event once to every node subscribed to the room; the
// caller holds r.pubMu, so nodes receive the room's events in its order.
func (n *Node) fanoutRemoteLocked(r *room, ev *Event) {
	if n.cluster == nil {
		return
	}
	r.mu.Lock()
	if len(r.remoteSubs) == 0 {
		r.mu.Unlock()
		return
	}
	subs := make([]string, 0, len(r.remoteSubs))
	for s := range r.remoteSubs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	payload := wireOf(ev)
	for _, to := range subs {
		if err := n.cluster.send(to, kindEvent, payload); err != nil {
			n.log.Debug("event to subscriber node", "to", to, "err", err)
		}
	}
}

// subscribeRemote registers this node with the room's owner; the ack (handled inline
// by subAcked) sets the room's delivered seq before any event of the room is handled.
func (n *Node) subscribeRemote(ctx context.Context, r *room, owner string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	payload, err := n.cluster.call(ctx, owner, kindSub, func(id uint64) []byte {
		return encodeWire(&wireSub{ID: id, Room: r.id})
	})
	if err != nil {
		return 0, err
	}
	var ack wireSubAck
	if err := json.Unmarshal(payload, &ack); err != nil {
		return 0, ErrUnknownOutcome
	}
	if ack.Err != nil {
		return 0, ack.Err
	}
	r.mu.Lock()
	last := r.lastSeq
	r.mu.Unlock()
	return last, nil
}

// subAcked applies a subscription ack on the link's reader: the room's delivered seq
// moves to the owner's last seq (repairing any gap from the store first), then the
// waiting subscriber is released.
func (n *Node) subAcked(payload []byte) {
	var ack wireSubAck
	if json.Unmarshal(payload, &ack) != nil {
		return
	}
	if ack.Err == nil {
		r := n.room(ack.Room)
		r.pubMu.Lock()
		r.mu.Lock()
		first := !r.remoteSeqKnown
		r.remoteSeqKnown = true
		delivered := r.lastSeq
		r.mu.Unlock()
		if first || delivered >= ack.LastSeq {
			r.mu.Lock()
			if ack.LastSeq > r.lastSeq {
				r.lastSeq = ack.LastSeq
			}
			r.mu.Unlock()
		} else {
			n.repairLocked(r, ack.LastSeq)
		}
		r.pubMu.Unlock()
	}
	n.cluster.calls.done(ack.ID, payload)
}

// deliverRemote hands an event from the room's owner to local sinks, in seq order:
// a message already delivered is dropped, a gap is repaired from the store first.
func (n *Node) deliverRemote(ev *Event) {
	if ev.RoomID == chat.NilID {
		return
	}
	n.mu.Lock()
	r := n.rooms[ev.RoomID]
	n.mu.Unlock()
	if r == nil {
		return
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	if ev.Seq > 0 {
		r.mu.Lock()
		last := r.lastSeq
		r.mu.Unlock()
		if ev.Seq <= last {
			return
		}
		if ev.Seq > last+1 {
			n.repairLocked(r, ev.Seq-1)
		}
		r.mu.Lock()
		if ev.Seq > r.lastSeq {
			r.lastSeq = ev.Seq
		}
		r.mu.Unlock()
	}
	delivered := r.deliverLocked(ev)
	n.m.fanout.Add(float64(delivered))
}

// repairLocked delivers the room's messages after its delivered seq up to upTo,
// read from the store (committed messages are durable before any event about them
// leaves their owner). The caller holds r.pubMu.
func (n *Node) repairLocked(r *room, upTo int64) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	for {
		r.mu.Lock()
		from := r.lastSeq
		r.mu.Unlock()
		if from >= upTo {
			return
		}
		msgs, err := n.store.MessagesAfterSeq(ctx, r.id, from, 100)
		if err != nil || len(msgs) == 0 {
			n.log.Warn("gap repair failed", "room", r.id, "from", from, "to", upTo, "err", err)
			return
		}
		for i := range msgs {
			m := msgs[i]
			if m.Seq > upTo {
				return
			}
			r.deliverLocked(&Event{Type: EventMessageCreated, RoomID: r.id, Seq: m.Seq,
				Data: &MessageEvent{RoomID: r.id, Message: &m}})
			r.mu.Lock()
			r.lastSeq = m.Seq
			r.mu.Unlock()
		}
		n.m.gapRepairs.Inc()
	}
}

// publishOwned orders and fans out an event of a room this node owns (from a
// Publish here or forwarded by another node).
func (n *Node) publishOwned(ev *Event) {
	r := n.room(ev.RoomID)
	r.pubMu.Lock()
	if ev.Message != nil {
		r.mu.Lock()
		r.recent.update(ev.Message)
		r.mu.Unlock()
	}
	delivered := r.deliverLocked(ev)
	n.fanoutRemoteLocked(r, ev)
	r.pubMu.Unlock()
	n.m.fanout.Add(float64(delivered))
}

// deliverUser hands a user event to this node's user sink.
func (n *Node) deliverUser(ev *Event) {
	if b := n.userSink.Load(); b != nil {
		b.sink.Deliver(ev)
	}
}

// ringChanged moves rooms after a ring change: rooms this node no longer owns stop
// taking writes here (the store fences any batch still in flight), and rooms with
// local subscribers whose owner changed subscribe again, to the new owner.
func (n *Node) ringChanged(r *ring.Ring) {
	rooms := n.roomList()
	for _, rm := range rooms {
		owner := r.RoomOwner(rm.id)
		rm.mu.Lock()
		owned, hasSinks, subOwner := rm.owned, len(rm.sinks) > 0, rm.subOwner
		for s := range rm.remoteSubs {
			if !r.Contains(s) {
				delete(rm.remoteSubs, s)
			}
		}
		rm.mu.Unlock()
		if owned && owner != n.cfg.Name {
			n.disown(rm)
			rm.mu.Lock()
			rm.remoteSubs = nil
			rm.mu.Unlock()
		}
		if hasSinks && owner != subOwner {
			go n.resubscribe(rm)
		}
	}
}

// resubscribeFrom resubscribes the rooms whose subscription was with a node whose
// link went down, or that asked for a resync. A subscription to peer still in
// flight is marked (resyncs) so that its ack does not count: peer may have dropped
// it before asking.
func (n *Node) resubscribeFrom(peer string) {
	n.mu.Lock()
	var rooms []*room
	for _, rm := range n.rooms {
		rm.mu.Lock()
		if rm.subPending == peer {
			rm.resyncs++
		}
		if rm.subOwner == peer && len(rm.sinks) > 0 {
			rooms = append(rooms, rm)
		}
		rm.mu.Unlock()
	}
	n.mu.Unlock()
	for _, rm := range rooms {
		rm.mu.Lock()
		rm.subOwner = ""
		rm.mu.Unlock()
		go n.resubscribe(rm)
	}
}

// resubscribeAll resubscribes every room with local subscribers, to whoever owns it
// now (after the cluster accepted this node at a new address: what it registered
// before may have been refused or dropped). Resubscribing is idempotent for the
// owner, and the ack repairs any gap from the store. It returns how many rooms.
func (n *Node) resubscribeAll() int {
	n.mu.Lock()
	var rooms []*room
	for _, rm := range n.rooms {
		rm.mu.Lock()
		if len(rm.sinks) > 0 {
			rm.subOwner = ""
			rooms = append(rooms, rm)
		}
		rm.mu.Unlock()
	}
	n.mu.Unlock()
	for _, rm := range rooms {
		go n.resubscribe(rm)
	}
	return len(rooms)
}

// resubscribe registers this node's subscribers of rm with the room's current owner,
// retrying while the cluster settles.
func (n *Node) resubscribe(rm *room) {
	for attempt := 0; attempt < 20; attempt++ {
		rm.mu.Lock()
		hasSinks := len(rm.sinks) > 0
		rm.mu.Unlock()
		if !hasSinks {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
		err := n.ensureSubscribed(ctx, rm)
		cancel()
		if err == nil {
			return
		}
		n.log.Debug("resubscribe", "room", rm.id, "attempt", attempt, "err", err)
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	n.log.Warn("resubscribe gave up", "room", rm.id)
}

// ensureSubscribed makes sure events of rm reach this node: by owning it, or by
// being registered with its owner.
func (n *Node) ensureSubscribed(ctx context.Context, rm *room) error {
	owner := n.Owner(rm.id)
	if owner == "" {
		return errNoOwner
	}
	if owner == n.cfg.Name {
		if err := n.ensureOwned(ctx, rm); err != nil {
			return err
		}
		rm.mu.Lock()
		rm.subOwner = owner
		rm.mu.Unlock()
		return nil
	}
	rm.mu.Lock()
	already := rm.subOwner == owner
	resyncs := rm.resyncs
	if !already {
		rm.subPending = owner
	}
	rm.mu.Unlock()
	if already {
		return nil
	}
	_, err := n.subscribeRemote(ctx, rm, owner)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.subPending == owner {
		rm.subPending = ""
	}
	switch {
	case err != nil:
		return err
	case rm.resyncs != resyncs:
		// The owner asked for a resync while this subscription was in flight: it may
		// have registered it and then dropped it (its ring did not yet hold this
		// node), so the ack proves nothing. Subscribe again.
		return errResyncedMeanwhile
	}
	rm.subOwner = owner
	return nil
}

// errResyncedMeanwhile fails a subscription whose owner asked for a resync while it
// was in flight; resubscribe tries again.
var errResyncedMeanwhile = errors.New("node: the owner asked for a resync during the subscription")

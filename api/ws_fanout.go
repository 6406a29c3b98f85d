package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/wsconn"
)

// roomFanout is the one node.Sink of a room on this node: it encodes each event once
// and writes the same frame to every local connection in the room.
type roomFanout struct {
	hub  *wsHub
	room chat.ID

	ready chan struct{} // closed once subscribed (err set on failure)
	err   error

	mu      sync.Mutex
	lastSeq int64                    // newest message seq this fan-out has seen
	members map[*wsClient]*joinState // local connections in the room
}

// joinState is a connection's place in a room's fan-out. While its join replays
// history, live frames wait in pending, so the client sees the replay, the ack, then
// live events: no gap, no duplicate.
type joinState struct {
	replaying bool
	pending   []*wsconn.Frame
}

// Deliver implements node.Sink: called in the room's event order, never blocking.
func (f *roomFanout) Deliver(ev *node.Event) {
	if ev.Type == node.EventKick {
		f.kick(ev)
		return
	}
	start := time.Now()
	frame := encodeEvent(ev)
	if frame == nil {
		return
	}
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		f.hub.s.m.fanout.Observe(time.Since(start).Seconds())
	}()
	if ev.Seq > f.lastSeq {
		f.lastSeq = ev.Seq
	}
	for c, js := range f.members {
		if js.replaying {
			if len(js.pending) >= maxPendingDuringReplay {
				go c.close(wsconn.ClosePolicyViolation, "too slow")
				continue
			}
			js.pending = append(js.pending, frame)
			continue
		}
		c.sendDelayed(frame)
	}
}

// kick removes the sockets of the event's user (every socket when the user is zero)
// from the fan-out at once; the hub's bookkeeping follows on another goroutine
// (Deliver holds f.mu, which comes after wsHub.mu in the lock order).
func (f *roomFanout) kick(ev *node.Event) {
	k, ok := node.DecodeData[node.KickEvent](ev)
	if !ok {
		return
	}
	f.mu.Lock()
	var gone []*wsClient
	for c := range f.members {
		if k.UserID == chat.NilID || c.sess.UserID == k.UserID {
			delete(f.members, c)
			gone = append(gone, c)
		}
	}
	f.mu.Unlock()
	if len(gone) > 0 {
		go func() {
			for _, c := range gone {
				f.hub.leaveRoom(c, f.room, f)
			}
		}()
	}
}

// fanout returns the room's fan-out, subscribing it to the node on first use.
func (h *wsHub) fanout(ctx context.Context, room chat.ID) (*roomFanout, error) {
	h.mu.Lock()
	f := h.rooms[room]
	created := f == nil
	if created {
		f = &roomFanout{hub: h, room: room, ready: make(chan struct{}), members: make(map[*wsClient]*joinState)}
		h.rooms[room] = f
	}
	h.mu.Unlock()
	if created {
		last, err := h.s.node.Subscribe(ctx, room, f)
		f.mu.Lock()
		if last > f.lastSeq {
			f.lastSeq = last
		}
		f.mu.Unlock()
		f.err = err
		close(f.ready)
		if err != nil {
			h.mu.Lock()
			if h.rooms[room] == f {
				delete(h.rooms, room)
			}
			h.mu.Unlock()
		}
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// joinRoom adds c to the room and, with since, replays every message after it
// before going live. It returns the last seq the ack reports.
func (h *wsHub) joinRoom(ctx context.Context, c *wsClient, room chat.ID, since *int64, ackID json.RawMessage) error {
	f, err := h.fanout(ctx, room)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.rooms[room] = f
	c.mu.Unlock()

	f.mu.Lock()
	last := f.lastSeq
	js := &joinState{replaying: since != nil && *since < last}
	f.members[c] = js
	if !js.replaying {
		if len(ackID) > 0 {
			c.send(ackFrame(ackID, joinAck{RoomID: room, LastSeq: last}))
		}
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()

	if err := h.replay(ctx, c, room, *since, last); err != nil {
		h.leaveRoom(c, room, f)
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(ackID) > 0 {
		c.send(ackFrame(ackID, joinAck{RoomID: room, LastSeq: last}))
	}
	for _, fr := range js.pending {
		c.send(fr)
	}
	js.pending, js.replaying = nil, false
	return nil
}

// replay sends the room's messages with since < seq <= last, from the owner's
// recent buffer when it reaches back far enough, else from the store, page by page.
func (h *wsHub) replay(ctx context.Context, c *wsClient, room chat.ID, since, last int64) error {
	if msgs, _, ok := h.s.node.Recent(room, since); ok {
		for i := range msgs {
			if msgs[i].Seq > last {
				break
			}
			c.send(messageFrame(room, &msgs[i]))
		}
		return nil
	}
	for since < last {
		msgs, err := h.s.store.MessagesAfterSeq(ctx, room, since, replayPage)
		if err != nil {
			return fmt.Errorf("api: replay: %w", err)
		}
		if len(msgs) == 0 {
			return errors.New("api: replay: history ends before the room's last seq")
		}
		for i := range msgs {
			if msgs[i].Seq > last {
				return nil
			}
			c.send(messageFrame(room, &msgs[i]))
			since = msgs[i].Seq
		}
	}
	return nil
}

// leaveRoom removes c from a room's fan-out, unsubscribing the room from the node
// when no local connection is left in it.
func (h *wsHub) leaveRoom(c *wsClient, room chat.ID, f *roomFanout) {
	c.mu.Lock()
	if c.rooms[room] == f {
		delete(c.rooms, room)
	}
	c.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	f.mu.Lock()
	delete(f.members, c)
	empty := len(f.members) == 0
	f.mu.Unlock()
	if empty && h.rooms[room] == f {
		delete(h.rooms, room)
		h.s.node.Unsubscribe(room, f)
	}
}

// kick removes a user's connections from a room at once (removed member, left
// member), on every node: the kick travels through the room's owner, after the event
// that announced the departure.
func (h *wsHub) kick(room chat.ID, user chat.ID) {
	h.s.publish(&node.Event{Type: node.EventKick, RoomID: room, Data: &node.KickEvent{UserID: user}})
}

// kickAll removes every connection from a room (deleted room), on every node.
func (h *wsHub) kickAll(room chat.ID) {
	h.s.publish(&node.Event{Type: node.EventKick, RoomID: room, Data: &node.KickEvent{}})
}

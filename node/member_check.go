package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
)

// ErrNoAnswer means the room's owner could not be asked (no owner yet, ownership
// moving, the link down, no reply in time). The caller answers from the store.
var ErrNoAnswer = errors.New("node: the room's owner did not answer")

// memberCheckTimeout bounds the wait for the owner's answer: the store can answer
// instead, so a slow owner, or one from before this request existed (it ignores
// the frame, during a rolling upgrade), costs a join this much, not remoteTimeout.
const memberCheckTimeout = 500 * time.Millisecond

type wireMemberReq struct {
	ID   uint64  `json:"id"`
	Room chat.ID `json:"room"`
	User chat.ID `json:"user"`
}

type wireMemberResp struct {
	ID      uint64      `json:"id"`
	Err     *chat.Error `json:"err,omitempty"`
	NoReply bool        `json:"no_reply,omitempty"`
}

// CheckMember tells whether user may follow the room's events: nil for a member,
// not_member for a non-member of a public room, not_found for any other room (one
// that does not exist, or that the user may not know of). It is asked of the
// room's owner, which answers from the memberships it caches for sends, so a
// WebSocket join costs no store read once the room is warm; the owner drops that
// cache on every change of members (RoomChanged). ErrNoAnswer: ask the store.
func (n *Node) CheckMember(ctx context.Context, roomID, user chat.ID) error {
	owner := n.Owner(roomID)
	switch owner {
	case "":
		return ErrNoAnswer
	case n.cfg.Name:
		err := n.checkMemberOwned(ctx, roomID, user)
		if e := chat.AsError(err); err != nil && (e == nil || e.Code == chat.CodeNotOwner) {
			return ErrNoAnswer
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, memberCheckTimeout)
	defer cancel()
	payload, err := n.cluster.call(ctx, owner, kindMemberReq, func(id uint64) []byte {
		return encodeWire(&wireMemberReq{ID: id, Room: roomID, User: user})
	})
	if err != nil {
		return ErrNoAnswer
	}
	var resp wireMemberResp
	if json.Unmarshal(payload, &resp) != nil || resp.NoReply {
		return ErrNoAnswer
	}
	if resp.Err != nil {
		return resp.Err
	}
	return nil
}

// checkMemberOwned answers CheckMember on the owner. A room that does not exist is
// not kept in the room map, so joins of made-up ids cannot grow it.
func (n *Node) checkMemberOwned(ctx context.Context, roomID, user chat.ID) error {
	r := n.room(roomID)
	if err := n.ensureOwned(ctx, r); err != nil {
		if e := chat.AsError(err); e != nil && (e.Code == chat.CodeNotFound || e.Code == chat.CodeNotOwner) {
			n.forgetUnused(r)
		}
		return err
	}
	// A cached "no" may predate a join made through another node, whose
	// RoomChanged is still on its way: a refusal is always read afresh.
	m, ok := r.cachedMember(user)
	var err error
	if !ok || m == nil {
		m, err = n.loadMember(ctx, r, user)
	}
	if err != nil {
		return err
	}
	if m != nil {
		return nil
	}
	r.mu.Lock()
	typ := r.typ
	r.mu.Unlock()
	if typ == chat.RoomPublic {
		return chat.Errorf(chat.CodeNotMember, "join the room first")
	}
	return chat.Errorf(chat.CodeNotFound, "room not found")
}

// serveMemberReq answers another node's CheckMember.
func (c *cluster) serveMemberReq(ctx context.Context, from string, payload []byte) {
	var w wireMemberReq
	if json.Unmarshal(payload, &w) != nil {
		return
	}
	resp := wireMemberResp{ID: w.ID}
	err := c.n.checkMemberOwned(ctx, w.Room, w.User)
	if err != nil {
		if resp.Err = chat.AsError(err); resp.Err == nil || resp.Err.Code == chat.CodeNotOwner {
			resp.Err, resp.NoReply = nil, true
		}
	}
	_ = c.send(from, kindMemberResp, encodeWire(&resp))
}

// forgetUnused drops r from the room map if nothing uses it: not owned, no local
// or remote subscribers.
func (n *Node) forgetUnused(r *room) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r.mu.Lock()
	unused := !r.owned && len(r.sinks) == 0 && len(r.remoteSubs) == 0
	r.mu.Unlock()
	if unused && n.rooms[r.id] == r {
		delete(n.rooms, r.id)
	}
}

package node

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

func (n *Node) send(ctx context.Context, req *SendRequest) (*chat.Message, bool, error) {
	if req.ClientMsgID != nil {
		call, first := n.inflight.join(req.Sender.ID, *req.ClientMsgID)
		if !first {
			select {
			case <-call.done:
				return call.msg, false, call.err
			case <-ctx.Done():
				return nil, false, ErrUnknownOutcome
			}
		}
		msg, created, err := n.route(ctx, req)
		n.inflight.finish(req.Sender.ID, *req.ClientMsgID, call, msg, err)
		return msg, created, err
	}
	return n.route(ctx, req)
}

// routeAttempts bounds how often a send follows a moving owner before it reports
// not_owner (which still means "not stored": the client may resend).
const routeAttempts = 8

// route sends through the room's owner: this node, or the one the ring names.
// While ownership moves the owner answers not_owner and the send follows it. A send
// with a client_msg_id whose forward got no answer (the owner died, a link broke) is
// sent again, to whoever owns the room then: the owner's idempotency lookup returns
// the first commit if there was one, so the retry can never store it twice.
func (n *Node) route(ctx context.Context, req *SendRequest) (*chat.Message, bool, error) {
	var err error
	// unknown: an earlier attempt may have committed. From then on no attempt's
	// refusal may be reported as "not stored": only success or unknown.
	unknown := false
	giveUp := func() (*chat.Message, bool, error) {
		if unknown {
			return nil, false, ErrUnknownOutcome
		}
		return nil, false, err
	}
	for attempt := 0; attempt < routeAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(min(attempt*attempt, 16)) * 50 * time.Millisecond):
			case <-ctx.Done():
				return giveUp()
			}
		}
		var (
			msg     *chat.Message
			created bool
		)
		owner := n.Owner(req.RoomID)
		switch owner {
		case "":
			err = chat.Errorf(chat.CodeNotOwner, "no node owns this room yet; retry")
			continue
		case n.cfg.Name:
			msg, created, err = n.sendOwned(ctx, req)
		default:
			msg, created, err = n.sendRemote(ctx, owner, req)
		}
		if errors.Is(err, ErrUnknownOutcome) {
			if req.ClientMsgID == nil || ctx.Err() != nil {
				return nil, false, err
			}
			unknown = true
			continue
		}
		if e := chat.AsError(err); e == nil || e.Code != chat.CodeNotOwner {
			return msg, created, err
		}
	}
	return giveUp()
}

// sendOwned is the owner's side of a send (from this node or forwarded by an edge):
// idempotency, the sender's rights, sequencing and group commit. Concurrent resends
// of one client_msg_id, from any edges, wait for the first.
func (n *Node) sendOwned(ctx context.Context, req *SendRequest) (*chat.Message, bool, error) {
	if req.ClientMsgID == nil {
		return n.sendOnce(ctx, req)
	}
	call, first := n.ownerInflight.join(req.Sender.ID, *req.ClientMsgID)
	if !first {
		select {
		case <-call.done:
			return call.msg, false, call.err
		case <-ctx.Done():
			return nil, false, ErrUnknownOutcome
		}
	}
	msg, created, err := n.sendOnce(ctx, req)
	n.ownerInflight.finish(req.Sender.ID, *req.ClientMsgID, call, msg, err)
	return msg, created, err
}

// sendOnce is send for a request that no other goroutine is sending.
//
// Idempotency costs nothing on the common path: the store's unique index on
// (sender, client_msg_id) refuses a reused id at commit (nothing of that message is
// written; the group commit splits the batch until the others are stored), and only
// then is the original read and returned.
func (n *Node) sendOnce(ctx context.Context, req *SendRequest) (*chat.Message, bool, error) {
	if !n.isLocal(req.RoomID) {
		return nil, false, chat.Errorf(chat.CodeNotOwner, "room ownership is moving; retry")
	}
	r := n.room(req.RoomID)
	if err := n.ensureOwned(ctx, r); err != nil {
		return nil, false, err
	}
	if req.Type != chat.MessageSystem {
		if err := n.checkSender(ctx, r, req.Sender.ID); err != nil {
			return n.OriginalOr(ctx, req.Sender.ID, req.ClientMsgID, err)
		}
	}
	attachments := req.Attachments
	if attachments == nil {
		attachments = []chat.Attachment{}
	}
	msg := &chat.Message{
		ID:          chat.NewID(),
		RoomID:      req.RoomID,
		Sender:      req.Sender,
		Type:        req.Type,
		Content:     req.Content,
		ContentHTML: req.ContentHTML,
		ParentID:    req.ParentID,
		Attachments: attachments,
		Reactions:   []chat.ReactionGroup{},
		CreatedAt:   chat.Now(),
		ClientMsgID: req.ClientMsgID,
	}
	p := &pending{room: r, msg: msg, done: make(chan error, 1)}
	if err := n.commit.enqueue(ctx, p); err != nil {
		return nil, false, err
	}
	select {
	case err := <-p.done:
		if errors.Is(err, errClientMsgIDTaken) {
			return n.OriginalOr(ctx, req.Sender.ID, req.ClientMsgID, err)
		}
		if err != nil {
			return nil, false, err
		}
		return msg, true, nil
	case <-ctx.Done():
		// The batch may still commit: the outcome is the store's to tell.
		return nil, false, ErrUnknownOutcome
	}
}

// OriginalOr answers a refused send: with the sender's stored message of the same
// client_msg_id when there is one (a resend returns the original whatever it names,
// even a room it may no longer send to, and whatever refused it), else with the
// refusal. Only *chat.Error refusals are looked up, so the common path costs no
// read. The API uses it for the refusals it makes before Send.
func (n *Node) OriginalOr(ctx context.Context, sender chat.ID, clientMsgID *string, refusal error) (*chat.Message, bool, error) {
	if clientMsgID == nil || chat.AsError(refusal) == nil {
		return nil, false, refusal
	}
	m, err := n.store.MessageByClientID(ctx, sender, *clientMsgID)
	if err != nil {
		if !errors.Is(err, chat.ErrNotFound) {
			// The refusal holds either way (this attempt stored nothing); a later
			// resend finds the original once the store answers.
			n.log.Warn("idempotency lookup after a refusal", "sender", sender, "err", err)
		}
		return nil, false, refusal
	}
	return m, false, nil
}

// checkSender applies the owner's rules: a member, not muted, and in a direct room
// not blocked by the other member.
func (n *Node) checkSender(ctx context.Context, r *room, sender chat.ID) error {
	m, err := n.member(ctx, r, sender)
	if err != nil {
		return err
	}
	r.mu.Lock()
	typ := r.typ
	r.mu.Unlock()
	if m == nil {
		if typ == chat.RoomPublic {
			return chat.Errorf(chat.CodeNotMember, "join the room to send messages")
		}
		return chat.Errorf(chat.CodeNotFound, "room not found")
	}
	if m.mutedUntil != nil && chat.Now() < *m.mutedUntil {
		return chat.Errorf(chat.CodeMuted, "you are muted in this room")
	}
	if typ == chat.RoomDirect {
		return n.checkNotBlocked(ctx, r.id, sender)
	}
	return nil
}

// checkNotBlocked refuses a sender whom the other member of a direct room blocked.
func (n *Node) checkNotBlocked(ctx context.Context, roomID, sender chat.ID) error {
	refs, err := n.store.MemberIDs(ctx, roomID)
	if err != nil {
		return wrapStore("direct room members", err)
	}
	for _, ref := range refs {
		if ref.UserID == sender {
			continue
		}
		blocked, err := n.store.Blocked(ctx, ref.UserID, sender)
		if err != nil {
			return wrapStore("block check", err)
		}
		if blocked {
			return chat.Errorf(chat.CodeBlocked, "this user does not accept your messages")
		}
	}
	return nil
}

// inflightSends lets a resend that arrives while its first attempt is still being
// committed wait for that attempt instead of committing twice.
type inflightSends struct {
	seed   maphash.Seed
	shards [32]inflightShard
}

type inflightShard struct {
	mu    sync.Mutex
	calls map[inflightKey]*inflightCall
}

type inflightKey struct {
	sender chat.ID
	cmid   string
}

type inflightCall struct {
	done chan struct{}
	msg  *chat.Message
	err  error
}

func (f *inflightSends) init() {
	f.seed = maphash.MakeSeed()
	for i := range f.shards {
		f.shards[i].calls = make(map[inflightKey]*inflightCall)
	}
}

func (f *inflightSends) shard(sender chat.ID, cmid string) *inflightShard {
	var h maphash.Hash
	h.SetSeed(f.seed)
	_, _ = h.Write(sender[:])
	_, _ = h.WriteString(cmid)
	return &f.shards[h.Sum64()%uint64(len(f.shards))]
}

// join returns the call for (sender, cmid); first is true for the caller that must
// perform it (and then call finish).
func (f *inflightSends) join(sender chat.ID, cmid string) (*inflightCall, bool) {
	sh := f.shard(sender, cmid)
	k := inflightKey{sender, cmid}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c, ok := sh.calls[k]; ok {
		return c, false
	}
	c := &inflightCall{done: make(chan struct{})}
	sh.calls[k] = c
	return c, true
}

func (f *inflightSends) finish(sender chat.ID, cmid string, c *inflightCall, msg *chat.Message, err error) {
	sh := f.shard(sender, cmid)
	sh.mu.Lock()
	delete(sh.calls, inflightKey{sender, cmid})
	sh.mu.Unlock()
	c.msg, c.err = msg, err
	close(c.done)
}

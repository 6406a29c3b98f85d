package node

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// commitTimeout bounds one store transaction of the group commit.
const commitTimeout = 10 * time.Second

// ErrUnknownOutcome means the store failed in a way that leaves unknown whether a
// message was committed. The caller must not report failure: the client resends with
// the same client_msg_id and gets the stored message or a fresh commit.
var ErrUnknownOutcome = errors.New("node: commit outcome unknown")

// pending is a message waiting for its batch.
type pending struct {
	room *room
	msg  *chat.Message
	done chan error // buffered(1): the shard never blocks on a departed sender
}

// GroupCommit writes many rooms' messages to the store in one transaction. Rooms are
// spread over shards by hash; each shard is one goroutine with one transaction in
// flight, so a room never has two (see the package doc).
type GroupCommit struct {
	n      *Node
	cfg    Config
	seed   maphash.Seed
	shards []chan *pending
	wg     sync.WaitGroup

	// mu orders enqueues before close: an enqueue holds it for reading while it hands
	// its message to a shard (waiting, if the shard is full, while the shard drains:
	// the shards never take mu), close takes it for writing before it closes the
	// shards, so no message is ever sent on a closed shard.
	mu     sync.RWMutex
	closed bool
}

func newGroupCommit(n *Node, cfg Config) *GroupCommit {
	g := &GroupCommit{n: n, cfg: cfg, seed: maphash.MakeSeed(), shards: make([]chan *pending, cfg.CommitShards)}
	for i := range g.shards {
		g.shards[i] = make(chan *pending, cfg.CommitQueue)
		g.wg.Add(1)
		go g.run(g.shards[i])
	}
	return g
}

// enqueue hands p to its room's shard, waiting for space until ctx ends.
func (g *GroupCommit) enqueue(ctx context.Context, p *pending) error {
	sh := g.shards[maphash.Bytes(g.seed, p.room.id[:])%uint64(len(g.shards))]
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return chat.Errorf(chat.CodeUnavailable, "node shutting down; retry")
	}
	select {
	case sh <- p:
		return nil
	case <-ctx.Done():
		return chat.Errorf(chat.CodeUnavailable, "commit queue full; retry")
	}
}

// close stops accepting messages and waits for queued ones to be committed.
func (g *GroupCommit) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	for _, sh := range g.shards {
		close(sh)
	}
	g.wg.Wait()
}

func (g *GroupCommit) run(in chan *pending) {
	defer g.wg.Done()
	batch := make([]*pending, 0, g.cfg.CommitMaxBatch)
	for {
		first, ok := <-in
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		batch = g.fill(in, batch)
		g.commit(batch)
		clear(batch)
	}
}

// fill gathers what is queued (waiting up to CommitMaxDelay) up to CommitMaxBatch.
func (g *GroupCommit) fill(in chan *pending, batch []*pending) []*pending {
	var timeout <-chan time.Time
	if g.cfg.CommitMaxDelay > 0 {
		t := time.NewTimer(g.cfg.CommitMaxDelay)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < g.cfg.CommitMaxBatch {
		select {
		case p, ok := <-in:
			if !ok {
				return batch
			}
			batch = append(batch, p)
			continue
		default:
		}
		if timeout == nil {
			return batch
		}
		select {
		case p, ok := <-in:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-timeout:
			return batch
		}
	}
	return batch
}

// roomShare is one room's part of a batch being committed.
type roomShare struct {
	room  *room
	items []*pending
}

// commit assigns seqs, writes the batch, and settles every message.
func (g *GroupCommit) commit(batch []*pending) {
	g.commitShares(groupByRoom(batch))
}

// commitShares commits shares in one transaction. When the
// store refuses it for one sender's mistake (a reused client_msg_id: a resend of a
// stored message, perhaps through another node; or an attachment another message
// took), nothing was written: the shares are split in two halves, committed one
// after the other with seqs assigned afresh, and a refused half is split again. So
// the culprit alone is refused, after about 2·log2(n) transactions rather than one
// per message, and the others of its batch are stored.
func (g *GroupCommit) commitShares(shares []*roomShare) {
	n := countItems(shares)
	req := make([]persist.RoomBatch, 0, len(shares))
	live := shares[:0:0]
	for _, sh := range shares {
		rb, ok := sh.assign()
		if !ok {
			sh.fail(chat.ErrFenced)
			continue
		}
		req = append(req, rb)
		live = append(live, sh)
	}
	if len(req) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	start := time.Now()
	results, err := g.n.store.CommitBatch(ctx, req)
	cancel()
	g.n.m.commitSeconds.Observe(time.Since(start).Seconds())
	g.n.m.batchSize.Observe(float64(n))
	switch {
	case refusal(err) != nil && n == 1:
		results = []error{refusal(err)}
	case refusal(err) != nil:
		left, right := halves(live)
		g.commitShares(left)
		g.commitShares(right)
		return
	case err != nil:
		g.n.m.storeErrors.Inc()
		g.n.log.Error("group commit failed", "rooms", len(req), "messages", n, "err", err)
		results = g.resolve(req, err)
	}
	for i, sh := range live {
		if results[i] != nil {
			if errors.Is(results[i], chat.ErrFenced) {
				g.n.m.fenced.Inc()
				g.n.disown(sh.room)
			}
			sh.fail(results[i])
			continue
		}
		g.n.committed(sh)
	}
}

// halves splits shares (more than one message in all) in two: by room when there
// are several, else the one room's messages, keeping their order.
func halves(shares []*roomShare) (left, right []*roomShare) {
	if len(shares) > 1 {
		return shares[:len(shares)/2], shares[len(shares)/2:]
	}
	sh := shares[0]
	k := len(sh.items) / 2
	return []*roomShare{{room: sh.room, items: sh.items[:k]}}, []*roomShare{{room: sh.room, items: sh.items[k:]}}
}

func countItems(shares []*roomShare) int {
	n := 0
	for _, sh := range shares {
		n += len(sh.items)
	}
	return n
}

// errClientMsgIDTaken marks the refusal of a message whose client_msg_id its sender
// already used: sendOnce answers with the stored original instead.
var errClientMsgIDTaken = errors.New("node: client_msg_id taken")

// refusal is the client's error for a CommitBatch refused because of one sender's
// mistake (nothing was written), or nil for any other outcome.
func refusal(err error) error {
	switch {
	case errors.Is(err, persist.ErrDuplicateClientMsgID):
		return fmt.Errorf("%w: %w", errClientMsgIDTaken,
			chat.Errorf(chat.CodeConflict, "client_msg_id already used; resend to get the stored message"))
	case errors.Is(err, persist.ErrAttachmentTaken):
		return chat.FieldError("attachments", "an attachment is already on a message, or not yours")
	}
	return nil
}

// resolve decides, after a failed CommitBatch, what happened to each room's share:
// a transaction can fail after COMMIT reached the store. It looks for each share's
// last message; found means committed, absent means not, and a store that still
// cannot answer leaves the outcome unknown.
func (g *GroupCommit) resolve(req []persist.RoomBatch, cause error) []error {
	out := make([]error, len(req))
	for i, rb := range req {
		last := rb.Messages[len(rb.Messages)-1]
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		_, err := g.n.store.MessageByID(ctx, last.ID, chat.NilID)
		cancel()
		switch {
		case err == nil:
			out[i] = nil
		case errors.Is(err, chat.ErrNotFound):
			out[i] = chat.Errorf(chat.CodeUnavailable, "store unavailable; message not stored")
		default:
			out[i] = ErrUnknownOutcome
		}
	}
	return out
}

func groupByRoom(batch []*pending) []*roomShare {
	idx := make(map[*room]int, 8)
	var shares []*roomShare
	for _, p := range batch {
		i, ok := idx[p.room]
		if !ok {
			i = len(shares)
			idx[p.room] = i
			shares = append(shares, &roomShare{room: p.room})
		}
		shares[i].items = append(shares[i].items, p)
	}
	return shares
}

// assign gives the share's messages the room's next seqs; false when this node no
// longer owns the room.
func (sh *roomShare) assign() (persist.RoomBatch, bool) {
	r := sh.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.owned {
		return persist.RoomBatch{}, false
	}
	rb := persist.RoomBatch{RoomID: r.id, Epoch: r.epoch, PrevSeq: r.lastSeq, Messages: make([]*chat.Message, len(sh.items))}
	for i, p := range sh.items {
		p.msg.Seq = r.lastSeq + int64(i) + 1
		rb.Messages[i] = p.msg
	}
	return rb, true
}

func (sh *roomShare) fail(err error) {
	for _, p := range sh.items {
		p.msg.Seq = 0
		p.done <- err
	}
}

// disown drops this node's ownership of r after the store fenced it; the next use
// re-acquires it (on one node) or redirects to the ring's owner (in a cluster).
func (n *Node) disown(r *room) {
	r.mu.Lock()
	was := r.owned
	r.owned = false
	// lastSeq is what local sinks have received: if this node now gets the room's
	// events from a new owner, the gap up to that owner's ack is repaired, not skipped.
	r.remoteSeqKnown = true
	r.mu.Unlock()
	if was {
		n.m.roomsOwned.Dec()
		n.m.ownership.Inc()
	}
}

// committed publishes a durable share: recent buffer, fan-out in seq order, acks.
func (n *Node) committed(sh *roomShare) {
	r := sh.room
	r.pubMu.Lock()
	r.mu.Lock()
	for _, p := range sh.items {
		r.recent.push(*p.msg)
	}
	r.lastSeq = sh.items[len(sh.items)-1].msg.Seq
	r.mu.Unlock()
	n.m.committed.Add(float64(len(sh.items)))
	delivered := 0
	for _, p := range sh.items {
		ev := &Event{Type: EventMessageCreated, RoomID: r.id, Seq: p.msg.Seq,
			Data: &MessageEvent{RoomID: r.id, Message: p.msg}}
		delivered += r.deliverLocked(ev)
		n.fanoutRemoteLocked(r, ev)
	}
	r.pubMu.Unlock()
	n.m.fanout.Add(float64(delivered))
	for _, p := range sh.items {
		p.done <- nil
	}
}

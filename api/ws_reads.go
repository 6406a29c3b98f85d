package api

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// readFlushEvery is how long read markers from WebSocket read_message commands wait
// to be written: a client marking every message read as it scrolls produces one
// store write per room per interval, not one per message.
const readFlushEvery = 200 * time.Millisecond

type readKey struct{ room, user chat.ID }

type readMark struct {
	msg chat.ID
	seq int64
	at  chat.Time
}

// readBatcher coalesces read markers per (room, user), keeping the furthest one.
type readBatcher struct {
	mu      sync.Mutex
	pending map[readKey]readMark
}

// add records a read marker to write at the next flush.
func (b *readBatcher) add(room, user chat.ID, m readMark) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = make(map[readKey]readMark)
	}
	k := readKey{room, user}
	if cur, ok := b.pending[k]; !ok || m.seq > cur.seq {
		b.pending[k] = m
	}
}

// flushReads writes the pending markers every readFlushEvery until the hub stops,
// then once more; each marker that moved emits read_receipt.
func (h *wsHub) flushReads() {
	t := time.NewTicker(readFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			h.flushReadsOnce()
			return
		case <-t.C:
			h.flushReadsOnce()
		}
	}
}

func (h *wsHub) flushReadsOnce() {
	h.reads.mu.Lock()
	batch := h.reads.pending
	h.reads.pending = nil
	h.reads.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for k, m := range batch {
		moved, err := h.s.store.MarkRead(ctx, k.room, k.user, m.msg, m.seq, m.at)
		if err != nil {
			h.s.log.Warn("read marker not written", "room", k.room, "err", err)
			continue
		}
		if moved {
			h.s.publish(&node.Event{Type: node.EventReadReceipt, RoomID: k.room,
				Data: &ReadReceiptEvent{RoomID: k.room, MessageID: m.msg, UserID: k.user, ReadAt: m.at}})
		}
	}
}

package persist

import (
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// ErrDuplicateClientMsgID is the fault CommitBatch returns (wrapped) when a
// message's client_msg_id was already used by its sender, perhaps through another
// node: the whole call is refused and nothing is written. The owner can answer that
// sender with the original (MessageByClientID) and commit the others again.
var ErrDuplicateClientMsgID = errors.New("persist: duplicate client_msg_id")

// validateBatches checks what the store's fence cannot: each room appears once, and
// its messages belong to it with seqs PrevSeq+1, PrevSeq+2, ... A violation is the
// owner's bug, refused before anything is written.
func validateBatches(batches []RoomBatch) error {
	seen := make(map[chat.ID]struct{}, len(batches))
	for _, b := range batches {
		if _, dup := seen[b.RoomID]; dup {
			return fmt.Errorf("persist: commit batch: room %s appears twice", b.RoomID)
		}
		seen[b.RoomID] = struct{}{}
		for i, m := range b.Messages {
			switch {
			case m == nil:
				return fmt.Errorf("persist: commit batch: room %s: message %d is nil", b.RoomID, i)
			case m.RoomID != b.RoomID:
				return fmt.Errorf("persist: commit batch: message %s belongs to room %s, not %s", m.ID, m.RoomID, b.RoomID)
			case m.Seq != b.PrevSeq+int64(i)+1:
				return fmt.Errorf("persist: commit batch: room %s: message %d has seq %d, want %d", b.RoomID, i, m.Seq, b.PrevSeq+int64(i)+1)
			case m.ID == chat.NilID:
				return fmt.Errorf("persist: commit batch: room %s: message seq %d has no ID", b.RoomID, m.Seq)
			}
		}
	}
	return nil
}

// lastAt is the room's new last_message_at after b: the created_at of its newest
// (highest seq) message of any type, or nil (unchanged) for an empty batch.
func (b *RoomBatch) lastAt() *chat.Time {
	if len(b.Messages) == 0 {
		return nil
	}
	t := b.Messages[len(b.Messages)-1].CreatedAt
	return &t
}

// fenced is the result of a room whose epoch or last seq moved.
func fenced(b *RoomBatch) error {
	return fmt.Errorf("persist: room %s: epoch %d at seq %d is no longer current: %w", b.RoomID, b.Epoch, b.PrevSeq, chat.ErrFenced)
}

// commitFault wraps a fault of a whole CommitBatch, recognising a duplicate
// client_msg_id.
func (s *sqlStore) commitFault(err error) error {
	if s.isViolation(err, uniqueViolation, "client_msg_id") {
		return fmt.Errorf("persist: commit batch: %w: %w", ErrDuplicateClientMsgID, err)
	}
	return fmt.Errorf("persist: commit batch: %w", err)
}

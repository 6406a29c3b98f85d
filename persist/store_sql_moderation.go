package persist

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// Pin pins a live message of room (idempotent): chat.ErrNotFound when the message
// is not in room, chat.CodeConflict when it is deleted.
func (s *sqlStore) Pin(ctx context.Context, room, message, by chat.ID, at chat.Time) error {
	n, err := s.db.exec(ctx, `INSERT INTO pins (room_id, message_id, pinned_by, pinned_at)
		SELECT m.room_id, m.id, $3::uuid, $4::bigint FROM messages m
		WHERE m.id = $2 AND m.room_id = $1 AND NOT m.deleted
		ON CONFLICT (room_id, message_id) DO NOTHING`, room, message, by, at)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return notFound("user", by)
		}
		return fmt.Errorf("persist: pin %s: %w", message, err)
	}
	if n > 0 {
		return nil
	}
	var inRoom chat.ID
	var deleted bool
	err = scanOne(s.db.queryRow(ctx, `SELECT room_id, deleted FROM messages WHERE id = $1`, message), "message", message, &inRoom, &deleted)
	switch {
	case err != nil:
		return err
	case inRoom != room:
		return notFound("message", message)
	case deleted:
		return errDeleted(message)
	}
	return nil // already pinned
}

// Unpin removes a pin; chat.ErrNotFound if the message was not pinned in room.
func (s *sqlStore) Unpin(ctx context.Context, room, message chat.ID) error {
	n, err := s.db.exec(ctx, `DELETE FROM pins WHERE room_id = $1 AND message_id = $2`, room, message)
	if err != nil {
		return fmt.Errorf("persist: unpin %s: %w", message, err)
	}
	if n == 0 {
		return notFound("pin", message)
	}
	return nil
}

// Pins lists a room's pins, newest first, with messages as viewer sees them.
func (s *sqlStore) Pins(ctx context.Context, room, viewer chat.ID) ([]chat.Pin, error) {
	var ids []chat.ID
	pins, err := collect(ctx, s.db, "pins", func(r rows, p *chat.Pin) error {
		if err := r.Scan(append([]any{&p.Message.ID, &p.PinnedAt}, userDest(&p.PinnedBy)...)...); err != nil {
			return err
		}
		finishUser(&p.PinnedBy, s.now())
		ids = append(ids, p.Message.ID)
		return nil
	}, `SELECT p.message_id, p.pinned_at, `+userCols+` FROM pins p JOIN users u ON u.id = p.pinned_by
		WHERE p.room_id = $1 ORDER BY p.pinned_at DESC, p.message_id DESC`, room)
	if err != nil {
		return nil, err
	}
	msgs, err := s.messagesByIDs(ctx, ids, viewer)
	if err != nil {
		return nil, err
	}
	out := pins[:0]
	for _, p := range pins {
		if m, ok := msgs[p.Message.ID]; ok { // a pin deleted with its message in a race is skipped
			p.Message = *m
			out = append(out, p)
		}
	}
	return out, nil
}

// Block records that blocker blocks blocked; added is false when it already did.
func (s *sqlStore) Block(ctx context.Context, blocker, blocked chat.ID, at chat.Time) (bool, error) {
	n, err := s.db.exec(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (blocker_id, blocked_id) DO NOTHING`, blocker, blocked, at)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return false, notFound("user", blocked)
		}
		return false, fmt.Errorf("persist: block: %w", err)
	}
	return n > 0, nil
}

// Unblock removes a block; chat.ErrNotFound when there was none.
func (s *sqlStore) Unblock(ctx context.Context, blocker, blocked chat.ID) error {
	n, err := s.db.exec(ctx, `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blocker, blocked)
	if err != nil {
		return fmt.Errorf("persist: unblock: %w", err)
	}
	if n == 0 {
		return notFound("block", blocked)
	}
	return nil
}

// Blocks lists the users blocker blocks, in the order they were blocked.
func (s *sqlStore) Blocks(ctx context.Context, blocker chat.ID, p Page) ([]chat.User, string, error) {
	at, afterID, more, err := timeIDCursor(p.Cursor, curBlocks)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	type blockRow struct {
		user chat.User
		at   chat.Time
	}
	q := `SELECT ` + userCols + `, b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1`
	args := []any{blocker}
	if more {
		q += ` AND (b.created_at > $2 OR (b.created_at = $2 AND b.blocked_id > $3))`
		args = append(args, at, afterID)
	}
	q += fmt.Sprintf(` ORDER BY b.created_at, b.blocked_id LIMIT $%d`, len(args)+1)
	rs, err := collect(ctx, s.db, "blocks", func(r rows, b *blockRow) error {
		if err := r.Scan(append(userDest(&b.user), &b.at)...); err != nil {
			return err
		}
		finishUser(&b.user, s.now())
		return nil
	}, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	rs, next := trimPage(rs, limit, func(b *blockRow) string {
		return cursor{K: curBlocks, N: int64(b.at), I: b.user.ID.String()}.String()
	})
	users := make([]chat.User, len(rs))
	for i := range rs {
		users[i] = rs[i].user
	}
	return users, next, nil
}

// Blocked reports whether blocker blocks blocked.
func (s *sqlStore) Blocked(ctx context.Context, blocker, blocked chat.ID) (bool, error) {
	var n int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blocker, blocked).Scan(&n); err != nil {
		return false, fmt.Errorf("persist: blocked: %w", err)
	}
	return n > 0, nil
}

package persist

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// AcquireRoom takes a new ownership epoch for owner (one conditional increment, so
// concurrent claimants get distinct epochs and only the last one's batches commit)
// and returns it with the room's highest committed seq.
func (s *sqlStore) AcquireRoom(ctx context.Context, room chat.ID, owner string) (epoch, lastSeq int64, err error) {
	err = scanOne(s.db.writeRow(ctx, `UPDATE rooms SET owner_epoch = owner_epoch + 1, owner_node = $2
		WHERE id = $1 RETURNING owner_epoch, last_seq`, room, owner), "room", room, &epoch, &lastSeq)
	return epoch, lastSeq, err
}

// messageState reports whether a message exists and is deleted, to explain why a
// conditional write touched nothing.
func (s *sqlStore) messageState(ctx context.Context, q querier, id chat.ID) (deleted bool, err error) {
	err = scanOne(q.queryRow(ctx, `SELECT deleted FROM messages WHERE id = $1`, id), "message", id, &deleted)
	return deleted, err
}

func errDeleted(id chat.ID) error {
	return fmt.Errorf("persist: message %s: %w", id, chat.Errorf(chat.CodeConflict, "message is deleted"))
}

// EditMessage replaces content and content_html and sets edited_at; a deleted
// message is chat.CodeConflict. (Who may edit, and until when, is the caller's
// rule: chat.CanEdit.)
func (s *sqlStore) EditMessage(ctx context.Context, id chat.ID, content, html string, at chat.Time, viewer chat.ID) (*chat.Message, error) {
	n, err := s.db.exec(ctx, `UPDATE messages SET content = $2, content_html = $3, edited_at = $4
		WHERE id = $1 AND NOT deleted`, id, content, html, at)
	if err != nil {
		return nil, fmt.Errorf("persist: edit message %s: %w", id, err)
	}
	if n == 0 {
		if _, err := s.messageState(ctx, s.db, id); err != nil {
			return nil, err
		}
		return nil, errDeleted(id)
	}
	return s.MessageByID(ctx, id, viewer)
}

// DeleteMessage soft-deletes in one transaction: the row and its seq stay (so
// pagination and resume never see a gap, and replies keep their parent), content
// becomes chat.DeletedContent, content_html empty, reactions and pins go.
// Deleting a deleted message changes nothing and returns it.
func (s *sqlStore) DeleteMessage(ctx context.Context, id chat.ID, viewer chat.ID) (*chat.Message, error) {
	var m *chat.Message
	err := s.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE messages SET deleted = TRUE, content = $2, content_html = '' WHERE id = $1`, id, chat.DeletedContent)
		if err != nil {
			return fmt.Errorf("persist: delete message %s: %w", id, err)
		}
		if n == 0 {
			return notFound("message", id)
		}
		for _, sql := range []string{`DELETE FROM reactions WHERE message_id = $1`, `DELETE FROM pins WHERE message_id = $1`,
			`DELETE FROM attachments WHERE message_id = $1`} {
			if _, err := q.exec(ctx, sql, id); err != nil {
				return fmt.Errorf("persist: delete message %s: %w", id, err)
			}
		}
		m, err = s.messageByID(ctx, q, id, viewer)
		return err
	})
	return m, err
}

// AddReaction records user's emoji on a live message: chat.CodeReactionExists
// when already there, chat.ErrNotFound for an unknown message, chat.CodeConflict
// for a deleted one.
func (s *sqlStore) AddReaction(ctx context.Context, message, user chat.ID, emoji string, at chat.Time) error {
	n, err := s.db.exec(ctx, `INSERT INTO reactions (message_id, user_id, emoji, created_at)
		SELECT m.id, $2::uuid, $3::text, $4::bigint FROM messages m WHERE m.id = $1 AND NOT m.deleted
		ON CONFLICT (message_id, user_id, emoji) DO NOTHING`, message, user, emoji, at)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return notFound("user", user)
		}
		return fmt.Errorf("persist: add reaction to %s: %w", message, err)
	}
	if n > 0 {
		return nil
	}
	deleted, err := s.messageState(ctx, s.db, message)
	switch {
	case err != nil:
		return err
	case deleted:
		return errDeleted(message)
	}
	return fmt.Errorf("persist: add reaction to %s: %w", message,
		chat.Errorf(chat.CodeReactionExists, "you already reacted with this emoji"))
}

// RemoveReaction removes user's emoji from a message; chat.ErrNotFound if absent.
func (s *sqlStore) RemoveReaction(ctx context.Context, message, user chat.ID, emoji string) error {
	n, err := s.db.exec(ctx, `DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3`, message, user, emoji)
	if err != nil {
		return fmt.Errorf("persist: remove reaction from %s: %w", message, err)
	}
	if n == 0 {
		return notFound("reaction", emoji)
	}
	return nil
}

// Receipts lists the members, sender excluded, whose read marker is at or past the
// message, earliest reader first.
func (s *sqlStore) Receipts(ctx context.Context, message chat.ID) ([]chat.Receipt, error) {
	var room, sender chat.ID
	var seq int64
	err := scanOne(s.db.queryRow(ctx, `SELECT room_id, sender_id, seq FROM messages WHERE id = $1`, message),
		"message", message, &room, &sender, &seq)
	if err != nil {
		return nil, err
	}
	return collect(ctx, s.db, "receipts", func(r rows, rc *chat.Receipt) error {
		if err := r.Scan(append(userDest(&rc.User), &rc.ReadAt)...); err != nil {
			return err
		}
		finishUser(&rc.User, s.now())
		return nil
	}, `SELECT `+userCols+`, COALESCE(me.read_at, me.joined_at) AS seen_at FROM members me
		JOIN users u ON u.id = me.user_id
		WHERE me.room_id = $1 AND me.last_read_seq >= $2 AND me.user_id <> $3 ORDER BY seen_at, u.id`, room, seq, sender)
}

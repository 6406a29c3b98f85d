package persist

import (
	"context"
	"fmt"
	"slices"

	"github.com/chatd/chatd/chat"
)

// msgSelect selects messages "m" with their senders "u".
var msgSelect = `SELECT m.id, m.room_id, m.seq, m.type, m.content, m.content_html, m.parent_id,
	m.client_msg_id, m.created_at, m.edited_at, m.deleted, ` + userCols + `
	FROM messages m JOIN users u ON u.id = m.sender_id`

func (s *sqlStore) scanMessage(r rows, m *chat.Message) error {
	dest := append([]any{&m.ID, &m.RoomID, &m.Seq, &m.Type, &m.Content, &m.ContentHTML, &m.ParentID,
		&m.ClientMsgID, &m.CreatedAt, &m.EditedAt, &m.Deleted}, userDest(&m.Sender)...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	finishUser(&m.Sender, s.now())
	// Never nil: the contract's arrays are [] when empty, not null.
	m.Attachments = []chat.Attachment{}
	m.Reactions = []chat.ReactionGroup{}
	return nil
}

// loadMessages runs a msgSelect query and fills in the messages' attachments and
// reactions as viewer sees them.
func (s *sqlStore) loadMessages(ctx context.Context, q querier, viewer chat.ID, sql string, args ...any) ([]chat.Message, error) {
	ms, err := collect(ctx, q, "messages", s.scanMessage, sql, args...)
	if err != nil {
		return nil, err
	}
	if err := s.fillReactions(ctx, q, viewer, ms); err != nil {
		return nil, err
	}
	if err := s.fillAttachments(ctx, q, ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// fillReactions groups the reactions of ms per emoji, in order of first use, with
// whether viewer is among the reactors. Deleted messages have none, even if a
// reaction raced with the deletion.
func (s *sqlStore) fillReactions(ctx context.Context, q querier, viewer chat.ID, ms []chat.Message) error {
	const chunk = 500
	index := make(map[chat.ID]int, len(ms))
	ids := make([]any, 0, len(ms))
	for i := range ms {
		if !ms[i].Deleted {
			index[ms[i].ID] = i
			ids = append(ids, ms[i].ID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := append([]any{viewer}, ids[:n]...)
		ids = ids[n:]
		rs, err := q.query(ctx, `SELECT message_id, emoji, COUNT(*), SUM(CASE WHEN user_id = $1 THEN 1 ELSE 0 END),
			MIN(created_at) AS first_at FROM reactions WHERE message_id IN (`+placeholders(2, n)+`)
			GROUP BY message_id, emoji ORDER BY first_at, emoji`, args...)
		if err != nil {
			return fmt.Errorf("persist: query reactions: %w", err)
		}
		for rs.Next() {
			var id chat.ID
			var g chat.ReactionGroup
			var mine int
			var first chat.Time
			if err := rs.Scan(&id, &g.Emoji, &g.Count, &mine, &first); err != nil {
				rs.Close()
				return fmt.Errorf("persist: scan reactions: %w", err)
			}
			g.Me = mine > 0
			if i, ok := index[id]; ok {
				ms[i].Reactions = append(ms[i].Reactions, g)
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("persist: read reactions: %w", err)
		}
	}
	return nil
}

// messageByID loads one message through q.
func (s *sqlStore) messageByID(ctx context.Context, q querier, id, viewer chat.ID) (*chat.Message, error) {
	ms, err := s.loadMessages(ctx, q, viewer, msgSelect+` WHERE m.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, notFound("message", id)
	}
	return &ms[0], nil
}

// messagesByIDs loads the non-deleted messages among ids, keyed by ID (pins and
// reports, which show a message only while it exists).
func (s *sqlStore) messagesByIDs(ctx context.Context, ids []chat.ID, viewer chat.ID) (map[chat.ID]*chat.Message, error) {
	const chunk = 500
	out := make(map[chat.ID]*chat.Message, len(ids))
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b chat.ID) int { return slices.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		ms, err := s.loadMessages(ctx, s.db, viewer, msgSelect+` WHERE m.id IN (`+placeholders(1, n)+`) AND NOT m.deleted`, args...)
		if err != nil {
			return nil, err
		}
		for i := range ms {
			out[ms[i].ID] = &ms[i]
		}
	}
	return out, nil
}

// MessageByID returns a message as viewer sees it.
func (s *sqlStore) MessageByID(ctx context.Context, id, viewer chat.ID) (*chat.Message, error) {
	return s.messageByID(ctx, s.db, id, viewer)
}

// MessageByClientID returns the sender's message with this client_msg_id (in any
// room: the key is unique per sender), as the sender sees it.
func (s *sqlStore) MessageByClientID(ctx context.Context, sender chat.ID, clientMsgID string) (*chat.Message, error) {
	ms, err := s.loadMessages(ctx, s.db, sender, msgSelect+` WHERE m.sender_id = $1 AND m.client_msg_id = $2`, sender, clientMsgID)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, notFound("client_msg_id", clientMsgID)
	}
	return &ms[0], nil
}

// RecentMessages returns the room's last n messages, oldest first.
func (s *sqlStore) RecentMessages(ctx context.Context, room chat.ID, n int) ([]chat.Message, error) {
	if n <= 0 {
		return []chat.Message{}, nil
	}
	ms, err := s.loadMessages(ctx, s.db, chat.NilID, msgSelect+` WHERE m.room_id = $1 ORDER BY m.seq DESC LIMIT $2`, room, n)
	if err != nil {
		return nil, err
	}
	slices.Reverse(ms)
	return ms, nil
}

// Messages returns one page of a room's timeline, oldest first. Before and After
// are message IDs of this room (chat.ErrNotFound otherwise), exclusive; neither
// means the newest page, whose direction of travel is backwards (HasMore: older
// messages exist).
func (s *sqlStore) Messages(ctx context.Context, room, viewer chat.ID, q MessageQuery) ([]chat.Message, bool, error) {
	if q.Before != nil && q.After != nil {
		return nil, false, chat.FieldError("before", "before and after cannot be combined")
	}
	limit := pageLimit(Page{Limit: q.Limit})
	var sql string
	args := []any{room}
	switch {
	case q.After != nil:
		seq, err := s.seqOf(ctx, room, *q.After)
		if err != nil {
			return nil, false, err
		}
		sql = msgSelect + ` WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`
		args = append(args, seq)
	case q.Before != nil:
		seq, err := s.seqOf(ctx, room, *q.Before)
		if err != nil {
			return nil, false, err
		}
		sql = msgSelect + ` WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`
		args = append(args, seq)
	default:
		sql = msgSelect + ` WHERE m.room_id = $1 ORDER BY m.seq DESC LIMIT $2`
	}
	ms, err := s.loadMessages(ctx, s.db, viewer, sql, append(args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	hasMore := len(ms) > limit
	if hasMore {
		ms = ms[:limit] // the farthest in the direction of travel
	}
	if q.After == nil {
		slices.Reverse(ms) // fetched newest first
	}
	return ms, hasMore, nil
}

// seqOf resolves a pagination cursor to its seq within room.
func (s *sqlStore) seqOf(ctx context.Context, room, msg chat.ID) (int64, error) {
	var seq int64
	err := scanOne(s.db.queryRow(ctx, `SELECT seq FROM messages WHERE id = $1 AND room_id = $2`, msg, room), "message", msg, &seq)
	return seq, err
}

// MessagesAfterSeq returns up to limit messages with seq > after, in seq order
// (limit <= 0 means chat.PageMax).
func (s *sqlStore) MessagesAfterSeq(ctx context.Context, room chat.ID, after int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		limit = chat.PageMax
	}
	return s.loadMessages(ctx, s.db, chat.NilID, msgSelect+` WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, room, after, limit)
}

// Thread returns the replies to parent, oldest first; chat.ErrNotFound when parent
// does not exist.
func (s *sqlStore) Thread(ctx context.Context, parent, viewer chat.ID, p Page) ([]chat.Message, string, error) {
	c, _, err := decodeCursor(p.Cursor, curThread)
	if err != nil {
		return nil, "", err
	}
	var room chat.ID
	if err := scanOne(s.db.queryRow(ctx, `SELECT room_id FROM messages WHERE id = $1`, parent), "message", parent, &room); err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	ms, err := s.loadMessages(ctx, s.db, viewer, msgSelect+` WHERE m.parent_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`,
		parent, c.N, limit+1)
	if err != nil {
		return nil, "", err
	}
	ms, next := trimPage(ms, limit, func(m *chat.Message) string { return cursor{K: curThread, N: m.Seq}.String() })
	return ms, next, nil
}

package persist

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// memberSelectSQL selects memberships "me" with their users "u".
var memberSelectSQL = `SELECT me.role, me.joined_at, me.last_read_message_id, me.last_read_seq,
	me.muted_until, me.level, ` + userCols + ` FROM members me JOIN users u ON u.id = me.user_id`

func (s *sqlStore) scanMember(r rows, m *chat.Member) error {
	var until *chat.Time
	dest := append([]any{&m.Role, &m.JoinedAt, &m.LastReadMessageID, &m.LastReadSeq, &until, &m.Level}, userDest(&m.User)...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	now := s.now()
	finishUser(&m.User, now)
	// A mute is in force until its time; chat.Forever shows as muted without an end.
	if until != nil && *until > now {
		m.Muted = true
		if *until != chat.Forever {
			m.MutedUntil = until
		}
	}
	return nil
}

// Member returns user's membership of room.
func (s *sqlStore) Member(ctx context.Context, room, user chat.ID) (*chat.Member, error) {
	ms, err := collect(ctx, s.db, "member", s.scanMember, memberSelectSQL+` WHERE me.room_id = $1 AND me.user_id = $2`, room, user)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, notFound("member", user)
	}
	return &ms[0], nil
}

// Members lists a room's members by join time (ties by user ID).
func (s *sqlStore) Members(ctx context.Context, room chat.ID, p Page) ([]chat.Member, string, error) {
	at, afterID, more, err := timeIDCursor(p.Cursor, curMembers)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	q := memberSelectSQL + ` WHERE me.room_id = $1`
	args := []any{room}
	if more {
		q += ` AND (me.joined_at > $2 OR (me.joined_at = $2 AND me.user_id > $3))`
		args = append(args, at, afterID)
	}
	q += fmt.Sprintf(` ORDER BY me.joined_at, me.user_id LIMIT $%d`, len(args)+1)
	ms, err := collect(ctx, s.db, "members", s.scanMember, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	ms, next := trimPage(ms, limit, func(m *chat.Member) string {
		return cursor{K: curMembers, N: int64(m.JoinedAt), I: m.User.ID.String()}.String()
	})
	return ms, next, nil
}

// MemberIDs returns every member's user ID and notification level.
func (s *sqlStore) MemberIDs(ctx context.Context, room chat.ID) ([]MemberRef, error) {
	return collect(ctx, s.db, "member ids", func(r rows, m *MemberRef) error {
		return r.Scan(&m.UserID, &m.Level)
	}, `SELECT user_id, level FROM members WHERE room_id = $1`, room)
}

// AddMember adds user to room; added is false when they already were a member. A
// direct room never gains a member this way (chat.CodeDirectRoomClosed): its pair
// is fixed at creation.
func (s *sqlStore) AddMember(ctx context.Context, room, user chat.ID, role chat.Role, level chat.NotificationLevel, at chat.Time) (bool, error) {
	var added bool
	err := s.inTx(ctx, func(q querier) (err error) {
		added, err = s.addMember(ctx, q, room, user, role, level, at)
		return err
	})
	return added, err
}

// addMember is AddMember inside the caller's transaction (UseInvite shares it).
func (s *sqlStore) addMember(ctx context.Context, q querier, room, user chat.ID, role chat.Role, level chat.NotificationLevel, at chat.Time) (bool, error) {
	n, err := q.exec(ctx, `INSERT INTO members (room_id, user_id, role, level, joined_at)
		SELECT r.id, $2::uuid, $3::text, $4::text, $5::bigint FROM rooms r WHERE r.id = $1 AND r.type <> 'direct'
		ON CONFLICT (room_id, user_id) DO NOTHING`, room, user, role, level, at)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return false, notFound("user", user)
		}
		return false, fmt.Errorf("persist: add member %s to %s: %w", user, room, err)
	}
	if n > 0 {
		return true, nil
	}
	var typ chat.RoomType
	var isMember int
	err = scanOne(q.queryRow(ctx, `SELECT r.type, (SELECT COUNT(*) FROM members m WHERE m.room_id = r.id
		AND m.user_id = $2) FROM rooms r WHERE r.id = $1`, room, user), "room", room, &typ, &isMember)
	switch {
	case err != nil:
		return false, err
	case isMember > 0:
		return false, nil
	case typ == chat.RoomDirect:
		return false, fmt.Errorf("persist: add member to %s: %w", room,
			chat.Errorf(chat.CodeDirectRoomClosed, "a direct room never gains a third member"))
	}
	return false, fmt.Errorf("persist: add member %s to %s: nothing inserted", user, room)
}

// RemoveMember removes user from room; removed is false when they were not a member.
func (s *sqlStore) RemoveMember(ctx context.Context, room, user chat.ID) (bool, error) {
	n, err := s.db.exec(ctx, `DELETE FROM members WHERE room_id = $1 AND user_id = $2`, room, user)
	if err != nil {
		return false, fmt.Errorf("persist: remove member %s from %s: %w", user, room, err)
	}
	return n > 0, nil
}

// updateMember runs a one-row UPDATE of members keyed by $1 room and $2 user.
func (s *sqlStore) updateMember(ctx context.Context, q querier, what string, sql string, room, user chat.ID, args ...any) error {
	n, err := q.exec(ctx, sql, append([]any{room, user}, args...)...)
	if err != nil {
		return fmt.Errorf("persist: %s of %s in %s: %w", what, user, room, err)
	}
	if n == 0 {
		return notFound("member", user)
	}
	return nil
}

// SetRole changes a member's role.
func (s *sqlStore) SetRole(ctx context.Context, room, user chat.ID, role chat.Role) error {
	return s.updateMember(ctx, s.db, "set role", `UPDATE members SET role = $3 WHERE room_id = $1 AND user_id = $2`, room, user, role)
}

// TransferOwnership makes to the owner and from an admin, in one transaction;
// chat.ErrNotFound when either is not a member (and nothing changes).
func (s *sqlStore) TransferOwnership(ctx context.Context, room, from, to chat.ID) error {
	if from == to {
		return nil
	}
	const setRole = `UPDATE members SET role = $3 WHERE room_id = $1 AND user_id = $2`
	return s.inTx(ctx, func(q querier) error {
		if err := s.updateMember(ctx, q, "transfer ownership", setRole, room, to, chat.RoleOwner); err != nil {
			return err
		}
		return s.updateMember(ctx, q, "transfer ownership", setRole, room, from, chat.RoleAdmin)
	})
}

// SetMute sets the moderation mute until a time (nil unmutes; chat.Forever is
// stored as is and means no end).
func (s *sqlStore) SetMute(ctx context.Context, room, user chat.ID, until *chat.Time) error {
	return s.updateMember(ctx, s.db, "set mute", `UPDATE members SET muted_until = $3 WHERE room_id = $1 AND user_id = $2`, room, user, until)
}

// SetLevel sets user's notification level in room.
func (s *sqlStore) SetLevel(ctx context.Context, room, user chat.ID, level chat.NotificationLevel) error {
	return s.updateMember(ctx, s.db, "set level", `UPDATE members SET level = $3 WHERE room_id = $1 AND user_id = $2`, room, user, level)
}

// MarkRead moves the read marker forward to (messageID, seq) and records when; a
// marker already at or past seq stays (moved false). chat.ErrNotFound when user is
// not a member.
func (s *sqlStore) MarkRead(ctx context.Context, room, user, messageID chat.ID, seq int64, at chat.Time) (bool, error) {
	n, err := s.db.exec(ctx, `UPDATE members SET last_read_message_id = $3, last_read_seq = $4, read_at = $5
		WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $4`, room, user, messageID, seq, at)
	if err != nil {
		return false, fmt.Errorf("persist: mark read in %s: %w", room, err)
	}
	if n > 0 {
		return true, nil
	}
	var c int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM members WHERE room_id = $1 AND user_id = $2`, room, user).Scan(&c); err != nil {
		return false, fmt.Errorf("persist: mark read in %s: %w", room, err)
	}
	if c == 0 {
		return false, notFound("member", user)
	}
	return false, nil
}

// RoomPeers returns the users who share at least one room with user (user excluded).
func (s *sqlStore) RoomPeers(ctx context.Context, user chat.ID) ([]chat.ID, error) {
	return collect(ctx, s.db, "room peers", func(r rows, id *chat.ID) error { return r.Scan(id) },
		`SELECT DISTINCT o.user_id FROM members me JOIN members o ON o.room_id = me.room_id
		WHERE me.user_id = $1 AND o.user_id <> $1`, user)
}

package persist

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// memberCountExpr counts the members of room r.
const memberCountExpr = `(SELECT COUNT(*) FROM members c WHERE c.room_id = r.id)`

// roomCols selects a room as the member "me" (joined by the query) sees it. Unread
// counts other users' non-system, non-deleted messages past me's read marker.
const roomCols = `r.id, r.name, r.description, r.type, r.created_by, r.created_at, r.last_message_at, ` +
	memberCountExpr + `, me.role, me.level,
	CASE WHEN me.user_id IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM messages m WHERE m.room_id = r.id
		AND m.seq > me.last_read_seq AND m.sender_id <> me.user_id AND m.type <> 'system'
		AND NOT m.deleted) END`

// roomAsViewer selects rooms as the user $1 sees them (a LEFT JOIN: outsiders too).
const roomAsViewer = `SELECT ` + roomCols + ` FROM rooms r LEFT JOIN members me ON me.room_id = r.id AND me.user_id = $1`

// activityExpr is what GET /rooms sorts by: the last message, else the creation.
const activityExpr = `COALESCE(r.last_message_at, r.created_at)`

func scanRoom(r rows, room *chat.Room) error {
	return r.Scan(&room.ID, &room.Name, &room.Description, &room.Type, &room.CreatedBy, &room.CreatedAt,
		&room.LastMessageAt, &room.MemberCount, &room.MyRole, &room.NotificationLevel, &room.UnreadCount)
}

const insertMemberSQL = `INSERT INTO members (room_id, user_id, role, level, joined_at) VALUES ($1, $2, $3, $4, $5)`

// CreateRoom inserts the room with its creator as owner (at the room type's default
// notification level) in one transaction, and fills in the creator's view of it.
func (s *sqlStore) CreateRoom(ctx context.Context, room *chat.Room) error {
	level := chat.DefaultLevel(room.Type)
	err := s.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `INSERT INTO rooms (id, name, description, type, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			room.ID, room.Name, room.Description, room.Type, room.CreatedBy, room.CreatedAt); err != nil {
			return err
		}
		_, err := q.exec(ctx, insertMemberSQL, room.ID, room.CreatedBy, chat.RoleOwner, level, room.CreatedAt)
		return err
	})
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return notFound("user", room.CreatedBy)
		}
		return fmt.Errorf("persist: create room: %w", err)
	}
	role := chat.RoleOwner
	room.MemberCount, room.UnreadCount, room.MyRole, room.NotificationLevel, room.LastMessageAt = 1, 0, &role, &level, nil
	return nil
}

// dmKey identifies the direct room of a pair whatever the order: a unique column,
// so two concurrent creations of the same DM yield one room.
func dmKey(a, b chat.ID) string {
	x, y := a.String(), b.String()
	if x > y {
		x, y = y, x
	}
	return x + ":" + y
}

// CreateDirectRoom returns the direct room of a and b as room.CreatedBy sees it,
// creating it with room's ID and time (both as members at level all) if there is
// none. Concurrent calls for one pair return one room; exactly one says created.
func (s *sqlStore) CreateDirectRoom(ctx context.Context, room *chat.Room, a, b chat.ID) (*chat.Room, bool, error) {
	if a == b {
		return nil, false, chat.FieldError("user_id", "a direct room needs two different users")
	}
	key := dmKey(a, b)
	var id chat.ID
	created := false
	err := s.inTx(ctx, func(q querier) error {
		err := q.queryRow(ctx, `INSERT INTO rooms (id, name, description, type, created_by, created_at, dm_key)
			VALUES ($1, '', '', 'direct', $2, $3, $4) ON CONFLICT (dm_key) DO NOTHING RETURNING id`,
			room.ID, room.CreatedBy, room.CreatedAt, key).Scan(&id)
		switch {
		case err == nil:
			created = true
		case errors.Is(err, errNoRows): // it exists (perhaps just committed by a concurrent caller)
			if err := q.queryRow(ctx, `SELECT id FROM rooms WHERE dm_key = $1`, key).Scan(&id); err != nil {
				return err
			}
		default:
			return err
		}
		// Both of the pair are members: of a new room, and again of an existing one
		// that one of them left. dm_key guarantees no one else ever is.
		level := chat.DefaultLevel(chat.RoomDirect)
		for _, u := range []chat.ID{a, b} {
			if _, err := q.exec(ctx, insertMemberSQL+` ON CONFLICT (room_id, user_id) DO NOTHING`,
				id, u, chat.RoleMember, level, room.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return nil, false, notFound("user", key)
		}
		return nil, false, fmt.Errorf("persist: create direct room: %w", err)
	}
	r, err := s.RoomByID(ctx, id, room.CreatedBy)
	return r, created, err
}

// RoomByID returns a room as viewer sees it.
func (s *sqlStore) RoomByID(ctx context.Context, id, viewer chat.ID) (*chat.Room, error) {
	rs, err := collect(ctx, s.db, "room", scanRoom, roomAsViewer+` WHERE r.id = $2`, viewer, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, notFound("room", id)
	}
	return &rs[0], nil
}

// RoomsOf lists viewer's rooms, newest activity first (ties by ID, descending).
func (s *sqlStore) RoomsOf(ctx context.Context, viewer chat.ID, p Page) ([]chat.Room, string, error) {
	at, afterID, more, err := timeIDCursor(p.Cursor, curRooms)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	q := `SELECT ` + roomCols + ` FROM rooms r JOIN members me ON me.room_id = r.id AND me.user_id = $1`
	args := []any{viewer}
	if more {
		q += ` WHERE (` + activityExpr + ` < $2 OR (` + activityExpr + ` = $2 AND r.id < $3))`
		args = append(args, at, afterID)
	}
	q += ` ORDER BY ` + activityExpr + ` DESC, r.id DESC LIMIT ` + fmt.Sprintf("$%d", len(args)+1)
	rooms, err := collect(ctx, s.db, "rooms", scanRoom, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	rooms, next := trimPage(rooms, limit, func(r *chat.Room) string {
		t := r.CreatedAt
		if r.LastMessageAt != nil {
			t = *r.LastMessageAt
		}
		return cursor{K: curRooms, N: int64(t), I: r.ID.String()}.String()
	})
	return rooms, next, nil
}

// PublicRooms lists public rooms whose name contains q (case-insensitive, LIKE
// wildcards literal), most members first (ties by ID, descending).
func (s *sqlStore) PublicRooms(ctx context.Context, q string, viewer chat.ID, p Page) ([]chat.Room, string, error) {
	count, afterID, more, err := timeIDCursor(p.Cursor, curPublicRooms)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	sql := roomAsViewer + ` WHERE r.type = 'public' AND lower(r.name) LIKE $2 ESCAPE '\'`
	args := []any{viewer, "%" + escapeLike(strings.ToLower(q)) + "%"}
	if more {
		sql += ` AND (` + memberCountExpr + ` < $3 OR (` + memberCountExpr + ` = $3 AND r.id < $4))`
		args = append(args, count, afterID)
	}
	sql += ` ORDER BY ` + memberCountExpr + ` DESC, r.id DESC LIMIT ` + fmt.Sprintf("$%d", len(args)+1)
	rooms, err := collect(ctx, s.db, "public rooms", scanRoom, sql, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	rooms, next := trimPage(rooms, limit, func(r *chat.Room) string {
		return cursor{K: curPublicRooms, N: int64(r.MemberCount), I: r.ID.String()}.String()
	})
	return rooms, next, nil
}

// UpdateRoom changes the non-nil fields and returns the room as viewer sees it.
func (s *sqlStore) UpdateRoom(ctx context.Context, id chat.ID, name, description *string, viewer chat.ID) (*chat.Room, error) {
	n, err := s.db.exec(ctx, `UPDATE rooms SET name = COALESCE($2, name), description = COALESCE($3, description)
		WHERE id = $1`, id, name, description)
	if err != nil {
		return nil, fmt.Errorf("persist: update room %s: %w", id, err)
	}
	if n == 0 {
		return nil, notFound("room", id)
	}
	return s.RoomByID(ctx, id, viewer)
}

// DeleteRoom removes the room; members, messages, reactions, pins, invites,
// reports and notifications go with it (ON DELETE CASCADE).
func (s *sqlStore) DeleteRoom(ctx context.Context, id chat.ID) error {
	n, err := s.db.exec(ctx, `DELETE FROM rooms WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("persist: delete room %s: %w", id, err)
	}
	if n == 0 {
		return notFound("room", id)
	}
	return nil
}

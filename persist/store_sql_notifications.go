package persist

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// notificationSelect selects notifications "n" with their actors "u".
var notificationSelect = `SELECT n.id, n.user_id, n.type, n.room_id, n.message_id, n.content, n.created_at, n.is_read, ` +
	userCols + ` FROM notifications n JOIN users u ON u.id = n.actor_id`

func (s *sqlStore) scanNotification(r rows, n *chat.Notification) error {
	dest := append([]any{&n.ID, &n.UserID, &n.Type, &n.RoomID, &n.MessageID, &n.Content, &n.CreatedAt, &n.Read}, userDest(&n.Actor)...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	finishUser(&n.Actor, s.now())
	return nil
}

// notificationCutoff is the creation time at or before which notifications have
// expired.
func (s *sqlStore) notificationCutoff() chat.Time { return s.now().Add(-chat.NotificationTTL) }

// CreateNotifications inserts notifications with multi-row INSERTs in one
// transaction (a mention of many users is one call).
func (s *sqlStore) CreateNotifications(ctx context.Context, ns []chat.Notification) error {
	const cols, chunk = 9, 500
	if len(ns) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for len(ns) > 0 {
			n := min(len(ns), chunk)
			var b strings.Builder
			b.WriteString(`INSERT INTO notifications (id, user_id, type, room_id, message_id, actor_id, content, created_at, is_read) VALUES `)
			args := make([]any, 0, n*cols)
			for i, x := range ns[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(" + placeholders(i*cols+1, cols) + ")")
				args = append(args, x.ID, x.UserID, x.Type, x.RoomID, x.MessageID, x.Actor.ID, x.Content, x.CreatedAt, x.Read)
			}
			ns = ns[n:]
			if _, err := q.exec(ctx, b.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return fmt.Errorf("persist: create notifications: unknown user or room: %w", chat.ErrNotFound)
		}
		return fmt.Errorf("persist: create notifications: %w", err)
	}
	return nil
}

// Notifications lists user's unexpired notifications, newest first.
func (s *sqlStore) Notifications(ctx context.Context, user chat.ID, unreadOnly bool, p Page) ([]chat.Notification, string, error) {
	at, beforeID, more, err := timeIDCursor(p.Cursor, curNotifications)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	q := notificationSelect + ` WHERE n.user_id = $1 AND n.created_at > $2`
	args := []any{user, s.notificationCutoff()}
	if unreadOnly {
		q += ` AND NOT n.is_read`
	}
	if more {
		q += ` AND (n.created_at, n.id) < ($3, $4)`
		args = append(args, at, beforeID)
	}
	q += fmt.Sprintf(` ORDER BY n.created_at DESC, n.id DESC LIMIT $%d`, len(args)+1)
	ns, err := collect(ctx, s.db, "notifications", s.scanNotification, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	ns, next := trimPage(ns, limit, func(n *chat.Notification) string {
		return cursor{K: curNotifications, N: int64(n.CreatedAt), I: n.ID.String()}.String()
	})
	return ns, next, nil
}

// MarkNotificationRead marks one of user's unexpired notifications read.
func (s *sqlStore) MarkNotificationRead(ctx context.Context, user, id chat.ID) error {
	n, err := s.db.exec(ctx, `UPDATE notifications SET is_read = TRUE WHERE id = $1 AND user_id = $2 AND created_at > $3`,
		id, user, s.notificationCutoff())
	if err != nil {
		return fmt.Errorf("persist: mark notification read: %w", err)
	}
	if n == 0 {
		return notFound("notification", id)
	}
	return nil
}

// MarkAllNotificationsRead marks all of user's notifications read.
func (s *sqlStore) MarkAllNotificationsRead(ctx context.Context, user chat.ID) error {
	if _, err := s.db.exec(ctx, `UPDATE notifications SET is_read = TRUE WHERE user_id = $1 AND NOT is_read`, user); err != nil {
		return fmt.Errorf("persist: mark all notifications read: %w", err)
	}
	return nil
}

// UnreadNotificationCount counts user's unread, unexpired notifications.
func (s *sqlStore) UnreadNotificationCount(ctx context.Context, user chat.ID) (int, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND NOT is_read AND created_at > $2`,
		user, s.notificationCutoff()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("persist: unread notification count: %w", err)
	}
	return n, nil
}

// PurgeExpired deletes notifications created before cutoff and revoked tokens
// whose expiry has passed (they would be refused as expired anyway).
func (s *sqlStore) PurgeExpired(ctx context.Context, cutoff chat.Time) error {
	if _, err := s.db.exec(ctx, `DELETE FROM notifications WHERE created_at < $1`, cutoff); err != nil {
		return fmt.Errorf("persist: purge notifications: %w", err)
	}
	if _, err := s.db.exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, s.now()); err != nil {
		return fmt.Errorf("persist: purge revoked tokens: %w", err)
	}
	return nil
}

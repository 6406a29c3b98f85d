package persist

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// userColumns are the columns of a chat.User, in userDest's order.
const userColumns = "id, username, display_name, avatar_url, status, status_message, created_at, last_seen"

// userCols selects a user joined as "u".
var userCols = prefixed("u.", userColumns)

// prefixed qualifies each of a comma-separated list of columns with prefix.
func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// userDest returns the scan destinations of userColumns.
func userDest(u *chat.User) []any {
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.AvatarURL, &u.Status, &u.StatusMessage, &u.CreatedAt, &u.LastSeen}
}

// finishUser turns the stored, chosen status into the effective one.
func finishUser(u *chat.User, now chat.Time) {
	u.Status = chat.EffectiveStatus(u.Status, u.LastSeen, false, now)
}

func (s *sqlStore) scanUser(r rows, u *chat.User) error {
	if err := r.Scan(userDest(u)...); err != nil {
		return err
	}
	finishUser(u, s.now())
	return nil
}

// CreateUser inserts the user; a username taken case-insensitively (the unique
// index on lower(username)) is chat.CodeUsernameTaken. An empty Status is stored
// as online, the default chosen status.
func (s *sqlStore) CreateUser(ctx context.Context, u *chat.User, passwordHash string) error {
	status := u.Status
	if status == "" {
		status = chat.StatusOnline
	}
	_, err := s.db.exec(ctx, `INSERT INTO users (id, username, display_name, avatar_url, status,
		status_message, password_hash, created_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Username, u.DisplayName, u.AvatarURL, status, u.StatusMessage, passwordHash, u.CreatedAt, u.LastSeen)
	if err != nil {
		if s.isViolation(err, uniqueViolation, "username") {
			return fmt.Errorf("persist: create user %q: %w", u.Username,
				&chat.Error{Code: chat.CodeUsernameTaken, Message: "username is taken", Field: "username"})
		}
		return fmt.Errorf("persist: create user %q: %w", u.Username, err)
	}
	return nil
}

// UserByID returns a user or chat.ErrNotFound.
func (s *sqlStore) UserByID(ctx context.Context, id chat.ID) (*chat.User, error) {
	var u chat.User
	err := scanOne(s.db.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id), "user", id, userDest(&u)...)
	if err != nil {
		return nil, err
	}
	finishUser(&u, s.now())
	return &u, nil
}

// UsersByUsernames returns the users with these lower-cased usernames (mentions);
// unknown names are skipped. Large lists are looked up in chunks.
func (s *sqlStore) UsersByUsernames(ctx context.Context, lowerNames []string) ([]chat.User, error) {
	const chunk = 500
	var out []chat.User
	for len(lowerNames) > 0 {
		n := min(len(lowerNames), chunk)
		args := make([]any, n)
		for i, name := range lowerNames[:n] {
			args[i] = strings.ToLower(name)
		}
		lowerNames = lowerNames[n:]
		us, err := collect(ctx, s.db, "users by name", s.scanUser,
			`SELECT `+userCols+` FROM users u WHERE lower(u.username) IN (`+placeholders(1, n)+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, us...)
	}
	return out, nil
}

// Credentials returns the ID and password hash of a username (case-insensitive).
func (s *sqlStore) Credentials(ctx context.Context, username string) (chat.ID, string, error) {
	var id chat.ID
	var hash string
	err := scanOne(s.db.queryRow(ctx, `SELECT id, password_hash FROM users WHERE lower(username) = $1`,
		strings.ToLower(username)), "user", username, &id, &hash)
	return id, hash, err
}

// SearchUsers lists users whose username or display name starts with prefix,
// case-insensitively (LIKE wildcards in prefix match literally), by username.
func (s *sqlStore) SearchUsers(ctx context.Context, prefix string, p Page) ([]chat.User, string, error) {
	c, _, err := decodeCursor(p.Cursor, curUsers)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	pattern := escapeLike(strings.ToLower(prefix)) + "%"
	q := `SELECT ` + userCols + ` FROM users u
		WHERE (lower(u.username) LIKE $1 ESCAPE '\' OR lower(u.display_name) LIKE $1 ESCAPE '\')
		AND lower(u.username) > $2 ORDER BY lower(u.username) LIMIT $3`
	us, err := collect(ctx, s.db, "user search", s.scanUser, q, pattern, c.S, limit+1)
	if err != nil {
		return nil, "", err
	}
	us, next := trimPage(us, limit, func(u *chat.User) string {
		return cursor{K: curUsers, S: strings.ToLower(u.Username)}.String()
	})
	return us, next, nil
}

// UpdateUser applies the non-nil fields of patch and returns the updated user.
func (s *sqlStore) UpdateUser(ctx context.Context, id chat.ID, patch UserPatch) (*chat.User, error) {
	var u chat.User
	err := scanOne(s.db.writeRow(ctx, `UPDATE users SET display_name = COALESCE($2, display_name),
		avatar_url = COALESCE($3, avatar_url), status = COALESCE($4, status),
		status_message = COALESCE($5, status_message) WHERE id = $1 RETURNING `+userColumns,
		id, patch.DisplayName, patch.AvatarURL, patch.Status, patch.StatusMessage), "user", id, userDest(&u)...)
	if err != nil {
		return nil, err
	}
	finishUser(&u, s.now())
	return &u, nil
}

// TouchUser moves last_seen forward to at; it never moves back, so activity
// reported out of order (several nodes) cannot make a user look idle.
func (s *sqlStore) TouchUser(ctx context.Context, id chat.ID, at chat.Time) error {
	_, err := s.db.exec(ctx, `UPDATE users SET last_seen = $2 WHERE id = $1 AND (last_seen IS NULL OR last_seen < $2)`, id, at)
	if err != nil {
		return fmt.Errorf("persist: touch user %s: %w", id, err)
	}
	return nil
}

// touchBatch bounds the ids of one TouchUsers statement, well under SQLite's
// limit of bound parameters.
const touchBatch = 500

// TouchUsers moves last_seen forward to at for every id, touchBatch ids per
// statement; an unknown id is skipped.
func (s *sqlStore) TouchUsers(ctx context.Context, ids []chat.ID, at chat.Time) error {
	for len(ids) > 0 {
		n := min(len(ids), touchBatch)
		var q strings.Builder
		q.WriteString(`UPDATE users SET last_seen = $1 WHERE (last_seen IS NULL OR last_seen < $1) AND id IN (`)
		args := make([]any, 0, n+1)
		args = append(args, at)
		for i, id := range ids[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "$%d", i+2)
			args = append(args, id)
		}
		q.WriteByte(')')
		if _, err := s.db.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("persist: touch %d users: %w", n, err)
		}
		ids = ids[n:]
	}
	return nil
}

// RevokeToken records the token ID as revoked until expiresAt (idempotent).
func (s *sqlStore) RevokeToken(ctx context.Context, tokenID string, expiresAt chat.Time) error {
	_, err := s.db.exec(ctx, `INSERT INTO revoked_tokens (token_id, expires_at, revoked_at) VALUES ($1, $2, $3)
		ON CONFLICT (token_id) DO NOTHING`, tokenID, expiresAt, s.now())
	if err != nil {
		return fmt.Errorf("persist: revoke token: %w", err)
	}
	return nil
}

// TokenRevoked reports whether the token ID was revoked (and not yet purged).
func (s *sqlStore) TokenRevoked(ctx context.Context, tokenID string) (bool, error) {
	var n int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM revoked_tokens WHERE token_id = $1`, tokenID).Scan(&n); err != nil {
		return false, fmt.Errorf("persist: token revoked: %w", err)
	}
	return n > 0, nil
}

// RevokedTokens returns the unexpired revocations with revoked_at >= since.
func (s *sqlStore) RevokedTokens(ctx context.Context, since chat.Time) ([]RevokedToken, error) {
	return collect(ctx, s.db, "revoked tokens", func(r rows, v *RevokedToken) error {
		return r.Scan(&v.ID, &v.ExpiresAt, &v.RevokedAt)
	}, `SELECT token_id, expires_at, revoked_at FROM revoked_tokens
		WHERE revoked_at >= $1 AND expires_at > $2`, since, s.now())
}

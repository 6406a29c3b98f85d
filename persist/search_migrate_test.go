package persist

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
	"github.com/jackc/pgx/v5"
)

// TestSearchMigrationIndexesOldMessages applies the schema up to 0002 by hand,
// stores a message the old way, then opens the store (which applies 0003): the old
// message must be searchable, on both engines.
func TestSearchMigrationIndexesOldMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user, room, msg := chat.NewID(), chat.NewID(), chat.NewID()
	seed := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ($1, 'old', 'Old', 'h', 1)`, []any{user}},
		{`INSERT INTO rooms (id, name, type, created_by, created_at, last_seq) VALUES ($1, 'r', 'public', $2, 1, 1)`, []any{room, user}},
		{`INSERT INTO members (room_id, user_id, role, level, joined_at) VALUES ($1, $2, 'owner', 'mentions', 1)`, []any{room, user}},
		{`INSERT INTO messages (id, room_id, seq, sender_id, type, content, created_at)
			VALUES ($1, $2, 1, $3, 'text', 'legacy note about https://example.com/old', 2)`, []any{msg, room, user}},
	}
	old := func(t *testing.T, engine string, exec func(string, ...any) error) {
		t.Helper()
		ms, err := loadMigrations(engine)
		must(t, err)
		must(t, exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`))
		for _, m := range ms[:2] {
			must(t, exec(m.sql))
			must(t, exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.version, m.name))
		}
		for _, s := range seed {
			must(t, exec(s.sql, s.args...))
		}
	}
	check := func(t *testing.T, s Store) {
		t.Helper()
		defer s.Close()
		for _, q := range []string{"legacy", "example.com", "https://example.com/old"} {
			hits, err := s.Search(ctx, user, SearchQuery{Text: q})
			must(t, err)
			if len(hits) != 1 || hits[0].Message.ID != msg {
				t.Errorf("q %q after migrating: %d hits", q, len(hits))
			}
		}
	}
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		file := (&url.URL{Scheme: "file", Path: filepath.Join(dir, EmbeddedFile)}).String()
		db := sql.OpenDB(sqliteConnector{newSQLiteDriver(), file + "?_foreign_keys=1"})
		old(t, "sqlite", func(q string, args ...any) error { _, err := db.ExecContext(ctx, q, args...); return err })
		must(t, db.Close())
		s, err := OpenEmbedded(ctx, dir, nil)
		must(t, err)
		check(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		u := testsvc.PostgresURL(t)
		conn, err := pgx.Connect(ctx, u)
		must(t, err)
		old(t, "postgres", func(q string, args ...any) error { _, err := conn.Exec(ctx, q, args...); return err })
		must(t, conn.Close(ctx))
		s, err := OpenPostgres(ctx, u, nil)
		must(t, err)
		check(t, s)
	})
}

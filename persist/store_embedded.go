package persist

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// EmbeddedFile is the database file the embedded store keeps in its directory.
const EmbeddedFile = "chatd.db"

// embeddedStore is the embedded Store: SQLite (modernc.org/sqlite, pure Go) in one
// file, in WAL mode. All writes go through a single connection, so writers queue
// in the pool instead of meeting SQLITE_BUSY, while reads run in parallel on
// read-only connections (WAL readers never block the writer, nor it them).
type embeddedStore struct {
	*sqlStore
	w *sql.DB
}

// OpenEmbedded opens (creating dir and the database if needed) the embedded store
// in dir/chatd.db, applies pending migrations, and returns the Store. log may be
// nil. Commits are fsynced (synchronous=FULL): an acknowledged message survives
// a power loss, not only a crash; the group commit amortises the cost.
func OpenEmbedded(ctx context.Context, dir string, log *slog.Logger) (Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("persist: create data dir: %w", err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, EmbeddedFile))
	if err != nil {
		return nil, fmt.Errorf("persist: data dir: %w", err)
	}
	file := (&url.URL{Scheme: "file", Path: abs}).String()
	drv := newSQLiteDriver()
	w := sql.OpenDB(sqliteConnector{drv, file + "?_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"})
	w.SetMaxOpenConns(1) // the single writer
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("persist: open %s: %w", abs, err)
	}
	r := sql.OpenDB(sqliteConnector{drv, file + "?_busy_timeout=10000&_foreign_keys=1&_query_only=1"})
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s := &embeddedStore{sqlStore: newSQLStore(&sqliteDB{w: w, r: r}, sqliteFTS{}, log), w: w}
	if err := s.migrate(ctx, "sqlite", ""); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.log.Info("persist: embedded store ready", "file", abs)
	return s, nil
}

// newSQLiteDriver returns a driver of our own (no process-wide registration) whose
// lower() is Unicode-aware, as Postgres's is with a UTF-8 locale; SQLite's built-in
// folds ASCII only. Case-insensitive usernames and searches rely on it. It also
// adds chatd_search_w and chatd_search_p, the full-text index's columns of a
// message's content (search_text.go; migrations/sqlite/0003_search.sql).
func newSQLiteDriver() *sqlite.Driver {
	d := &sqlite.Driver{}
	d.MustRegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
	d.MustRegisterDeterministicScalarFunction("chatd_search_w", 1, searchColumn(func(keys, _ []string) string { return ftsText(keys) }))
	d.MustRegisterDeterministicScalarFunction("chatd_search_p", 1, searchColumn(func(_, others []string) string { return ftsText(others) }))
	return d
}

// searchColumn adapts one column of searchTerms to an SQLite function of content.
func searchColumn(col func(keys, others []string) string) func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
	return func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var content string
		switch v := args[0].(type) {
		case string:
			content = v
		case []byte:
			content = string(v)
		case nil:
			return "", nil
		default:
			return nil, fmt.Errorf("persist: search terms of a %T", v)
		}
		return col(searchTerms(content)), nil
	}
}

// sqliteConnector opens connections to one DSN with our driver.
type sqliteConnector struct {
	d   *sqlite.Driver
	dsn string
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c sqliteConnector) Driver() driver.Driver                        { return c.d }

// insertMessageSQL writes one message of a group commit.
const insertMessageSQL = `INSERT INTO messages (id, room_id, seq, sender_id, type, content, content_html,
	parent_id, client_msg_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// fenceSQL advances a room's last seq if its epoch and last seq are still the batch's.
const fenceSQL = `UPDATE rooms SET last_seq = $1, last_message_at = COALESCE($2, last_message_at)
	WHERE id = $3 AND owner_epoch = $4 AND last_seq = $5`

// CommitBatch commits many rooms' messages in one transaction on the writer: per
// room, the fence UPDATE, then its messages through one prepared statement. Rooms
// whose epoch or last seq moved (or that no longer exist) get chat.ErrFenced and
// write nothing.
func (s *embeddedStore) CommitBatch(ctx context.Context, batches []RoomBatch) ([]error, error) {
	if err := validateBatches(batches); err != nil {
		return nil, err
	}
	results := make([]error, len(batches))
	if len(batches) == 0 {
		return results, nil
	}
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("persist: commit batch: begin: %w", err)
	}
	defer func() { _ = t.Rollback() }() // a no-op after Commit
	ins, err := t.PrepareContext(ctx, insertMessageSQL)
	if err != nil {
		return nil, fmt.Errorf("persist: commit batch: prepare: %w", err)
	}
	defer ins.Close()
	for i := range batches {
		b := &batches[i]
		res, err := t.ExecContext(ctx, fenceSQL, b.PrevSeq+int64(len(b.Messages)), b.lastAt(), b.RoomID, b.Epoch, b.PrevSeq)
		if err != nil {
			return nil, s.commitFault(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			results[i] = fenced(b)
			continue
		}
		for _, m := range b.Messages {
			if _, err := ins.ExecContext(ctx, m.ID, m.RoomID, m.Seq, m.Sender.ID, m.Type, m.Content, m.ContentHTML,
				m.ParentID, m.ClientMsgID, m.CreatedAt); err != nil {
				return nil, s.commitFault(err)
			}
			if err := bindAttachments(ctx, sqlTx{t}.exec, m); err != nil {
				return nil, err
			}
		}
	}
	if err := t.Commit(); err != nil {
		return nil, fmt.Errorf("persist: commit batch: commit: %w", err)
	}
	return results, nil
}

// sqliteDB adapts the writer and reader pools to db.
type sqliteDB struct {
	w *sql.DB // one connection: every write
	r *sql.DB // read-only connections: reads outside transactions
}

func (d *sqliteDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execRows(d.w.ExecContext(ctx, sqliteSQL(q), args...))
}

func (d *sqliteDB) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlRowsOf(d.r.QueryContext(ctx, sqliteSQL(q), args...))
}

func (d *sqliteDB) queryRow(ctx context.Context, q string, args ...any) row {
	return sqlRow{d.r.QueryRowContext(ctx, sqliteSQL(q), args...)}
}

func (d *sqliteDB) writeRow(ctx context.Context, q string, args ...any) row {
	return sqlRow{d.w.QueryRowContext(ctx, sqliteSQL(q), args...)}
}

func (d *sqliteDB) begin(ctx context.Context) (tx, error) {
	t, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlTx{t}, nil
}

// violation reads SQLite's extended result codes. SQLite names the columns (or,
// for an expression index, the index) in the message, which is returned as the
// detail to match hints against.
func (d *sqliteDB) violation(err error) (violationKind, string) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return noViolation, ""
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return uniqueViolation, se.Error()
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return foreignKeyViolation, se.Error()
	}
	return noViolation, ""
}

func (d *sqliteDB) ping(ctx context.Context) error {
	return errors.Join(d.w.PingContext(ctx), d.r.PingContext(ctx))
}

func (d *sqliteDB) close() {
	_ = d.r.Close()
	_ = d.w.Close()
}

// sqlTx adapts a database/sql transaction (on the writer) to tx.
type sqlTx struct{ t *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execRows(t.t.ExecContext(ctx, sqliteSQL(q), args...))
}

func (t sqlTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlRowsOf(t.t.QueryContext(ctx, sqliteSQL(q), args...))
}

func (t sqlTx) queryRow(ctx context.Context, q string, args ...any) row {
	return sqlRow{t.t.QueryRowContext(ctx, sqliteSQL(q), args...)}
}

func (t sqlTx) commit(context.Context) error   { return t.t.Commit() }
func (t sqlTx) rollback(context.Context) error { return t.t.Rollback() }

func execRows(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlRows adapts *sql.Rows to rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func sqlRowsOf(r *sql.Rows, err error) (rows, error) {
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

// sqlRow maps sql.ErrNoRows to errNoRows.
type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errNoRows
		}
		return err
	}
	return nil
}

// castRE matches a PostgreSQL cast on a parameter ("$2::uuid", "$3::text[]").
var castRE = regexp.MustCompile(`::[a-z]+(\[\])?`)

// sqliteQueries caches the SQLite form of each query text.
var sqliteQueries sync.Map // string -> string

// sqliteSQL returns q in the embedded dialect: the same text without `::type`
// casts, which SQLite does not know and does not need.
func sqliteSQL(q string) string {
	if !strings.Contains(q, "::") {
		return q
	}
	if v, ok := sqliteQueries.Load(q); ok {
		return v.(string)
	}
	out := castRE.ReplaceAllString(q, "")
	sqliteQueries.Store(q, out)
	return out
}

// Both stores implement Store; the compiler checks it here.
var (
	_ Store = (*embeddedStore)(nil)
	_ Store = (*pgStore)(nil)
)

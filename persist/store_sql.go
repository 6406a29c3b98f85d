package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/chatd/chatd/chat"
)

// sqlStore implements every Store method except CommitBatch, once, over db. The
// Postgres and embedded stores embed it and add their own group commit.
type sqlStore struct {
	db  db
	log *slog.Logger
	// now is the clock for effective statuses, mutes and notification expiry.
	now func() chat.Time
	// fts is the engine's full-text search (store_sql_search.go).
	fts ftsDialect
}

func newSQLStore(d db, fts ftsDialect, log *slog.Logger) *sqlStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &sqlStore{db: d, fts: fts, log: log, now: chat.Now}
}

// Ping checks that the store answers.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.ping(ctx); err != nil {
		return fmt.Errorf("persist: ping: %w", err)
	}
	return nil
}

// Close releases the connections.
func (s *sqlStore) Close() error {
	s.db.close()
	return nil
}

// inTx runs fn in a transaction, committing when it returns nil and rolling back
// otherwise (also when it panics).
func (s *sqlStore) inTx(ctx context.Context, fn func(q querier) error) error {
	t, err := s.db.begin(ctx)
	if err != nil {
		return fmt.Errorf("persist: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = t.rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	done = true
	if err := t.commit(ctx); err != nil {
		return fmt.Errorf("persist: commit: %w", err)
	}
	return nil
}

// isViolation reports whether err violated a constraint of kind whose name (or, for
// SQLite, message) mentions hint ("" matches any).
func (s *sqlStore) isViolation(err error, kind violationKind, hint string) bool {
	k, detail := s.db.violation(err)
	return k == kind && strings.Contains(detail, hint)
}

// notFound wraps chat.ErrNotFound with what was not found.
func notFound(what string, key any) error {
	return fmt.Errorf("persist: %s %v: %w", what, key, chat.ErrNotFound)
}

// scanOne scans the single row of r, mapping "no row" to notFound(what, key).
func scanOne(r row, what string, key any, dest ...any) error {
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, errNoRows) {
			return notFound(what, key)
		}
		return fmt.Errorf("persist: read %s %v: %w", what, key, err)
	}
	return nil
}

// collect reads every row of a query with scan, which is given the rows to Scan.
// The result is never nil.
func collect[T any](ctx context.Context, q querier, what string, scan func(r rows, v *T) error, sql string, args ...any) ([]T, error) {
	rs, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("persist: query %s: %w", what, err)
	}
	defer rs.Close()
	out := make([]T, 0) // lists are [] when empty, never null
	for rs.Next() {
		var v T
		if err := scan(rs, &v); err != nil {
			return nil, fmt.Errorf("persist: scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("persist: read %s: %w", what, err)
	}
	return out, nil
}

// pageLimit is the number of items a page holds: p.Limit within 1..chat.PageMax,
// chat.PageDefault when unset.
func pageLimit(p Page) int {
	switch {
	case p.Limit <= 0:
		return chat.PageDefault
	case p.Limit > chat.PageMax:
		return chat.PageMax
	}
	return p.Limit
}

// trimPage cuts items fetched with limit+1 to limit and returns the next cursor,
// made from the last item kept, when there was more.
func trimPage[T any](items []T, limit int, next func(last *T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, next(&items[limit-1])
}

// placeholders returns "$from, $from+1, ..." for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// escapeLike escapes LIKE's wildcards (and the escape character) in s, for use with
// ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

package persist

import (
	"context"
	"errors"
)

// The SQL layer talks to both engines through these small interfaces, so that every
// query is written once (store_sql*.go). They are the common subset of pgx and
// database/sql that the queries need; adapters live in store_postgres.go and
// store_embedded.go.
//
// Queries are written in PostgreSQL's dialect restricted to what SQLite also
// understands: $N placeholders (modernc's SQLite binds $N by number), ON CONFLICT,
// RETURNING, row values, TRUE/FALSE, lower() and LIKE ... ESCAPE. The one
// PostgreSQL-only construct allowed is a `::type` cast on a parameter, needed where
// Postgres cannot infer a parameter's type (INSERT ... SELECT $2, ...); the embedded
// dialect strips those casts (SQLite's columns convert by affinity).

// rows is a result set being read. Close may be called more than once.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// row is the first row of a result; Scan returns errNoRows when there is none.
type row interface {
	Scan(dest ...any) error
}

// querier runs statements: the pool itself or one transaction.
type querier interface {
	// exec runs a statement and returns the number of rows it affected.
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	// query runs a statement that returns rows.
	query(ctx context.Context, sql string, args ...any) (rows, error)
	// queryRow runs a statement and returns its first row.
	queryRow(ctx context.Context, sql string, args ...any) row
}

// db is a connection pool to one store.
type db interface {
	// exec, query and queryRow on the pool run outside a transaction; query and
	// queryRow must only read (the embedded store sends them to read-only
	// connections).
	querier
	// writeRow runs one writing statement with RETURNING outside a transaction.
	writeRow(ctx context.Context, sql string, args ...any) row
	// begin starts a read-write transaction.
	begin(ctx context.Context) (tx, error)
	// violation classifies a constraint violation (see violationKind).
	violation(err error) (violationKind, string)
	ping(ctx context.Context) error
	close()
}

// tx is a transaction. A transaction holds a connection: code running inside one
// must use it for every statement and never the pool (the embedded store has a
// single writing connection, so using the pool would deadlock).
type tx interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// violationKind says which kind of integrity constraint an error violated.
type violationKind int

const (
	noViolation violationKind = iota
	uniqueViolation
	foreignKeyViolation
)

// errNoRows is what row.Scan returns when the statement returned no row; adapters
// translate their driver's own sentinel to it.
var errNoRows = errors.New("persist: no rows")

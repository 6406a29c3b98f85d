// Package persist keeps chatd's state behind interfaces: the Store (users, rooms,
// members, messages and everything else of the contract), presence and rate-limit
// counters, and blobs (attachments' files: S3-compatible storage through minio-go, or
// a local folder on the embedded default; see Blobs).
//
// Two Stores implement one interface and pass one conformance suite: Postgres (pgx
// pool, migrations embedded and applied at start; the system of record in production)
// and the embedded store (SQLite in a file under the data directory; the default when
// no Postgres is configured). Both run the same SQL, written once in store_sql*.go,
// through a small dialect layer; only the group commit and the schema differ.
//
// Messages are written only through CommitBatch, by the room's owner node: it carries
// the owner's epoch and the seq the room had before the batch, and the store refuses
// the batch of a room whose epoch or last seq moved (ErrFenced). A stale owner can
// therefore never commit, and seq stays gap-free.
//
// # Engines and concurrency
//
// Postgres: a pgx pool; every method is one statement or one short transaction at
// READ COMMITTED, with races settled by conditional writes (ON CONFLICT, UPDATE ...
// WHERE) rather than locks held across round trips. The group commit is a single
// statement (the fence UPDATE and the INSERT of the rooms that passed it), so one
// round trip per batch whatever its size.
//
// Embedded: SQLite in WAL mode through two database/sql pools: one connection that
// does every write (writers queue in the pool, so SQLITE_BUSY never reaches a
// caller) and a few read-only connections for reads outside transactions. A
// transaction holds the writer: code inside one uses it for every statement.
//
// Queries are written once, in PostgreSQL's syntax restricted to what SQLite also
// understands (see db.go); times are BIGINT Unix milliseconds in both schemas.
package persist

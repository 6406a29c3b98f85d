// Package persist keeps chatd's state behind interfaces: the Store (users, rooms,
// members, messages and everything else of the contract), presence and rate-limit
// counters, and (later) blobs.
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
package persist

package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/chatd/chatd/chat"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLockKey is the advisory lock that serializes migrations across nodes
// ("chatdmig" in ASCII).
const migrationLockKey = 0x636861746d6967

// pgStore is the Postgres Store: the shared SQL over a pgx pool, plus a group
// commit that is a single statement.
type pgStore struct {
	*sqlStore
	pool *pgxpool.Pool
}

// OpenPostgres connects to the database at url (a postgres:// URL or key=value
// DSN; pool settings such as pool_max_conns may ride along), applies pending
// migrations, and returns the Store. log may be nil.
func OpenPostgres(ctx context.Context, url string, log *slog.Logger) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("persist: parse postgres url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("persist: open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("persist: connect to postgres at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s := &pgStore{sqlStore: newSQLStore(pgDB{pool}, log), pool: pool}
	if err := s.migrate(ctx, "postgres", fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey)); err != nil {
		pool.Close()
		return nil, err
	}
	s.log.Info("persist: postgres store ready", "host", cfg.ConnConfig.Host, "database", cfg.ConnConfig.Database,
		"max_conns", cfg.MaxConns)
	return s, nil
}

// commitSQL is the whole group commit in one statement, so one round trip and no
// explicit transaction (a statement is atomic): the fence UPDATE advances every room
// whose epoch and last seq are still those of its batch, and the INSERT writes the
// messages of exactly those rooms. The rooms that advanced are returned; the others
// were fenced. Any error (a duplicate client_msg_id) undoes the whole statement.
const commitSQL = `WITH b AS (
	SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
		AS b(room_id, epoch, prev_seq, new_seq, last_at)
), fenced AS (
	UPDATE rooms r SET last_seq = b.new_seq, last_message_at = COALESCE(b.last_at, r.last_message_at)
	FROM b WHERE r.id = b.room_id AND r.owner_epoch = b.epoch AND r.last_seq = b.prev_seq
	RETURNING r.id
), ins AS (
	INSERT INTO messages (id, room_id, seq, sender_id, type, content, content_html, parent_id, client_msg_id, created_at)
	SELECT * FROM unnest($6::uuid[], $7::uuid[], $8::bigint[], $9::uuid[], $10::text[], $11::text[], $12::text[],
		$13::uuid[], $14::text[], $15::bigint[])
		AS m(id, room_id, seq, sender_id, type, content, content_html, parent_id, client_msg_id, created_at)
	WHERE m.room_id IN (SELECT id FROM fenced)
)
SELECT id FROM fenced`

// CommitBatch commits many rooms' messages in one statement (one round trip); see
// commitSQL. Rooms whose epoch or last seq moved get chat.ErrFenced and write
// nothing; last_message_at becomes the created_at of a room's newest message.
//
// An error usually means nothing was written, but not always: when the connection
// breaks after the server committed, the outcome is unknown. Owners resolve that by
// re-reading the room's last seq (AcquireRoom) before answering senders.
func (s *pgStore) CommitBatch(ctx context.Context, batches []RoomBatch) ([]error, error) {
	if err := validateBatches(batches); err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return []error{}, nil
	}
	n := 0
	for _, b := range batches {
		n += len(b.Messages)
	}
	var (
		rooms                  = make([]chat.ID, len(batches))
		epochs, prevs, news    = make([]int64, len(batches)), make([]int64, len(batches)), make([]int64, len(batches))
		lastAts                = make([]*chat.Time, len(batches))
		ids, roomIDs, senders  = make([]chat.ID, 0, n), make([]chat.ID, 0, n), make([]chat.ID, 0, n)
		seqs, created          = make([]int64, 0, n), make([]chat.Time, 0, n)
		types, contents, htmls = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		parents                = make([]pgtype.UUID, 0, n)
		clientIDs              = make([]*string, 0, n)
	)
	for i := range batches {
		b := &batches[i]
		rooms[i], epochs[i], prevs[i], news[i], lastAts[i] = b.RoomID, b.Epoch, b.PrevSeq, b.PrevSeq+int64(len(b.Messages)), b.lastAt()
		for _, m := range b.Messages {
			ids, roomIDs, senders = append(ids, m.ID), append(roomIDs, m.RoomID), append(senders, m.Sender.ID)
			seqs, created = append(seqs, m.Seq), append(created, m.CreatedAt)
			types, contents, htmls = append(types, string(m.Type)), append(contents, m.Content), append(htmls, m.ContentHTML)
			var parent pgtype.UUID
			if m.ParentID != nil {
				parent = pgtype.UUID{Bytes: *m.ParentID, Valid: true}
			}
			parents, clientIDs = append(parents, parent), append(clientIDs, m.ClientMsgID)
		}
	}
	rs, err := s.pool.Query(ctx, commitSQL, rooms, epochs, prevs, news, lastAts,
		ids, roomIDs, seqs, senders, types, contents, htmls, parents, clientIDs, created)
	if err != nil {
		return nil, s.commitFault(err)
	}
	committed, err := pgx.CollectRows(rs, pgx.RowTo[chat.ID])
	if err != nil {
		return nil, s.commitFault(err)
	}
	ok := make(map[chat.ID]struct{}, len(committed))
	for _, id := range committed {
		ok[id] = struct{}{}
	}
	results := make([]error, len(batches))
	for i := range batches {
		if _, yes := ok[batches[i].RoomID]; !yes {
			results[i] = fenced(&batches[i])
		}
	}
	return results, nil
}

// pgDB adapts a pgx pool to db.
type pgDB struct{ pool *pgxpool.Pool }

func (d pgDB) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := d.pool.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (d pgDB) query(ctx context.Context, sql string, args ...any) (rows, error) {
	return d.pool.Query(ctx, sql, args...)
}

func (d pgDB) queryRow(ctx context.Context, sql string, args ...any) row {
	return pgRow{d.pool.QueryRow(ctx, sql, args...)}
}

func (d pgDB) writeRow(ctx context.Context, sql string, args ...any) row {
	return pgRow{d.pool.QueryRow(ctx, sql, args...)}
}

func (d pgDB) begin(ctx context.Context) (tx, error) {
	t, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgTx{t}, nil
}

// violation reads SQLSTATE 23505 (unique) and 23503 (foreign key) and names the
// constraint.
func (d pgDB) violation(err error) (violationKind, string) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return noViolation, ""
	}
	switch pe.Code {
	case "23505":
		return uniqueViolation, pe.ConstraintName
	case "23503":
		return foreignKeyViolation, pe.ConstraintName
	}
	return noViolation, ""
}

func (d pgDB) ping(ctx context.Context) error { return d.pool.Ping(ctx) }
func (d pgDB) close()                         { d.pool.Close() }

// pgTx adapts a pgx transaction to tx.
type pgTx struct{ t pgx.Tx }

func (t pgTx) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := t.t.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) query(ctx context.Context, sql string, args ...any) (rows, error) {
	return t.t.Query(ctx, sql, args...)
}

func (t pgTx) queryRow(ctx context.Context, sql string, args ...any) row {
	return pgRow{t.t.QueryRow(ctx, sql, args...)}
}

func (t pgTx) commit(ctx context.Context) error   { return t.t.Commit(ctx) }
func (t pgTx) rollback(ctx context.Context) error { return t.t.Rollback(ctx) }

// pgRow maps pgx.ErrNoRows to errNoRows.
type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoRows
		}
		return err
	}
	return nil
}

package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

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

// defaultMaxConns is the pool size when the URL sets no pool_max_conns: pgx's own
// default (4, or the CPU count) would leave a node's commit shards and its API
// handlers queueing for connections. Connections open on demand, so an idle node
// holds few.
const defaultMaxConns = 16

// OpenPostgres connects to the database at url (a postgres:// URL or key=value
// DSN; pool settings such as pool_max_conns may ride along, default 16), applies
// pending migrations, and returns the Store. log may be nil.
func OpenPostgres(ctx context.Context, url string, log *slog.Logger) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("persist: parse postgres url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("persist: open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("persist: connect to postgres at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s := &pgStore{sqlStore: newSQLStore(pgDB{pool}, pgFTS{}, log), pool: pool}
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
	INSERT INTO messages (id, room_id, seq, sender_id, type, content, content_html, parent_id, client_msg_id, created_at, search)
	SELECT m.id, m.room_id, m.seq, m.sender_id, m.type, m.content, m.content_html, m.parent_id, m.client_msg_id,
		m.created_at, m.search::tsvector
	FROM unnest($6::uuid[], $7::uuid[], $8::bigint[], $9::uuid[], $10::text[], $11::text[], $12::text[],
		$13::uuid[], $14::text[], $15::bigint[], $16::text[])
		AS m(id, room_id, seq, sender_id, type, content, content_html, parent_id, client_msg_id, created_at, search)
	WHERE m.room_id IN (SELECT id FROM fenced)
)
SELECT id FROM fenced`

// CommitBatch commits many rooms' messages in one statement (one round trip); see
// commitSQL. Rooms whose epoch or last seq moved (or that no longer exist) get
// chat.ErrFenced and write nothing; last_message_at becomes the created_at of a
// room's newest message.
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
	var committed [][16]byte
	var err error
	if hasAttachments(batches) {
		committed, err = s.commitWithAttachments(ctx, batches)
	} else {
		committed, err = s.commitRooms(ctx, s.pool, batches)
	}
	if err != nil {
		return nil, err
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

// commitRooms runs commitSQL through q and returns the rooms that advanced.
func (s *pgStore) commitRooms(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, batches []RoomBatch) ([][16]byte, error) {
	rs, err := q.Query(ctx, commitSQL, newCommitArgs(batches).params()...)
	if err != nil {
		return nil, s.commitFault(err)
	}
	committed, err := pgx.CollectRows(rs, pgx.RowTo[[16]byte])
	if err != nil {
		return nil, s.commitFault(err)
	}
	return committed, nil
}

// commitWithAttachments is the group commit of a batch in which some messages carry
// attachments: commitSQL and then the binding of those messages' attachments, in one
// transaction (a second round trip only for such batches). A binding that fails
// (ErrAttachmentTaken) rolls everything back.
func (s *pgStore) commitWithAttachments(ctx context.Context, batches []RoomBatch) ([][16]byte, error) {
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("persist: commit batch: begin: %w", err)
	}
	defer func() { _ = t.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	committed, err := s.commitRooms(ctx, t, batches)
	if err != nil {
		return nil, err
	}
	live := make(map[chat.ID]bool, len(committed))
	for _, id := range committed {
		live[id] = true
	}
	exec := pgTx{t}.exec
	for i := range batches {
		if !live[batches[i].RoomID] {
			continue
		}
		for _, m := range batches[i].Messages {
			if err := bindAttachments(ctx, exec, m); err != nil {
				return nil, err
			}
		}
	}
	if err := t.Commit(ctx); err != nil {
		return nil, s.commitFault(err)
	}
	return committed, nil
}

// hasAttachments reports whether any message of the batches carries attachments.
func hasAttachments(batches []RoomBatch) bool {
	for i := range batches {
		for _, m := range batches[i].Messages {
			if len(m.Attachments) > 0 {
				return true
			}
		}
	}
	return false
}

// commitArgs are commitSQL's parameters: a column-wise array per field, which
// unnest zips back into rows. Arrays keep the statement text fixed, so it is
// prepared once per connection whatever the batch's size. IDs are plain [16]byte and
// times plain int64: pgx encodes those directly, where the named types (uuid.UUID is
// a driver.Valuer) would take a text round trip and several allocations per element.
type commitArgs struct {
	rooms                  [][16]byte
	epochs, prevs, news    []int64
	lastAts                []*int64
	ids, roomIDs, senders  [][16]byte
	seqs                   []int64
	created                []int64
	types, contents, htmls []string
	searches               []string // tsvector text (searchVector)
	parents                []pgtype.UUID
	clientIDs              []*string
}

func newCommitArgs(batches []RoomBatch) *commitArgs {
	n := 0
	for _, b := range batches {
		n += len(b.Messages)
	}
	a := &commitArgs{
		rooms: make([][16]byte, 0, len(batches)), epochs: make([]int64, 0, len(batches)),
		prevs: make([]int64, 0, len(batches)), news: make([]int64, 0, len(batches)),
		lastAts: make([]*int64, 0, len(batches)),
		ids:     make([][16]byte, 0, n), roomIDs: make([][16]byte, 0, n), senders: make([][16]byte, 0, n),
		seqs: make([]int64, 0, n), created: make([]int64, 0, n),
		types: make([]string, 0, n), contents: make([]string, 0, n), htmls: make([]string, 0, n),
		searches: make([]string, 0, n),
		parents:  make([]pgtype.UUID, 0, n), clientIDs: make([]*string, 0, n),
	}
	for i := range batches {
		b := &batches[i]
		a.rooms = append(a.rooms, b.RoomID)
		a.epochs = append(a.epochs, b.Epoch)
		a.prevs = append(a.prevs, b.PrevSeq)
		a.news = append(a.news, b.PrevSeq+int64(len(b.Messages)))
		var lastAt *int64
		if t := b.lastAt(); t != nil {
			v := int64(*t)
			lastAt = &v
		}
		a.lastAts = append(a.lastAts, lastAt)
		for _, m := range b.Messages {
			a.ids = append(a.ids, m.ID)
			a.roomIDs = append(a.roomIDs, m.RoomID)
			a.senders = append(a.senders, m.Sender.ID)
			a.seqs = append(a.seqs, m.Seq)
			a.created = append(a.created, int64(m.CreatedAt))
			a.types = append(a.types, string(m.Type))
			a.contents = append(a.contents, m.Content)
			a.htmls = append(a.htmls, m.ContentHTML)
			a.searches = append(a.searches, searchVector(m.Content))
			var parent pgtype.UUID // NULL unless set
			if m.ParentID != nil {
				parent = pgtype.UUID{Bytes: *m.ParentID, Valid: true}
			}
			a.parents = append(a.parents, parent)
			a.clientIDs = append(a.clientIDs, m.ClientMsgID)
		}
	}
	return a
}

// params returns the arguments in commitSQL's order ($1..$16).
func (a *commitArgs) params() []any {
	return []any{a.rooms, a.epochs, a.prevs, a.news, a.lastAts,
		a.ids, a.roomIDs, a.seqs, a.senders, a.types, a.contents, a.htmls, a.parents, a.clientIDs, a.created,
		a.searches}
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

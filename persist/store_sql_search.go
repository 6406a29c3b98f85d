package persist

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatd/chatd/chat"
)

// ftsDialect is what differs between the engines' full-text search: how query
// words become keys, how membership is written, and how a resolved query is
// matched and ranked. Everything else (access rules, filters, the candidate set,
// loading, context, highlighting) is shared.
type ftsDialect interface {
	// keys returns the key of each raw query word (searchKey, computed where the
	// index's terms are computed, so that both sides always agree).
	keys(ctx context.Context, q querier, raw []string) ([]string, error)
	// memberRooms returns the condition restricting "messages m" to viewer's rooms,
	// written with parameter $1, and that parameter's value.
	memberRooms(ctx context.Context, q querier, viewer chat.ID) (cond string, arg any, err error)
	// match returns what joins the index to "messages m", the condition matching
	// parameter $n, the candidate columns the ranking needs, the ranking over the
	// candidates "c" (best first) and the parameter's value.
	match(expr searchExpr, link bool, n int) (join, cond, cols, rank string, arg any)
}

// pgFTS searches the generated tsvector column messages.search through the GIN
// index on (room_id, search).
type pgFTS struct{}

func (pgFTS) keys(ctx context.Context, q querier, raw []string) ([]string, error) {
	var keys []string
	err := q.queryRow(ctx, `SELECT coalesce(array_agg(chatd_search_key(w) ORDER BY i), '{}')
		FROM unnest($1::text[]) WITH ORDINALITY AS t(w, i)`, raw).Scan(&keys)
	if err != nil {
		return nil, fmt.Errorf("persist: search keys: %w", err)
	}
	if len(keys) != len(raw) {
		return nil, fmt.Errorf("persist: search keys: %d keys for %d words", len(keys), len(raw))
	}
	return keys, nil
}

// pgRoomArrayMax is the most rooms a viewer may be in for their search to name
// them as an array (see memberRooms).
const pgRoomArrayMax = 100

// memberRooms reads the viewer's rooms first. Up to pgRoomArrayMax, the search
// names them as an array, so that one bitmap scan of the (room_id, search) index
// looks up the words within each room: a user in 50 of 1,000 rooms reads only
// their rooms' matches. Past that, a semi-join lets the planner pick a scan of
// the words' matches or a newest-first walk, whichever is cheaper. (Reading the
// rooms in a statement of its own means a member removed in that instant may see
// one more answer from the room.)
func (pgFTS) memberRooms(ctx context.Context, q querier, viewer chat.ID) (string, any, error) {
	rooms, err := collect(ctx, q, "search rooms", func(r rows, id *[16]byte) error { return r.Scan(id) },
		`SELECT room_id FROM members WHERE user_id = $1 LIMIT `+strconv.Itoa(pgRoomArrayMax+1), viewer)
	if err != nil {
		return "", nil, err
	}
	if len(rooms) > pgRoomArrayMax {
		return "m.room_id IN (SELECT mb.room_id FROM members mb WHERE mb.user_id = $1)", viewer, nil
	}
	return "m.room_id = ANY ($1::uuid[])", rooms, nil
}

func (pgFTS) match(expr searchExpr, link bool, n int) (join, cond, cols, rank string, arg any) {
	p := "$" + strconv.Itoa(n) + "::tsquery"
	return "", "m.search @@ " + p, "m.search", "ts_rank(c.search, " + p + ") DESC", expr.tsquery(link)
}

// sqliteFTS searches the FTS5 table messages_fts (migrations/sqlite/0003_search.sql).
type sqliteFTS struct{}

func (sqliteFTS) keys(_ context.Context, _ querier, raw []string) ([]string, error) {
	return goKeys(raw), nil
}

func (sqliteFTS) memberRooms(_ context.Context, _ querier, viewer chat.ID) (string, any, error) {
	return "m.room_id IN (SELECT mb.room_id FROM members mb WHERE mb.user_id = $1)", viewer, nil
}

// match ranks with bm25, lower for better matches, chunk keys (w) weighing twice
// the other terms; bm25 only works beside MATCH, so it is a candidate column.
func (sqliteFTS) match(expr searchExpr, link bool, n int) (join, cond, cols, rank string, arg any) {
	return " JOIN messages_fts ON messages_fts.rowid = m.rowid", "messages_fts MATCH $" + strconv.Itoa(n),
		"bm25(messages_fts, 2.0, 1.0) AS r", "c.r", expr.fts5(link)
}

// searchCandidates bounds the matches a search ranks: the newest ones. A common
// word matches a large share of a big room's history; ranking all of it would
// cost a read of every match, while the newest few hundred are found by walking
// an index backwards and are what a chat search is for.
const searchCandidates = 500

// Search finds the messages viewer may read that match q (see SearchStore).
func (s *sqlStore) Search(ctx context.Context, viewer chat.ID, q SearchQuery) ([]chat.SearchHit, error) {
	expr, err := s.searchExpr(ctx, &q)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = SearchDefaultLimit
	}
	if limit > chat.PageMax {
		return nil, chat.FieldError("limit", "limit must be an integer 1-%d", chat.PageMax)
	}
	sql, args, err := s.searchSQL(ctx, expr, viewer, &q, limit)
	if err != nil {
		return nil, err
	}
	ids, err := collect(ctx, s.db, "search", func(r rows, id *chat.ID) error { return r.Scan(id) }, sql, args...)
	if err != nil {
		return nil, err
	}
	return s.searchHits(ctx, viewer, ids, expr.positiveKeys())
}

// searchExpr checks q's filters and parses and resolves its text; the result is
// empty for a search by filters only.
func (s *sqlStore) searchExpr(ctx context.Context, q *SearchQuery) (searchExpr, error) {
	switch q.Has {
	case "", SearchHasAttachments, SearchHasLinks:
	default:
		return nil, chat.FieldError("has", "has must be attachments or links")
	}
	if q.From != nil && q.To != nil && *q.From >= *q.To {
		return nil, chat.FieldError("to", "to must be after from")
	}
	expr, err := parseSearch(q.Text)
	if err != nil {
		return nil, err
	}
	if raw := expr.rawWords(); len(raw) > 0 {
		keys, err := s.fts.keys(ctx, s.db, raw)
		if err != nil {
			return nil, err
		}
		if expr, err = expr.resolve(keys); err != nil {
			return nil, err
		}
	}
	if len(expr) == 0 && !q.filtered() {
		return nil, chat.FieldError("q", "q needs a word (letters or digits) unless a filter is given")
	}
	return expr, nil
}

// searchFilter is the FROM and WHERE of a search and its parameters ($1 names
// the viewer's rooms, see ftsDialect.memberRooms). Membership comes first: only
// rooms viewer is a member of now, so a room left or a member removed is out at
// once; deleted messages never match, nor do system messages (room events such as
// joins, which show only as context). cols and rank are the ranking's (empty when
// expr has no words).
type searchFilter struct {
	from, where, cols, rank string
	args                    []any
}

func (s *sqlStore) searchFilter(ctx context.Context, expr searchExpr, viewer chat.ID, q *SearchQuery) (*searchFilter, error) {
	member, who, err := s.fts.memberRooms(ctx, s.db, viewer)
	if err != nil {
		return nil, err
	}
	f := &searchFilter{args: []any{who}}
	arg := func(v any) string {
		f.args = append(f.args, v)
		return "$" + strconv.Itoa(len(f.args))
	}
	where := []string{member, "NOT m.deleted", "m.type <> 'system'"}
	join := ""
	if link := q.Has == SearchHasLinks; len(expr) > 0 || link {
		var cond, cols, rank string
		var v any
		join, cond, cols, rank, v = s.fts.match(expr, link, len(f.args)+1)
		f.args = append(f.args, v)
		where = append(where, cond)
		if len(expr) > 0 {
			f.cols, f.rank = cols, rank
		}
	}
	if q.Room != nil {
		where = append(where, "m.room_id = "+arg(*q.Room))
	}
	if q.Sender != nil {
		where = append(where, "m.sender_id = "+arg(*q.Sender))
	}
	if q.From != nil {
		where = append(where, "m.created_at >= "+arg(*q.From))
	}
	if q.To != nil {
		where = append(where, "m.created_at < "+arg(*q.To))
	}
	if q.Has == SearchHasAttachments {
		where = append(where, "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)")
	}
	f.from = "messages m" + join
	f.where = strings.Join(where, " AND ")
	return f, nil
}

// searchSQL builds the query of the matching message IDs, best first: the
// searchCandidates newest matches, ranked; newest first when expr has no words.
func (s *sqlStore) searchSQL(ctx context.Context, expr searchExpr, viewer chat.ID, q *SearchQuery, limit int) (string, []any, error) {
	f, err := s.searchFilter(ctx, expr, viewer, q)
	if err != nil {
		return "", nil, err
	}
	newest := " ORDER BY m.created_at DESC, m.id DESC LIMIT "
	if f.rank == "" {
		f.args = append(f.args, limit)
		return "SELECT m.id FROM " + f.from + " WHERE " + f.where + newest + "$" + strconv.Itoa(len(f.args)), f.args, nil
	}
	f.args = append(f.args, limit)
	sql := "WITH c AS (SELECT m.id, m.created_at, " + f.cols + " FROM " + f.from + " WHERE " + f.where +
		newest + strconv.Itoa(searchCandidates) + ") SELECT c.id FROM c ORDER BY " + f.rank +
		", c.created_at DESC, c.id DESC LIMIT $" + strconv.Itoa(len(f.args))
	return sql, f.args, nil
}

// searchHits loads the messages of ids (in that order) with their neighbours and
// highlights. A message deleted since the match is left out.
func (s *sqlStore) searchHits(ctx context.Context, viewer chat.ID, ids []chat.ID, keys map[string]bool) ([]chat.SearchHit, error) {
	hits := make([]chat.SearchHit, 0, len(ids))
	if len(ids) == 0 {
		return hits, nil
	}
	byID, err := s.messagesByIDs(ctx, ids, viewer)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if m := byID[id]; m != nil {
			hits = append(hits, chat.SearchHit{Message: *m, Highlight: highlight(m.Content, keys)})
		}
	}
	if err := s.fillContext(ctx, viewer, hits); err != nil {
		return nil, err
	}
	return hits, nil
}

// roomSeq names a message by its place in its room.
type roomSeq struct {
	room chat.ID
	seq  int64
}

// fillContext sets each hit's Before and After: the messages at seq-1 and seq+1 of
// its room (a deleted neighbour shows as deleted, as in the timeline), in one query.
func (s *sqlStore) fillContext(ctx context.Context, viewer chat.ID, hits []chat.SearchHit) error {
	var rows []string
	var args []any
	for i := range hits {
		m := &hits[i].Message
		for _, seq := range []int64{m.Seq - 1, m.Seq + 1} {
			if seq < 1 {
				continue
			}
			args = append(args, m.RoomID, seq)
			rows = append(rows, fmt.Sprintf("($%d::uuid, $%d::bigint)", len(args)-1, len(args)))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	ms, err := s.loadMessages(ctx, s.db, viewer, msgSelect+` WHERE (m.room_id, m.seq) IN (VALUES `+strings.Join(rows, ", ")+`)`, args...)
	if err != nil {
		return err
	}
	at := make(map[roomSeq]*chat.Message, len(ms))
	for i := range ms {
		at[roomSeq{ms[i].RoomID, ms[i].Seq}] = &ms[i]
	}
	for i := range hits {
		m := &hits[i].Message
		hits[i].Before = at[roomSeq{m.RoomID, m.Seq - 1}]
		hits[i].After = at[roomSeq{m.RoomID, m.Seq + 1}]
	}
	return nil
}

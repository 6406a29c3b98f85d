package persist

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatd/chatd/chat"
)

// ftsDialect is what differs between the engines' full-text search: how query
// words become keys, and how a resolved query is matched and ranked. Everything
// else (access rules, filters, loading, context, highlighting) is shared.
type ftsDialect interface {
	// keys returns the key of each raw query word (SearchKey, computed where the
	// index's terms are computed, so that both sides always agree).
	keys(ctx context.Context, q querier, raw []string) ([]string, error)
	// match returns what joins the index to "messages m", the condition matching
	// parameter $n, the ranking to ORDER BY (best first) and the parameter's value.
	match(expr searchExpr, link bool, n int) (join, cond, rank string, arg any)
}

// pgFTS searches the generated tsvector column messages.search (GIN index).
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

func (pgFTS) match(expr searchExpr, link bool, n int) (join, cond, rank string, arg any) {
	p := "$" + strconv.Itoa(n) + "::tsquery"
	return "", "m.search @@ " + p, "ts_rank(m.search, " + p + ") DESC", expr.tsquery(link)
}

// sqliteFTS searches the FTS5 table messages_fts (migrations/sqlite/0003_search.sql).
type sqliteFTS struct{}

func (sqliteFTS) keys(_ context.Context, _ querier, raw []string) ([]string, error) {
	return goKeys(raw), nil
}

func (sqliteFTS) match(expr searchExpr, link bool, n int) (join, cond, rank string, arg any) {
	// bm25 is lower for better matches; chunk keys (w) weigh twice the other terms.
	return " JOIN messages_fts ON messages_fts.rowid = m.rowid", "messages_fts MATCH $" + strconv.Itoa(n),
		"bm25(messages_fts, 2.0, 1.0)", expr.fts5(link)
}

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
	sql, args := s.searchSQL(expr, viewer, &q, limit)
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

// searchSQL builds the query of the matching message IDs, best first. Membership
// comes first: only rooms viewer is a member of now, so a room left or a member
// removed is out at once; deleted messages never match, nor do system messages
// (room events such as joins, which show only as context).
func (s *sqlStore) searchSQL(expr searchExpr, viewer chat.ID, q *SearchQuery, limit int) (string, []any) {
	args := []any{viewer}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{"m.room_id IN (SELECT mb.room_id FROM members mb WHERE mb.user_id = $1)", "NOT m.deleted", "m.type <> 'system'"}
	join, order := "", "m.created_at DESC, m.id DESC"
	link := q.Has == SearchHasLinks
	if len(expr) > 0 || link {
		var cond, rank string
		var v any
		join, cond, rank, v = s.fts.match(expr, link, len(args)+1)
		args = append(args, v)
		where = append(where, cond)
		if len(expr) > 0 {
			order = rank + ", " + order
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
	sql := "SELECT m.id FROM messages m" + join + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + order + " LIMIT " + arg(limit)
	return sql, args
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

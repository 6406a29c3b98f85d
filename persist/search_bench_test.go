//go:build searchbench

package persist

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
	"github.com/jackc/pgx/v5"
)

// The search benchmark (docs/benchmarks.md, "Search"): a generated corpus of
// CHATD_SEARCHBENCH_MESSAGES messages (default 1,000,000) over 1,000 rooms on the
// test harness's Postgres, then p50/p99 of Search for common and rare words, with
// and without filters, for a user in 50 rooms and a user in all of them, and the
// sizes of the table and the GIN index. Run it with
//
//	go test -tags searchbench -run TestSearchCorpus -timeout 60m -v ./persist
//
// The build tag keeps it (and its minutes of loading) out of `make test`.

const (
	benchRooms = 1000
	benchUsers = 200
	benchRuns  = 200
)

func TestSearchCorpus(t *testing.T) {
	n := 1_000_000
	if v := os.Getenv("CHATD_SEARCHBENCH_MESSAGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := OpenPostgres(ctx, testsvc.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	c := newCorpus(n)
	start := time.Now()
	few, all := c.load(t, ctx, s)
	t.Logf("loaded %d messages over %d rooms in %s", n, benchRooms, time.Since(start).Round(time.Second))
	logSizes(t, ctx, s)
	c.run(t, ctx, s, few, all)
}

// corpus generates messages: Zipf-distributed words (common English first, then
// made-up words), with URLs, e-mail addresses, IP addresses, versions and code
// identifiers sprinkled in.
type corpus struct {
	n     int
	vocab []string
	rng   *rand.Rand
	zipf  *rand.Zipf
	t0    int64
	next  int // the next message to generate
}

var commonWords = strings.Fields(`the to and a of i you it in is that for on this we be have
	with not are do was but at so can if just what my will from all get an they there
	about me one your know like up no out think see now how yes time good then when
	deploy build test error fix server release review merge branch issue ticket meeting
	lunch today tomorrow please thanks sure ok cool nice great check update change`)

func newCorpus(n int) *corpus {
	rng := rand.New(rand.NewPCG(42, 7))
	c := &corpus{n: n, rng: rng, t0: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
	c.vocab = slices.Clone(commonWords)
	syll := strings.Fields("ka lo mi nu pe ra si to vu xe za bo di fu ge hi jo ku la me no pu qi ro su te")
	seen := map[string]bool{}
	for _, w := range c.vocab {
		seen[w] = true
	}
	for len(c.vocab) < 50_000 {
		var b strings.Builder
		for k := 2 + rng.IntN(3); k > 0; k-- {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			c.vocab = append(c.vocab, w)
		}
	}
	c.zipf = rand.NewZipf(rng, 1.07, 2, uint64(len(c.vocab)-1))
	return c
}

// text returns message i's content.
func (c *corpus) text(i int) string {
	words := make([]string, 0, 32)
	for k := 3 + c.rng.IntN(25); k > 0; k-- {
		words = append(words, c.vocab[c.zipf.Uint64()])
	}
	switch r := c.rng.IntN(100); {
	case r < 3:
		words = append(words, fmt.Sprintf("https://git%d.example.com/team/repo/pull/%d?tab=files", i%50, i%9973))
	case r < 4:
		words = append(words, fmt.Sprintf("user%d@example.org", i%5000))
	case r < 5:
		words = append(words, fmt.Sprintf("10.%d.%d.%d", i%7, i%250, i%97))
	case r < 6:
		words = append(words, fmt.Sprintf("release-%d.%d", i%9, i%30))
	case r < 9:
		ids := []string{"my_var", "getUserName", "pkg.Func", "ctx.Done", "http.Handler", "max_conns"}
		words = append(words, ids[c.rng.IntN(len(ids))])
	}
	c.rng.Shuffle(len(words), func(a, b int) { words[a], words[b] = words[b], words[a] })
	return strings.Join(words, " ")
}

// load creates the users, rooms and memberships (few: a member of 50 rooms; all: a
// member of every room) and COPYs the messages in, with the GIN index built after.
func (c *corpus) load(t *testing.T, ctx context.Context, s *pgStore) (few, all chat.ID) {
	t.Helper()
	users := make([]chat.ID, benchUsers)
	for i := range users {
		u := chat.User{ID: chat.NewID(), Username: fmt.Sprintf("u%d", i), DisplayName: "U", CreatedAt: chat.Time(c.t0)}
		must(t, s.CreateUser(ctx, &u, "h"))
		users[i] = u.ID
	}
	few, all = users[0], users[1]
	rooms := make([]chat.ID, benchRooms)
	for i := range rooms {
		r := chat.Room{ID: chat.NewID(), Name: fmt.Sprintf("r%d", i), Type: chat.RoomPublic, CreatedBy: all, CreatedAt: chat.Time(c.t0)}
		must(t, s.CreateRoom(ctx, &r))
		rooms[i] = r.ID
		if i%(benchRooms/50) == 0 {
			_, err := s.AddMember(ctx, r.ID, few, chat.RoleMember, chat.LevelMentions, chat.Time(c.t0))
			must(t, err)
		}
	}
	_, err := s.pool.Exec(ctx, `DROP INDEX messages_search`)
	must(t, err)
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	_, err = s.pool.CopyFrom(ctx, pgx.Identifier{"messages"},
		[]string{"id", "room_id", "seq", "sender_id", "type", "content", "created_at"},
		pgx.CopyFromFunc(func() ([]any, error) {
			i := c.next
			c.next++
			if i >= c.n {
				return nil, nil
			}
			return []any{[16]byte(chat.NewID()), [16]byte(rooms[i%benchRooms]), int64(i/benchRooms + 1),
				[16]byte(users[c.rng.IntN(benchUsers)]), "text", c.text(i), c.t0 + int64(i)*span/int64(c.n)}, nil
		}))
	must(t, err)
	for _, q := range []string{
		`UPDATE rooms SET last_seq = (SELECT max(seq) FROM messages m WHERE m.room_id = rooms.id)`,
		`SET maintenance_work_mem = '512MB'`,
		`CREATE INDEX messages_search ON messages USING gin (search)`,
		`VACUUM ANALYZE messages`, `ANALYZE members`,
	} {
		_, err := s.pool.Exec(ctx, q)
		must(t, err)
	}
	return few, all
}

func logSizes(t *testing.T, ctx context.Context, s *pgStore) {
	var table, total, gin, search int64
	must(t, s.pool.QueryRow(ctx, `SELECT pg_relation_size('messages'), pg_total_relation_size('messages'),
		pg_relation_size('messages_search'), (SELECT sum(pg_column_size(search)) FROM messages)::bigint`).Scan(&table, &total, &gin, &search))
	mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	t.Logf("sizes: messages table %s (with TOAST and indexes %s), GIN index messages_search %s, search column %s",
		mb(table), mb(total), mb(gin), mb(search))
}

// run measures each query shape for both users.
func (c *corpus) run(t *testing.T, ctx context.Context, s *pgStore, few, all chat.ID) {
	var room chat.ID
	must(t, s.pool.QueryRow(ctx, `SELECT room_id FROM members WHERE user_id = $1 LIMIT 1`, few).Scan(&room))
	sender := chat.ID{}
	must(t, s.pool.QueryRow(ctx, `SELECT sender_id FROM messages LIMIT 1`).Scan(&sender))
	month := chat.Time(c.t0 + int64(335*24*time.Hour/time.Millisecond))
	common, mid, rare := c.vocab[20], c.vocab[2000], c.vocab[40000]
	shapes := []struct {
		name string
		q    SearchQuery
	}{
		{"common word " + common, SearchQuery{Text: common}},
		{"mid word " + mid, SearchQuery{Text: mid}},
		{"rare word " + rare, SearchQuery{Text: rare}},
		{"two common words", SearchQuery{Text: common + " " + c.vocab[30]}},
		{"phrase", SearchQuery{Text: `"` + c.vocab[5] + " " + c.vocab[6] + `"`}},
		{"host in URL", SearchQuery{Text: "git7.example.com"}},
		{"identifier", SearchQuery{Text: "getUserName"}},
		{"common + room", SearchQuery{Text: common, Room: &room}},
		{"common + sender", SearchQuery{Text: common, Sender: &sender}},
		{"common + last month", SearchQuery{Text: common, From: &month}},
		{"rare + room", SearchQuery{Text: rare, Room: &room}},
		{"has=links only", SearchQuery{Has: SearchHasLinks}},
		{"room only (no words)", SearchQuery{Room: &room}},
	}
	t.Logf("%-34s %-8s %9s %9s %9s %8s", "query", "user", "matches", "p50", "p99", "results")
	for _, sh := range shapes {
		for _, u := range []struct {
			name string
			id   chat.ID
		}{{"50 rooms", few}, {"all", all}} {
			if sh.q.Room != nil && u.id == all {
				continue // the same as for the other user
			}
			c.measure(t, ctx, s, sh.name, u.name, u.id, sh.q)
		}
	}
	c.explain(t, ctx, s, all, SearchQuery{Text: common})
	c.explain(t, ctx, s, few, SearchQuery{Text: common})
}

func (c *corpus) measure(t *testing.T, ctx context.Context, s *pgStore, name, user string, viewer chat.ID, q SearchQuery) {
	matches := c.count(t, ctx, s, viewer, q)
	durs := make([]time.Duration, benchRuns)
	var results int
	for i := range durs {
		start := time.Now()
		hits, err := s.Search(ctx, viewer, q)
		durs[i] = time.Since(start)
		must(t, err)
		results = len(hits)
	}
	slices.Sort(durs)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	t.Logf("%-34s %-8s %9d %9s %9s %8d", name, user, matches, ms(durs[len(durs)/2]), ms(durs[len(durs)*99/100]), results)
}

// count returns how many messages the query matches for viewer (no limit).
func (c *corpus) count(t *testing.T, ctx context.Context, s *pgStore, viewer chat.ID, q SearchQuery) int {
	expr, err := s.searchExpr(ctx, &q)
	must(t, err)
	f, err := s.searchFilter(ctx, expr, viewer, &q)
	must(t, err)
	sql := "SELECT count(*) FROM " + f.from + " WHERE " + f.where
	var n int
	must(t, s.pool.QueryRow(ctx, sql, f.args...).Scan(&n))
	return n
}

// explain logs EXPLAIN ANALYZE of the ID query.
func (c *corpus) explain(t *testing.T, ctx context.Context, s *pgStore, viewer chat.ID, q SearchQuery) {
	expr, err := s.searchExpr(ctx, &q)
	must(t, err)
	sql, args, err := s.searchSQL(ctx, expr, viewer, &q, 20)
	must(t, err)
	rows, err := s.pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	must(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		must(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	t.Logf("EXPLAIN ANALYZE %q:\n%s", q.Text, strings.Join(plan, "\n"))
}

package persist

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
)

// searchSeeds are odd queries: operators of both engines' syntaxes, stray quotes
// and dashes, separators only, non-Latin text.
var searchSeeds = []string{
	`cats`, `"cats and dogs"`, `cats -dogs`, `cats or dogs`, `"`, `""`, `-`, `--x`, `or`, `or or`,
	`-"a b" c`, `a:* & !b | (c <-> d)`, `'quoted'`, `\`, `\'`, `NEAR(a b)`, `a AND b NOT c`, `{w p}: x`,
	`w : "x"`, `^a`, `a*`, `https://example.com/a?b=1&c='2'`, `bob@example.org`, `café Straße`, `日本語 テキスト`,
	`мир`, `🙂 cats 🙂`, "tab\tsep", "nbsp\u00a0sep", `_`, `___x___`, `.`, `...`, `a.-_b`, `x'y`, `x"y`,
	`:link`, `_3alink`, strings.Repeat("w ", SearchTermsMax), strings.Repeat("é", SearchTextMax),
}

// FuzzSearchQuery feeds arbitrary text to the query parser and, when it accepts
// it, runs the FTS5 expression it builds on a real embedded store: a query is
// either refused with a validation error or runs, never fails. It also checks that
// highlighting the text with its own words yields no markup but <mark>.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range searchSeeds {
		f.Add(s)
	}
	st, err := OpenEmbedded(context.Background(), f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	s := st.(*embeddedStore)
	f.Fuzz(func(t *testing.T, text string) {
		expr, err := parseSearch(text)
		if err != nil {
			wantCode(t, err, chat.CodeValidation)
			return
		}
		expr, err = expr.resolve(goKeys(expr.rawWords()))
		if err != nil {
			wantCode(t, err, chat.CodeValidation)
			return
		}
		if len(expr) > 0 {
			var n int
			if err := s.db.queryRow(context.Background(), `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH $1`,
				expr.fts5(true)).Scan(&n); err != nil {
				t.Fatalf("q %q: fts5 %q: %v", text, expr.fts5(true), err)
			}
			checkTsquery(t, expr.tsquery(true))
		}
		h := highlight(text, expr.positiveKeys())
		rest := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(h)
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("highlight of %q has markup besides <mark>: %q", text, h)
		}
	})
}

// checkTsquery checks what Postgres needs of tsquery text: balanced parentheses
// outside quotes, and quotes closed.
func checkTsquery(t *testing.T, q string) {
	t.Helper()
	depth, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case quoted && c == '\\':
			i++
		case c == '\'':
			if quoted && i+1 < len(q) && q[i+1] == '\'' {
				i++
				continue
			}
			quoted = !quoted
		case !quoted && c == '(':
			depth++
		case !quoted && c == ')':
			depth--
			if depth < 0 {
				t.Fatalf("tsquery %q: unbalanced", q)
			}
		}
	}
	if depth != 0 || quoted {
		t.Fatalf("tsquery %q: unbalanced", q)
	}
}

// testSearchOddSyntax runs the fuzz seeds and random queries of odd characters on
// a real store: every one either runs or is refused with a validation error.
func testSearchOddSyntax(t *testing.T, f *fx) {
	alice := f.user("alice")
	room := f.room(alice.ID, chat.RoomPublic, "odd")
	f.send(room.ID, alice.ID, `cats "and" dogs -x 'y' a:* \ (z) 日本語 https://example.com/?q='1'`)
	queries := slices.Clone(searchSeeds)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune(`ab "'-:*&|!()<>\.@/_ é日🙂` + "\t")
	for range 300 {
		n := 1 + rng.IntN(20)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		queries = append(queries, string(rs))
	}
	for _, q := range queries {
		_, err := f.s.Search(f.ctx, alice.ID, SearchQuery{Text: q, Room: &room.ID})
		if err != nil {
			if e := chat.AsError(err); e == nil || e.Code != chat.CodeValidation {
				t.Errorf("q %q: %v", q, err)
			}
		}
	}
}

// TestSearchTermsAgree holds the SQL twin of searchTerms (chatd_search_vector) and
// of searchKey (chatd_search_key) to the Go rules, on Postgres.
func TestSearchTermsAgree(t *testing.T) {
	ctx := context.Background()
	st, err := OpenPostgres(ctx, testsvc.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	for _, text := range agreementSamples() {
		keys, others := searchTerms(text)
		want := append(slices.Clone(keys), others...)
		slices.Sort(want)
		want = slices.Compact(want)
		var got []string
		if err := s.db.queryRow(ctx, `SELECT coalesce(array_agg(lexeme ORDER BY lexeme COLLATE "C"), '{}')
			FROM unnest(chatd_search_vector($1))`, text).Scan(&got); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("terms of %q:\n SQL %q\n  Go %q", text, got, want)
		}
		for _, w := range strings.Fields(text) {
			var k string
			if err := s.db.queryRow(ctx, `SELECT chatd_search_key($1)`, w).Scan(&k); err != nil {
				t.Fatal(err)
			}
			if k != searchKey(w) {
				t.Errorf("key of %q: SQL %q, Go %q", w, k, searchKey(w))
			}
		}
	}
}

// agreementSamples are the texts on which the Go rules and their SQL twin must agree.
func agreementSamples() []string {
	samples := append(slices.Clone(searchCorpus), searchSeeds...)
	return append(samples, "getUserName HTTPServer utf8Decode x2Y", "(www.Example.COM/path).", "a\u2003b\u3000c",
		"it's O'Brien \\ back\\slash", strings.Repeat("long", 80)+" end", "Ærø ÆØÅ æøå œuvre")
}

// TestSearchVectorAgrees holds the vector the group commit writes (searchVector, Go)
// equal to the one the migration's backfill and the edit trigger compute
// (chatd_search_vector, SQL): terms, positions and weights.
func TestSearchVectorAgrees(t *testing.T) {
	ctx := context.Background()
	st, err := OpenPostgres(ctx, testsvc.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	for _, text := range append(agreementSamples(), "", "  ", "same same same", strings.Repeat("w ", 17000)+"last") {
		var sql, goVec string
		if err := s.db.queryRow(ctx, `SELECT chatd_search_vector($1)::text, $2::tsvector::text`, text, searchVector(text)).
			Scan(&sql, &goVec); err != nil {
			t.Fatalf("%.60q: %v", text, err)
		}
		if sql != goVec {
			t.Errorf("vector of %.60q:\n SQL %.300s\n  Go %.300s", text, sql, goVec)
		}
	}
}

func BenchmarkSearchVector(b *testing.B) {
	const msg = "Hey team, the release-2.3 build at https://ci.example.com/job/42 failed again; ping bob@example.org about my_var"
	b.ReportAllocs()
	for b.Loop() {
		_ = searchVector(msg)
	}
}

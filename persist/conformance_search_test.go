package persist

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

// searchCorpus is the content the word cases search, one message each.
var searchCorpus = []string{
	0:  "Deploy notes: see https://example.com/a/b?x=1 for details",
	1:  "ping the box at 10.0.0.1, then mail bob@example.org",
	2:  "we shipped release-2.3 today",
	3:  "call foo.bar and my_var in getUserName of pkg.Func",
	4:  "un café à Paris",
	5:  "Die Straße ist lang",
	6:  "plain text about cats and dogs",
	7:  "the quick brown fox",
	8:  "(www.golang.org) is a site",
	9:  "cats are nice; dogs are loud.",
	10: "Ünïcödé façade naïve Ørsted Æther",
}

// searchWordCases: what users type, and the corpus messages it must find. Both
// stores run the same table.
var searchWordCases = []struct {
	q    string
	want []int
}{
	{"https://example.com/a/b?x=1", []int{0}},
	{"example.com", []int{0}},
	{"example", []int{0, 1}},
	{"https", []int{0}},
	{"10.0.0.1", []int{1}},
	{"bob@example.org", []int{1}},
	{"example.org", []int{1}},
	{"bob", []int{1}},
	{"release-2.3", []int{2}},
	{"release", []int{2}},
	{"foo.bar", []int{3}},
	{"foo", []int{3}},
	{"my_var", []int{3}},
	{"var", []int{3}},
	{"getUserName", []int{3}},
	{"getusername", []int{3}},
	{"user", []int{3}},
	{"pkg.Func", []int{3}},
	{"Func", []int{3}},
	{"café", []int{4}},
	{"cafe", []int{4}},
	{"CAFÉ", []int{4}},
	{"Straße", []int{5}},
	{"strasse", []int{5}},
	{"STRASSE", []int{5}},
	{"unicode facade", []int{10}},
	{"naïve", []int{10}},
	{"orsted aether", []int{10}},
	{"www.golang.org", []int{8}},
	{"golang.org", []int{8}},
	{"cats dogs", []int{6, 9}},
	{"dogs.", []int{6, 9}},
	{`"cats and dogs"`, []int{6}},
	{`"quick brown"`, []int{7}},
	{`"brown quick"`, nil},
	{`"QUICK   Brown fox"`, []int{7}},
	{"cats -loud", []int{6}},
	{`cats -"cats and dogs"`, []int{9}},
	{"fox or café", []int{4, 7}},
	{"fox OR cafe or nothing", []int{4, 7}},
	{`"cats and`, []int{6}},
	{"or cats or", []int{6, 9}},
	{"nothinghere", nil},
	{"a/b", nil},
	{"cats!!! ... ???", []int{6, 9}},
	{"-- cats", []int{6, 9}}, // "--" excludes nothing
}

func testSearchWords(t *testing.T, f *fx) {
	alice := f.user("alice")
	room := f.room(alice.ID, chat.RoomPublic, "words")
	ids := map[chat.ID]int{}
	for i, c := range searchCorpus {
		ids[f.send(room.ID, alice.ID, c).ID] = i
	}
	for _, c := range searchWordCases {
		t.Run(c.q, func(t *testing.T) {
			hits, err := f.s.Search(f.ctx, alice.ID, SearchQuery{Text: c.q})
			must(t, err)
			var got []int
			for _, h := range hits {
				got = append(got, ids[h.Message.ID])
				if !strings.Contains(h.Highlight, "<mark>") {
					t.Errorf("q %q: hit %q has no <mark> in %q", c.q, h.Message.Content, h.Highlight)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("q %q found %v, want %v", c.q, got, c.want)
			}
		})
	}
}

func testSearchHighlightAndContext(t *testing.T, f *fx) {
	alice := f.user("alice")
	room := f.room(alice.ID, chat.RoomPublic, "ctx")
	first := f.send(room.ID, alice.ID, "first")
	m := f.send(room.ID, alice.ID, `<b>Cats</b> & "dogs" see https://example.com/x?a=1&b=2`)
	last := f.send(room.ID, alice.ID, "last")
	cases := []struct{ q, want string }{
		{"cats", `&lt;b&gt;<mark>Cats</mark>&lt;/b&gt; &amp; &#34;dogs&#34; see https://example.com/x?a=1&amp;b=2`},
		{"example.com dogs", `&lt;b&gt;Cats&lt;/b&gt; &amp; &#34;<mark>dogs</mark>&#34; see https://<mark>example.com</mark>/x?a=1&amp;b=2`},
		{"https://example.com/x?a=1&b=2", `&lt;b&gt;Cats&lt;/b&gt; &amp; &#34;dogs&#34; see <mark>https://example.com/x?a=1&amp;b=2</mark>`},
	}
	for _, c := range cases {
		hits, err := f.s.Search(f.ctx, alice.ID, SearchQuery{Text: c.q})
		must(t, err)
		if len(hits) != 1 || hits[0].Message.ID != m.ID {
			t.Fatalf("q %q: %d hits, want the one message", c.q, len(hits))
		}
		h := hits[0]
		if h.Highlight != c.want {
			t.Errorf("q %q: highlight\n got %s\nwant %s", c.q, h.Highlight, c.want)
		}
		if h.Before == nil || h.Before.ID != first.ID || h.After == nil || h.After.ID != last.ID {
			t.Errorf("q %q: context before %v after %v, want first and last", c.q, h.Before, h.After)
		}
	}
	hits, err := f.s.Search(f.ctx, alice.ID, SearchQuery{Text: "first"})
	must(t, err)
	if len(hits) != 1 || hits[0].Before != nil || hits[0].After == nil || hits[0].After.ID != m.ID {
		t.Fatalf("first message: %+v, want no before and the next message after", hits)
	}
	long := strings.Repeat("filler words here ", 40) + "needle " + strings.Repeat("more words after ", 40)
	f.send(room.ID, alice.ID, long)
	hits, err = f.s.Search(f.ctx, alice.ID, SearchQuery{Text: "needle"})
	must(t, err)
	if len(hits) != 1 || !strings.Contains(hits[0].Highlight, "<mark>needle</mark>") ||
		!strings.HasPrefix(hits[0].Highlight, "…") || !strings.HasSuffix(hits[0].Highlight, "…") ||
		len([]rune(hits[0].Highlight)) > highlightMax+len("<mark></mark>")+2 {
		t.Fatalf("long message highlight = %q", hits[0].Highlight)
	}
}

// testSearchAccess: only rooms the viewer is a member of now; never deleted
// content; edits searched by their new words.
func testSearchAccess(t *testing.T, f *fx) {
	alice, bob := f.user("alice"), f.user("bob")
	shared := f.room(alice.ID, chat.RoomPublic, "shared")
	private := f.room(alice.ID, chat.RoomPrivate, "private")
	f.join(shared.ID, bob.ID)
	f.send(shared.ID, alice.ID, "zebra in the shared room")
	secret := f.send(private.ID, alice.ID, "zebra in the private room")
	count := func(viewer chat.ID, q string) int {
		t.Helper()
		hits, err := f.s.Search(f.ctx, viewer, SearchQuery{Text: q})
		must(t, err)
		return len(hits)
	}
	if n := count(bob.ID, "zebra"); n != 1 {
		t.Fatalf("non-member of the private room sees %d zebras, want 1", n)
	}
	hits, err := f.s.Search(f.ctx, bob.ID, SearchQuery{Text: "zebra", Room: &private.ID})
	must(t, err)
	if len(hits) != 0 {
		t.Fatalf("room filter on a room bob is not in: %d hits", len(hits))
	}
	f.join(private.ID, bob.ID)
	var removed bool
	if n := count(bob.ID, "zebra"); n != 2 {
		t.Fatalf("after joining: %d zebras, want 2", n)
	}
	removed, err = f.s.RemoveMember(f.ctx, private.ID, bob.ID)
	must(t, err)
	if !removed {
		t.Fatal("bob was not removed")
	}
	if n := count(bob.ID, "zebra"); n != 1 {
		t.Fatalf("after leaving: %d zebras, want 1", n)
	}
	// Deleted messages vanish at once, and "[deleted]" is not searchable.
	_, err = f.s.DeleteMessage(f.ctx, secret.ID, alice.ID)
	must(t, err)
	if n := count(alice.ID, "private"); n != 0 {
		t.Fatalf("deleted message still found (%d)", n)
	}
	if n := count(alice.ID, "deleted"); n != 0 {
		t.Fatalf(`"deleted" finds %d messages`, n)
	}
	// Edits are searched by their new words only.
	m := f.send(shared.ID, bob.ID, "oldword here")
	if n := count(alice.ID, "oldword"); n != 1 {
		t.Fatalf("oldword: %d, want 1", n)
	}
	_, err = f.s.EditMessage(f.ctx, m.ID, "newword here", "<p>newword here</p>", f.tick(), bob.ID)
	must(t, err)
	if n := count(alice.ID, "oldword"); n != 0 {
		t.Fatalf("oldword after the edit: %d, want 0", n)
	}
	hits, err = f.s.Search(f.ctx, alice.ID, SearchQuery{Text: "newword"})
	must(t, err)
	if len(hits) != 1 || hits[0].Message.EditedAt == nil || hits[0].Highlight != "<mark>newword</mark> here" {
		t.Fatalf("newword after the edit: %+v", hits)
	}
	// A deleted room takes its messages with it.
	must(t, f.s.DeleteRoom(f.ctx, shared.ID))
	if n := count(alice.ID, "zebra"); n != 0 {
		t.Fatalf("messages of a deleted room found: %d", n)
	}
}

func testSearchFilters(t *testing.T, f *fx) {
	alice, bob := f.user("alice"), f.user("bob")
	r1 := f.room(alice.ID, chat.RoomPublic, "one")
	r2 := f.room(alice.ID, chat.RoomPublic, "two")
	f.join(r1.ID, bob.ID)
	f.join(r2.ID, bob.ID)
	a1 := f.send(r1.ID, alice.ID, "report one")
	b1 := f.send(r1.ID, bob.ID, "report two with http://example.com/report")
	a2 := f.send(r2.ID, alice.ID, "report three")
	b2 := f.send(r2.ID, bob.ID, "report four, see www.example.com")
	insertAttachment(t, f, alice.ID, a2)
	cases := []struct {
		name string
		q    SearchQuery
		want []*chat.Message
	}{
		{"room", SearchQuery{Text: "report", Room: &r1.ID}, []*chat.Message{b1, a1}},
		{"sender", SearchQuery{Text: "report", Sender: &bob.ID}, []*chat.Message{b2, b1}},
		{"from_inclusive", SearchQuery{Text: "report", From: &a2.CreatedAt}, []*chat.Message{b2, a2}},
		{"to_exclusive", SearchQuery{Text: "report", To: &a2.CreatedAt}, []*chat.Message{b1, a1}},
		{"range", SearchQuery{Text: "report", From: &b1.CreatedAt, To: &b2.CreatedAt}, []*chat.Message{a2, b1}},
		{"attachments", SearchQuery{Text: "report", Has: SearchHasAttachments}, []*chat.Message{a2}},
		{"links", SearchQuery{Text: "report", Has: SearchHasLinks}, []*chat.Message{b2, b1}},
		{"links_only", SearchQuery{Has: SearchHasLinks}, []*chat.Message{b2, b1}},
		{"room_only_newest_first", SearchQuery{Room: &r2.ID}, []*chat.Message{b2, a2}},
		{"no_words_with_filter", SearchQuery{Text: "?!", Room: &r2.ID}, []*chat.Message{b2, a2}},
		{"all_filters", SearchQuery{Text: "report", Room: &r2.ID, Sender: &alice.ID, From: &a1.CreatedAt,
			To: ptr(b2.CreatedAt + 1), Has: SearchHasAttachments}, []*chat.Message{a2}},
		{"limit", SearchQuery{Sender: &alice.ID, Limit: 1}, []*chat.Message{a2}},
		{"nothing", SearchQuery{Text: "report", Sender: &alice.ID, Has: SearchHasLinks}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits, err := f.s.Search(f.ctx, bob.ID, c.q)
			must(t, err)
			got := make([]chat.ID, len(hits))
			for i := range hits {
				got[i] = hits[i].Message.ID
			}
			want := make([]chat.ID, len(c.want))
			for i, m := range c.want {
				want[i] = m.ID
			}
			if c.q.Text != "" && c.q.Text != "?!" { // ranked: compare as sets
				slices.SortFunc(got, func(a, b chat.ID) int { return strings.Compare(a.String(), b.String()) })
				slices.SortFunc(want, func(a, b chat.ID) int { return strings.Compare(a.String(), b.String()) })
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// insertAttachment attaches a file to m directly in SQL (uploads are another
// issue's); only the row's existence matters to search.
func insertAttachment(t *testing.T, f *fx, uploader chat.ID, m *chat.Message) {
	t.Helper()
	var s *sqlStore
	switch v := f.s.(type) {
	case *embeddedStore:
		s = v.sqlStore
	case *pgStore:
		s = v.sqlStore
	default:
		t.Fatalf("unknown store %T", f.s)
	}
	_, err := s.db.exec(f.ctx, `INSERT INTO attachments (id, uploader_id, room_id, message_id, filename, mime_type,
		size, blob_key, scan_status, created_at) VALUES ($1, $2, $3, $4, 'a.pdf', 'application/pdf', 3, 'k', 'clean', $5)`,
		chat.NewID(), uploader, m.RoomID, m.ID, f.tick())
	must(t, err)
}

func testSearchInvalid(t *testing.T, f *fx) {
	alice := f.user("alice")
	many := strings.Repeat("w ", SearchTermsMax+1)
	cases := []struct {
		q     SearchQuery
		field string
	}{
		{SearchQuery{}, "q"},
		{SearchQuery{Text: "   "}, "q"},
		{SearchQuery{Text: "!!! ..."}, "q"},
		{SearchQuery{Text: `"" - or`}, "q"},
		{SearchQuery{Text: "-cats"}, "q"},
		{SearchQuery{Text: "cats or -dogs"}, "q"},
		{SearchQuery{Text: many}, "q"},
		{SearchQuery{Text: strings.Repeat("x", SearchTextMax+1)}, "q"},
		{SearchQuery{Text: "bad\xffutf8"}, "q"},
		{SearchQuery{Text: "nul\x00"}, "q"},
		{SearchQuery{Text: "cats", Has: "images"}, "has"},
		{SearchQuery{Text: "cats", From: ptr(chat.Time(10)), To: ptr(chat.Time(10))}, "to"},
		{SearchQuery{Text: "cats", Limit: chat.PageMax + 1}, "limit"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			_, err := f.s.Search(f.ctx, alice.ID, c.q)
			wantCode(t, err, chat.CodeValidation)
			if e := chat.AsError(err); e.Field != c.field {
				t.Errorf("field %q, want %q", e.Field, c.field)
			}
		})
	}
	// Strange but valid syntax runs (and finds nothing here).
	for _, q := range []string{`"`, `cats"`, `-"x" cats`, `or`, `cats -`, `'cats'`, `\cats`, `cats & dogs | !x`, `a:*`, `(cats)`, `<->`} {
		if _, err := f.s.Search(f.ctx, alice.ID, SearchQuery{Text: q, Room: ptr(chat.NewID())}); err != nil {
			t.Errorf("q %q: %v", q, err)
		}
	}
}

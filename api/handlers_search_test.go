package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// search runs GET /search with params and returns the hits' message contents.
func (c *client) search(params url.Values) []chat.SearchHit {
	c.e.t.Helper()
	var res struct {
		Items []chat.SearchHit `json:"items"`
	}
	c.mustJSON("GET", "/search?"+params.Encode(), nil, http.StatusOK, &res)
	return res.Items
}

func contents(hits []chat.SearchHit) string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Message.Content
	}
	return strings.Join(out, " | ")
}

func TestSearchMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		alice, bob := e.register("alice"), e.register("bob")
		pub := alice.newGroupRoom(chat.RoomPublic)
		bob.joinRoom(pub.ID)
		alice.send(pub.ID, "before it", http.StatusCreated)
		url1 := alice.send(pub.ID, "read https://example.com/a/b?x=1 <now>", http.StatusCreated)
		alice.send(pub.ID, "after it", http.StatusCreated)
		bob.send(pub.ID, "un café, Straße 10.0.0.1 release-2.3 my_var bob@example.org", http.StatusCreated)

		hits := bob.search(url.Values{"q": {"https://example.com/a/b?x=1"}})
		if len(hits) != 1 || hits[0].Message.ID != url1.ID {
			t.Fatalf("URL search: %s", contents(hits))
		}
		h := hits[0]
		if h.Highlight != "read <mark>https://example.com/a/b?x=1</mark> &lt;now&gt;" {
			t.Errorf("highlight = %q", h.Highlight)
		}
		if h.Before == nil || h.Before.Content != "before it" || h.After == nil || h.After.Content != "after it" {
			t.Errorf("context = %+v / %+v", h.Before, h.After)
		}
		for _, q := range []string{"example.com", "cafe", "CAFÉ", "strasse", "10.0.0.1", "release-2.3", "my_var", "bob@example.org"} {
			if hits := bob.search(url.Values{"q": {q}}); len(hits) != 1 {
				t.Errorf("q %q: %q, want one message", q, contents(hits))
			}
		}
		// Filters: sender, room, dates, has.
		if got := contents(bob.search(url.Values{"sender_id": {bob.user.ID.String()}})); !strings.HasPrefix(got, "un café") {
			t.Errorf("sender filter: %q", got)
		}
		if got := bob.search(url.Values{"room_id": {pub.ID.String()}, "limit": {"2"}}); len(got) != 2 {
			t.Errorf("room filter with limit 2: %d hits", len(got))
		}
		if got := bob.search(url.Values{"has": {"links"}}); len(got) != 1 || got[0].Message.ID != url1.ID {
			t.Errorf("has=links: %q", contents(got))
		}
		if got := bob.search(url.Values{"q": {"it"}, "has": {"attachments"}}); len(got) != 0 {
			t.Errorf("has=attachments: %q", contents(got))
		}
		from := url1.CreatedAt.String()
		if got := bob.search(url.Values{"q": {"it"}, "from": {from}}); len(got) != 1 || got[0].Message.Content != "after it" {
			t.Errorf("from %s: %q", from, contents(got))
		}
		if got := bob.search(url.Values{"q": {"it"}, "to": {from}}); len(got) != 1 || got[0].Message.Content != "before it" {
			t.Errorf("to %s: %q", from, contents(got))
		}
		// Edits are found by their new words, deletes vanish.
		alice.mustJSON("PUT", "/messages/"+url1.ID.String(), map[string]any{"content": "fresh words"}, http.StatusOK, nil)
		if got := bob.search(url.Values{"q": {"example.com"}}); len(got) != 0 {
			t.Errorf("old words of an edited message: %q", contents(got))
		}
		if got := bob.search(url.Values{"q": {"fresh"}}); len(got) != 1 {
			t.Errorf("new words of an edited message: %q", contents(got))
		}
		alice.mustJSON("DELETE", "/messages/"+url1.ID.String(), nil, http.StatusOK, nil)
		if got := bob.search(url.Values{"q": {"fresh"}}); len(got) != 0 {
			t.Errorf("deleted message found: %q", contents(got))
		}
		// The raw answer: after is null for the newest message of a room; system
		// messages (bob's join) are context, never results.
		_, raw, _ := bob.do("GET", "/search?q=cafe", nil)
		var doc struct {
			Items []map[string]json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Items) != 1 || string(doc.Items[0]["after"]) != "null" {
			t.Errorf("newest message's after: %s", raw)
		}
		if got := bob.search(url.Values{"q": {"joined"}}); len(got) != 0 {
			t.Errorf("system messages found: %q", contents(got))
		}
	})
}

func TestSearchAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		alice, bob := e.register("alice"), e.register("bob")
		pub := alice.newGroupRoom(chat.RoomPublic)
		priv := alice.newGroupRoom(chat.RoomPrivate)
		alice.send(pub.ID, "walrus public", http.StatusCreated)
		alice.send(priv.ID, "walrus private", http.StatusCreated)
		q := url.Values{"q": {"walrus"}}
		if got := bob.search(q); len(got) != 0 {
			t.Fatalf("outsider finds %q", contents(got))
		}
		bob.tryCase(t, "public room not joined", "GET", "/search?q=walrus&room_id="+pub.ID.String(), nil, 403, chat.CodeNotMember)
		bob.tryCase(t, "private room", "GET", "/search?q=walrus&room_id="+priv.ID.String(), nil, 404, chat.CodeNotFound)
		bob.tryCase(t, "unknown room", "GET", "/search?q=walrus&room_id="+chat.NewID().String(), nil, 404, chat.CodeNotFound)
		bob.joinRoom(pub.ID)
		if got := contents(bob.search(q)); got != "walrus public" {
			t.Fatalf("member of the public room finds %q", got)
		}
		bob.mustJSON("POST", "/rooms/"+pub.ID.String()+"/leave", nil, http.StatusNoContent, nil)
		if got := bob.search(q); len(got) != 0 {
			t.Fatalf("after leaving, bob finds %q", contents(got))
		}
		e.anon().tryCase(t, "anonymous", "GET", "/search?q=walrus", nil, 401, chat.CodeUnauthorized)
	})
}

func TestSearchInvalid(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		c := e.register("searcher")
		future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
		cases := []string{
			"",
			"q=",
			"q=%20%20",
			"q=%ff",
			"q=" + strings.Repeat("a", 501),
			"q=" + strings.Repeat("w+", 33),
			"q=-cats",
			"q=cats+or+-dogs",
			"q=%21%21%21",
			"q=x&room_id=nope",
			"q=x&sender_id=123",
			"q=x&from=yesterday",
			"q=x&to=2026-13-01T00:00:00Z",
			"q=x&from=" + future + "&to=" + future,
			"q=x&has=images",
			"q=x&limit=0",
			"q=x&limit=101",
			"q=x&limit=ten",
		}
		for _, q := range cases {
			c.tryCase(t, "search "+q, "GET", "/search?"+q, nil, 400, chat.CodeValidation)
		}
		for _, q := range []string{`"`, `cats"`, `"" or`, `a:* & !b | (c <-> d)`, `'x'`, `\`, `-"x" y`, "%00"} {
			status, raw, _ := c.do("GET", "/search?"+url.Values{"q": {q}, "room_id": {""}}.Encode(), nil)
			if status != http.StatusOK && status != http.StatusBadRequest {
				t.Errorf("q %q: status %d: %s", q, status, raw)
			}
		}
	})
}

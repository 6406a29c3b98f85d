package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// inbox returns c's notifications (newest first) through the API.
func (c *client) inbox(query string) []chat.Notification {
	c.e.t.Helper()
	var out struct {
		Items []chat.Notification `json:"items"`
	}
	c.mustJSON("GET", "/notifications"+query, nil, http.StatusOK, &out)
	return out.Items
}

// kinds summarises notifications as "type:content" strings, sorted.
func kinds(ns []chat.Notification) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, string(n.Type)+":"+n.Content)
	}
	sort.Strings(out)
	return out
}

func TestNotificationRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		ctx := context.Background()
		sender := e.register("snd")
		alice, carol, dave, eve, outsider := e.register("alice"), e.register("carol"), e.register("dave"), e.register("eve"), e.register("out")
		room := e.makeRoom(sender, chat.RoomPublic)
		for _, c := range []*client{alice, carol, dave, eve} {
			e.addMember(room, c, chat.RoleMember)
		}
		mustDo(t, e.store.SetLevel(ctx, room, carol.user.ID, chat.LevelAll))
		mustDo(t, e.store.SetLevel(ctx, room, dave.user.ID, chat.LevelMuted))
		_, err := e.store.Block(ctx, eve.user.ID, sender.user.ID, chat.Now())
		mustDo(t, err)
		at := func(c *client) string { return "@" + c.user.Username }
		aliceMsg := alice.send(room, "a question", http.StatusCreated)

		cases := []struct {
			name string
			body map[string]any
			want map[*client][]string // recipient -> expected new notifications
		}{
			{"mention", map[string]any{"content": "hi " + at(alice) + "!"}, map[*client][]string{alice: {"mention:hi " + at(alice) + "!"}}},
			{"mention in any case", map[string]any{"content": strings.ToUpper(at(alice))}, map[*client][]string{alice: {"mention:" + strings.ToUpper(at(alice))}}},
			{"self mention", map[string]any{"content": at(sender)}, nil},
			{"outsider mention", map[string]any{"content": at(outsider)}, nil},
			{"muted level", map[string]any{"content": at(dave)}, nil},
			{"blocked by the recipient", map[string]any{"content": at(eve)}, nil},
			{"level all, mentioned", map[string]any{"content": at(carol)}, map[*client][]string{carol: {"mention:" + at(carol)}}},
			{"level all, not mentioned: no direct_message in group rooms", map[string]any{"content": "plain"}, nil},
			{"e-mail is not a mention", map[string]any{"content": "me" + at(alice) + ".example"}, nil},
			{"reply", map[string]any{"content": "an answer", "parent_id": aliceMsg.ID}, map[*client][]string{alice: {"reply:an answer"}}},
			{"mention beats reply", map[string]any{"content": "yes " + at(alice), "parent_id": aliceMsg.ID},
				map[*client][]string{alice: {"mention:yes " + at(alice)}}},
			{"many at once", map[string]any{"content": at(alice) + " " + at(carol) + " " + at(dave)},
				map[*client][]string{alice: {"mention:" + at(alice) + " " + at(carol) + " " + at(dave)}, carol: {"mention:" + at(alice) + " " + at(carol) + " " + at(dave)}}},
		}
		everyone := []*client{sender, alice, carol, dave, eve, outsider}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := map[*client]int{}
				for _, c := range everyone {
					before[c] = len(c.inbox("?limit=100"))
				}
				m := sender.send(room, tc.body, http.StatusCreated)
				for _, c := range everyone {
					got := c.inbox("?limit=100")
					fresh := got[:len(got)-before[c]]
					if strings.Join(kinds(fresh), "|") != strings.Join(tc.want[c], "|") {
						t.Fatalf("%s got %v, want %v", c.user.Username, kinds(fresh), tc.want[c])
					}
					for _, n := range fresh {
						if n.RoomID != room || n.MessageID == nil || *n.MessageID != m.ID || n.Actor.ID != sender.user.ID || n.Read || n.CreatedAt == 0 {
							t.Fatalf("notification %+v", n)
						}
					}
				}
			})
		}
		t.Run("replying to yourself", func(t *testing.T) {
			own := alice.send(room, "note to self", http.StatusCreated)
			n := len(alice.inbox(""))
			alice.send(room, map[string]any{"content": "and more", "parent_id": own.ID}, http.StatusCreated)
			if len(alice.inbox("")) != n {
				t.Fatal("a reply to one's own message notified its sender")
			}
		})
		t.Run("long content is cut", func(t *testing.T) {
			sender.send(room, at(alice)+" "+strings.Repeat("é", 500), http.StatusCreated)
			if got := []rune(alice.inbox("")[0].Content); len(got) != notificationSnippet {
				t.Fatalf("notification content has %d code points, want %d", len(got), notificationSnippet)
			}
		})
	})
}

func TestNotificationDirectMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		a, b := e.register("dma"), e.register("dmb")
		dm := e.makeDM(a, b)
		a.send(dm, "psst", http.StatusCreated)
		if got := kinds(b.inbox("")); strings.Join(got, "|") != "direct_message:psst" {
			t.Fatalf("b's inbox %v", got)
		}
		if got := a.inbox(""); len(got) != 0 {
			t.Fatalf("the sender was notified: %v", kinds(got))
		}
		b.send(dm, "@"+a.user.Username+" yes", http.StatusCreated)
		if got := kinds(a.inbox("")); strings.Join(got, "|") != "mention:@"+a.user.Username+" yes" {
			t.Fatalf("a mention in a DM is a mention, once: %v", got)
		}
		mustDo(t, e.store.SetLevel(ctx, dm, b.user.ID, chat.LevelMentions))
		a.send(dm, "quiet now", http.StatusCreated)
		a.send(dm, "@"+b.user.Username+" but this", http.StatusCreated)
		if got := kinds(b.inbox("")); len(got) != 2 || got[1] != "mention:@"+b.user.Username+" but this" {
			t.Fatalf("level mentions in a DM: %v", got)
		}
		mustDo(t, e.store.SetLevel(ctx, dm, b.user.ID, chat.LevelMuted))
		a.send(dm, "@"+b.user.Username+" muted", http.StatusCreated)
		if got := b.inbox(""); len(got) != 2 {
			t.Fatalf("level muted still notified: %v", kinds(got))
		}
	})
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestNotificationInbox covers the notification routes: listing with unread=true and
// cursors, marking one or all read, the unread count, and the 30-day expiry.
func TestNotificationInbox(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		sender, me, other := e.register("snd"), e.register("me"), e.register("oth")
		room := e.makeRoom(sender, chat.RoomPublic)
		e.addMember(room, me, chat.RoleMember)
		e.addMember(room, other, chat.RoleMember)
		for i := range 5 {
			sender.send(room, "@"+me.user.Username+" number "+string(rune('1'+i)), http.StatusCreated)
		}
		sender.send(room, "@"+other.user.Username+" yours", http.StatusCreated)
		count := func(c *client) int {
			t.Helper()
			var out struct {
				Count *int `json:"count"`
			}
			c.mustJSON("GET", "/notifications/unread-count", nil, http.StatusOK, &out)
			if out.Count == nil {
				t.Fatal("no count")
			}
			return *out.Count
		}
		if n := count(me); n != 5 {
			t.Fatalf("unread count %d, want 5", n)
		}
		all := me.inbox("")
		if len(all) != 5 || !strings.HasSuffix(all[0].Content, "number 5") {
			t.Fatalf("inbox (newest first) %v", kinds(all))
		}
		// Cursor pagination.
		var seen []chat.ID
		path := "/notifications?limit=2"
		for range 5 {
			var page struct {
				Items      []chat.Notification `json:"items"`
				NextCursor string              `json:"next_cursor"`
			}
			me.mustJSON("GET", path, nil, http.StatusOK, &page)
			for _, n := range page.Items {
				seen = append(seen, n.ID)
			}
			if page.NextCursor == "" {
				break
			}
			path = "/notifications?limit=2&cursor=" + page.NextCursor
		}
		if len(seen) != 5 || seen[0] != all[0].ID || seen[4] != all[4].ID {
			t.Fatalf("paged %v, want %v", seen, all)
		}
		me.mustJSON("PATCH", "/notifications/"+all[0].ID.String()+"/read", nil, http.StatusNoContent, nil)
		me.mustJSON("PATCH", "/notifications/"+all[0].ID.String()+"/read", "{}", http.StatusNoContent, nil)
		if n := count(me); n != 4 {
			t.Fatalf("unread count %d after reading one, want 4", n)
		}
		unread := me.inbox("?unread=true")
		if len(unread) != 4 || unread[0].ID != all[1].ID {
			t.Fatalf("unread %v", kinds(unread))
		}
		if got := me.inbox("?unread=false"); len(got) != 5 || !got[0].Read {
			t.Fatalf("unread=false lists all: %v", kinds(got))
		}
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			code               chat.Code
		}{
			{"someone else's", "PATCH", "/notifications/" + other.inbox("")[0].ID.String() + "/read", nil, 404, chat.CodeNotFound},
			{"unknown", "PATCH", "/notifications/" + chat.NewID().String() + "/read", nil, 404, chat.CodeNotFound},
			{"bad id", "PATCH", "/notifications/x/read", nil, 400, chat.CodeValidation},
			{"unread=yes", "GET", "/notifications?unread=yes", nil, 400, chat.CodeValidation},
			{"limit 101", "GET", "/notifications?limit=101", nil, 400, chat.CodeValidation},
			{"bad cursor", "GET", "/notifications?cursor=zzz", nil, 400, chat.CodeValidation},
			{"read-all unknown field", "PATCH", "/notifications/read-all", map[string]int{"x": 1}, 400, chat.CodeBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) { me.mustError(tc.method, tc.path, tc.body, tc.status, tc.code) })
		}
		e.anon().mustError("GET", "/notifications", nil, http.StatusUnauthorized, chat.CodeUnauthorized)
		e.anon().mustError("GET", "/notifications/unread-count", nil, http.StatusUnauthorized, chat.CodeUnauthorized)

		me.mustJSON("PATCH", "/notifications/read-all", nil, http.StatusNoContent, nil)
		if n := count(me); n != 0 {
			t.Fatalf("unread count %d after read-all", n)
		}
		if n := count(other); n != 1 {
			t.Fatalf("read-all touched another user's notifications: %d", n)
		}
		if got := me.inbox("?unread=true"); got == nil || len(got) != 0 {
			t.Fatalf("unread after read-all: %v", got)
		}
		other.mustJSON("PATCH", "/notifications/read-all", "{}", http.StatusNoContent, nil)

		t.Run("expiry after 30 days", func(t *testing.T) {
			// A sender whose clock (the API's) stands 31 days back: its notifications
			// are born expired for everyone living in the present.
			e.now.Store(-(chat.NotificationTTL.Milliseconds() + 24*3600*1000))
			old := e.register("old") // its token lives in its own time
			e.addMember(room, old, chat.RoleMember)
			old.send(room, "@"+me.user.Username+" from the past", http.StatusCreated)
			e.now.Store(-(chat.NotificationTTL.Milliseconds() - 3600*1000)) // 29 days, 23 hours back
			recent := e.register("rec")
			e.addMember(room, recent, chat.RoleMember)
			recent.send(room, "@"+me.user.Username+" from last month", http.StatusCreated)
			e.now.Store(0)
			got := me.inbox("?unread=true")
			if len(got) != 1 || !strings.HasSuffix(got[0].Content, "from last month") {
				t.Fatalf("unread after expiry: %v", kinds(got))
			}
			if n := count(me); n != 1 {
				t.Fatalf("unread count %d counts an expired notification", n)
			}
			stored, _, err := e.store.Notifications(context.Background(), me.user.ID, false, persist.Page{Limit: 100})
			if err != nil || len(stored) != 6 {
				t.Fatalf("store lists %d (%v), want 6 unexpired", len(stored), err)
			}
		})
	})
}

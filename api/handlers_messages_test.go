package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// seqs lists the seqs of a page of messages.
func seqs(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// seqRange returns lo..hi.
func seqRange(lo, hi int64) []int64 {
	var out []int64
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}

func TestHistoryPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		msgs := e.seed(sc.room, sc.owner, 25)
		id := func(seq int) string { return msgs[seq-1].ID.String() }
		base := "/rooms/" + sc.room.String() + "/messages"
		cases := []struct {
			name    string
			query   string
			want    []int64
			hasMore bool
		}{
			{"default is the newest 50", "", seqRange(1, 25), false},
			{"newest page", "?limit=10", seqRange(16, 25), true},
			{"limit equal to the count", "?limit=25", seqRange(1, 25), false},
			{"limit one below the count", "?limit=24", seqRange(2, 25), true},
			{"limit 1", "?limit=1", []int64{25}, true},
			{"limit 100", "?limit=100", seqRange(1, 25), false},
			{"before", "?limit=10&before=" + id(16), seqRange(6, 15), true},
			{"before reaching the start", "?limit=10&before=" + id(6), seqRange(1, 5), false},
			{"before exactly the rest", "?limit=5&before=" + id(6), seqRange(1, 5), false},
			{"before the first", "?before=" + id(1), nil, false},
			{"after", "?limit=10&after=" + id(5), seqRange(6, 15), true},
			{"after reaching the end", "?limit=10&after=" + id(20), seqRange(21, 25), false},
			{"after exactly the rest", "?limit=5&after=" + id(20), seqRange(21, 25), false},
			{"after the last", "?after=" + id(25), nil, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var page messagePage
				sc.member.mustJSON("GET", base+tc.query, nil, http.StatusOK, &page)
				if page.Items == nil {
					t.Fatal("items must be an array, never null")
				}
				if got := seqs(page.Items); fmt.Sprint(got) != fmt.Sprint(tc.want) || page.HasMore != tc.hasMore {
					t.Fatalf("got %v has_more=%v, want %v has_more=%v", got, page.HasMore, tc.want, tc.hasMore)
				}
			})
		}
		other := e.makeRoom(sc.owner, chat.RoomPublic)
		foreign := e.seed(other, sc.owner, 1)[0]
		bad := []struct{ name, query, field string }{
			{"before and after", "?before=" + id(3) + "&after=" + id(1), "before"},
			{"limit 0", "?limit=0", "limit"},
			{"limit 101", "?limit=101", "limit"},
			{"limit -1", "?limit=-1", "limit"},
			{"limit not a number", "?limit=ten", "limit"},
			{"before not an id", "?before=abc", "before"},
			{"after not an id", "?after=abc", "after"},
			{"before of another room", "?before=" + foreign.ID.String(), "before"},
			{"after unknown", "?after=" + chat.NewID().String(), "after"},
		}
		for _, tc := range bad {
			t.Run("bad/"+tc.name, func(t *testing.T) {
				got := sc.member.mustError("GET", base+tc.query, nil, http.StatusBadRequest, chat.CodeValidation)
				if got.Field != tc.field {
					t.Fatalf("field %q, want %q", got.Field, tc.field)
				}
			})
		}
		t.Run("empty room", func(t *testing.T) {
			var page messagePage
			sc.owner.mustJSON("GET", "/rooms/"+e.makeRoom(sc.owner, chat.RoomPublic).String()+"/messages", nil, http.StatusOK, &page)
			if page.Items == nil || len(page.Items) != 0 || page.HasMore {
				t.Fatalf("empty room page %+v", page)
			}
		})
	})
}

// TestMessagePermissions is the permission matrix of the message routes: who may read
// history, threads and receipts, edit, delete and react, per role.
func TestMessagePermissions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		pub := newScene(e, chat.RoomPublic)
		priv := newScene(e, chat.RoomPrivate)
		type who struct {
			name string
			c    func(sc *scene) *client
		}
		roles := []who{
			{"owner", func(sc *scene) *client { return sc.owner }},
			{"admin", func(sc *scene) *client { return sc.admin }},
			{"member", func(sc *scene) *client { return sc.member }},
			{"outsider", func(sc *scene) *client { return sc.outsider }},
			{"anonymous", func(sc *scene) *client { return sc.anon }},
		}
		// want gives the expected status per role for a public room; a private room
		// answers 404 where a public one answers 403 not_member.
		type op struct {
			name   string
			call   func(sc *scene, c *client, msg *chat.Message) (int, []byte)
			wantOf map[string]int
		}
		read := map[string]int{"owner": 200, "admin": 200, "member": 200, "outsider": 403, "anonymous": 401}
		ops := []op{
			{"history", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("GET", "/rooms/"+sc.room.String()+"/messages", nil)
				return s, b
			}, read},
			{"thread", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("GET", "/messages/"+m.ID.String()+"/thread", nil)
				return s, b
			}, read},
			{"receipts", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("GET", "/messages/"+m.ID.String()+"/receipts", nil)
				return s, b
			}, read},
			{"react", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("POST", "/messages/"+m.ID.String()+"/reactions", map[string]string{"emoji": "👍"})
				return s, b
			}, map[string]int{"owner": 201, "admin": 201, "member": 201, "outsider": 403, "anonymous": 401}},
			{"edit member's message", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("PUT", "/messages/"+m.ID.String(), map[string]string{"content": "edited"})
				return s, b
			}, map[string]int{"owner": 403, "admin": 403, "member": 200, "outsider": 403, "anonymous": 401}},
			{"delete member's message", func(sc *scene, c *client, m *chat.Message) (int, []byte) {
				s, b, _ := c.do("DELETE", "/messages/"+m.ID.String(), nil)
				return s, b
			}, map[string]int{"owner": 200, "admin": 200, "member": 200, "outsider": 403, "anonymous": 401}},
		}
		for _, sc := range []*scene{pub, priv} {
			for _, o := range ops {
				for _, r := range roles {
					t.Run(fmt.Sprintf("%s/%s/%s", sc.typ, o.name, r.name), func(t *testing.T) {
						msg := e.seed(sc.room, sc.member, 1)[0] // fresh: deletions and reactions don't leak between cases
						want := o.wantOf[r.name]
						if sc.typ == chat.RoomPrivate && r.name == "outsider" {
							want = http.StatusNotFound
						}
						got, body := o.call(sc, r.c(sc), msg)
						if got != want {
							t.Fatalf("status %d, want %d: %s", got, want, body)
						}
						if want == http.StatusForbidden && r.name == "outsider" && !strings.Contains(string(body), string(chat.CodeNotMember)) {
							t.Fatalf("outsider of a public room must get not_member: %s", body)
						}
					})
				}
			}
		}
		t.Run("unknown message is 404", func(t *testing.T) {
			pub.owner.mustError("PUT", "/messages/"+chat.NewID().String(), map[string]string{"content": "x"}, http.StatusNotFound, chat.CodeNotFound)
			pub.owner.mustError("DELETE", "/messages/"+chat.NewID().String(), nil, http.StatusNotFound, chat.CodeNotFound)
			pub.owner.mustError("GET", "/messages/"+chat.NewID().String()+"/thread", nil, http.StatusNotFound, chat.CodeNotFound)
			pub.owner.mustError("GET", "/messages/nope/receipts", nil, http.StatusBadRequest, chat.CodeValidation)
		})
	})
}

func TestEditMessage(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		ev := e.subscribe(sc.room)
		m := sc.member.send(sc.room, "first draft", http.StatusCreated)
		path := "/messages/" + m.ID.String()
		var got chat.Message
		sc.member.mustJSON("PUT", path, map[string]string{"content": "**final**"}, http.StatusOK, &got)
		if got.Content != "**final**" || !strings.Contains(got.ContentHTML, "<strong>final</strong>") || got.EditedAt == nil || got.Seq != m.Seq {
			t.Fatalf("edited message %+v", got)
		}
		pub := ev.last(t, node.EventMessageUpdated)
		if pub.Message == nil || pub.Message.Content != "**final**" || pub.RoomID != sc.room {
			t.Fatalf("message_updated event %+v", pub)
		}
		if data, ok := pub.Data.(*node.MessageEvent); !ok || data.Message.ID != m.ID || data.RoomID != sc.room {
			t.Fatalf("message_updated payload %#v", pub.Data)
		}
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   chat.Code
		}{
			{"blank", map[string]string{"content": "  "}, 400, chat.CodeValidation},
			{"10,001", map[string]string{"content": strings.Repeat("x", chat.ContentMax+1)}, 400, chat.CodeValidation},
			{"unknown field", map[string]string{"content": "x", "seq": "1"}, 400, chat.CodeBadRequest},
			{"empty body", "", 400, chat.CodeBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) { sc.member.mustError("PUT", path, tc.body, tc.status, tc.code) })
		}
		sc.member.mustJSON("PUT", path, map[string]string{"content": strings.Repeat("y", chat.ContentMax)}, http.StatusOK, nil)
		t.Run("edit window", func(t *testing.T) {
			e.now.Store((14 * time.Minute).Milliseconds())
			sc.member.mustJSON("PUT", path, map[string]string{"content": "at 14 minutes"}, http.StatusOK, nil)
			e.now.Store((16 * time.Minute).Milliseconds())
			defer e.now.Store(0)
			sc.member.mustError("PUT", path, map[string]string{"content": "at 16 minutes"}, http.StatusForbidden, chat.CodeEditWindowClosed)
		})
		t.Run("system messages cannot be edited", func(t *testing.T) {
			sys := e.seedSystem(sc.room, sc.owner)
			sc.owner.mustError("PUT", "/messages/"+sys.ID.String(), map[string]string{"content": "x"}, http.StatusForbidden, chat.CodeForbidden)
		})
		t.Run("deleted messages cannot be edited", func(t *testing.T) {
			sc.member.mustJSON("DELETE", path, nil, http.StatusOK, nil)
			sc.member.mustError("PUT", path, map[string]string{"content": "x"}, http.StatusConflict, chat.CodeConflict)
		})
	})
}

func TestDeleteMessage(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		ev := e.subscribe(sc.room)
		parent := sc.member.send(sc.room, "parent", http.StatusCreated)
		reply := sc.admin.send(sc.room, map[string]any{"content": "reply", "parent_id": parent.ID}, http.StatusCreated)
		sc.owner.mustJSON("POST", "/messages/"+parent.ID.String()+"/reactions", map[string]string{"emoji": "🎉"}, http.StatusCreated, nil)
		sc.owner.mustJSON("POST", "/rooms/"+sc.room.String()+"/pins/"+parent.ID.String(), nil, http.StatusCreated, nil)

		var del chat.Message
		sc.admin.mustJSON("DELETE", "/messages/"+parent.ID.String(), nil, http.StatusOK, &del)
		check := func(m chat.Message) {
			t.Helper()
			if !m.Deleted || m.Content != chat.DeletedContent || m.ContentHTML != "" || len(m.Reactions) != 0 || len(m.Attachments) != 0 || m.Seq != parent.Seq {
				t.Fatalf("deleted message %+v", m)
			}
		}
		check(del)
		for _, m := range sc.member.history(sc.room) {
			if m.ID == parent.ID {
				check(m)
			}
		}
		got := ev.last(t, node.EventMessageDeleted)
		if data, ok := got.Data.(*node.MessageDeletedEvent); !ok || data.MessageID != parent.ID || data.RoomID != sc.room || got.Message == nil || !got.Message.Deleted {
			t.Fatalf("message_deleted event %+v %#v", got, got.Data)
		}
		var thread struct {
			Items []chat.Message `json:"items"`
		}
		sc.member.mustJSON("GET", "/messages/"+parent.ID.String()+"/thread", nil, http.StatusOK, &thread)
		if len(thread.Items) != 1 || thread.Items[0].ID != reply.ID || thread.Items[0].Deleted {
			t.Fatalf("replies of a deleted message: %+v", thread.Items)
		}
		var pins struct {
			Items []chat.Pin `json:"items"`
		}
		sc.member.mustJSON("GET", "/rooms/"+sc.room.String()+"/pins", nil, http.StatusOK, &pins)
		if len(pins.Items) != 0 {
			t.Fatalf("a deleted message stays pinned: %+v", pins.Items)
		}
		n := ev.count(node.EventMessageDeleted)
		sc.member.mustJSON("DELETE", "/messages/"+parent.ID.String(), nil, http.StatusOK, &del)
		check(del)
		if ev.count(node.EventMessageDeleted) != n {
			t.Fatal("deleting again published another event")
		}
		t.Run("system messages: admins only", func(t *testing.T) {
			sys := e.seedSystem(sc.room, sc.member)
			sc.member.mustError("DELETE", "/messages/"+sys.ID.String(), nil, http.StatusForbidden, chat.CodeForbidden)
			sc.admin.mustJSON("DELETE", "/messages/"+sys.ID.String(), nil, http.StatusOK, nil)
		})
	})
}

func TestThread(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		sc := newScene(e, chat.RoomPublic)
		parent := sc.owner.send(sc.room, "topic", http.StatusCreated)
		var want []chat.ID
		for i := range 5 {
			c := []*client{sc.member, sc.admin}[i%2]
			want = append(want, c.send(sc.room, map[string]any{"content": "r" + strconv.Itoa(i), "parent_id": parent.ID}, http.StatusCreated).ID)
			sc.owner.send(sc.room, "chatter", http.StatusCreated) // not in the thread
		}
		var got []chat.ID
		path := "/messages/" + parent.ID.String() + "/thread?limit=2"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("thread pagination does not end")
			}
			var page struct {
				Items      []chat.Message `json:"items"`
				NextCursor *string        `json:"next_cursor"`
			}
			sc.member.mustJSON("GET", path, nil, http.StatusOK, &page)
			for _, m := range page.Items {
				got = append(got, m.ID)
			}
			if page.NextCursor == nil {
				break
			}
			path = "/messages/" + parent.ID.String() + "/thread?limit=2&cursor=" + *page.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("thread %v, want the replies oldest first %v", got, want)
		}
		var empty struct {
			Items []chat.Message `json:"items"`
		}
		sc.member.mustJSON("GET", "/messages/"+want[0].String()+"/thread", nil, http.StatusOK, &empty)
		if empty.Items == nil || len(empty.Items) != 0 {
			t.Fatalf("a message without replies: %+v", empty.Items)
		}
		sc.member.mustError("GET", "/messages/"+parent.ID.String()+"/thread?limit=0", nil, http.StatusBadRequest, chat.CodeValidation)
	})
}

func TestReceipts(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		ev := e.subscribe(sc.room)
		msgs := e.seed(sc.room, sc.owner, 3)
		read := func(c *client, m *chat.Message) {
			t.Helper()
			c.mustJSON("POST", "/rooms/"+sc.room.String()+"/read", map[string]string{"message_id": m.ID.String()}, http.StatusNoContent, nil)
		}
		receipts := func(m *chat.Message) map[chat.ID]chat.Time {
			t.Helper()
			var out struct {
				Items []chat.Receipt `json:"items"`
			}
			sc.member.mustJSON("GET", "/messages/"+m.ID.String()+"/receipts", nil, http.StatusOK, &out)
			got := map[chat.ID]chat.Time{}
			for _, r := range out.Items {
				got[r.User.ID] = r.ReadAt
			}
			return got
		}
		read(sc.member, msgs[2])
		rr := ev.last(t, node.EventReadReceipt)
		if d, ok := rr.Data.(*ReadReceiptEvent); !ok || d.UserID != sc.member.user.ID || d.MessageID != msgs[2].ID || d.RoomID != sc.room || d.ReadAt == 0 {
			t.Fatalf("read_receipt %#v", rr.Data)
		}
		read(sc.admin, msgs[0])
		if got := receipts(msgs[0]); len(got) != 2 || got[sc.member.user.ID] == 0 || got[sc.admin.user.ID] == 0 {
			t.Fatalf("receipts of the first message: %v", got)
		}
		if got := receipts(msgs[2]); len(got) != 1 || got[sc.member.user.ID] == 0 {
			t.Fatalf("receipts of the last message: %v", got)
		}
		// The marker never moves back, and not moving publishes nothing.
		n := ev.count(node.EventReadReceipt)
		read(sc.member, msgs[0])
		if ev.count(node.EventReadReceipt) != n {
			t.Fatal("a marker that did not move published a receipt")
		}
		if got := receipts(msgs[2]); got[sc.member.user.ID] == 0 {
			t.Fatal("the read marker moved back")
		}
		// The sender's own reading is not a receipt.
		read(sc.owner, msgs[2])
		if got := receipts(msgs[2]); len(got) != 1 {
			t.Fatalf("receipts include the sender: %v", got)
		}
		r, err := e.store.RoomByID(context.Background(), sc.room, sc.admin.user.ID)
		if err != nil || r.UnreadCount != 2 {
			t.Fatalf("admin's unread count %v (%v), want 2", r, err)
		}
		other := e.makeRoom(sc.owner, chat.RoomPublic)
		foreign := e.seed(other, sc.owner, 1)[0]
		path := "/rooms/" + sc.room.String() + "/read"
		for _, tc := range []struct {
			name   string
			c      *client
			body   any
			status int
			code   chat.Code
		}{
			{"message of another room", sc.member, map[string]string{"message_id": foreign.ID.String()}, 400, chat.CodeValidation},
			{"unknown message", sc.member, map[string]string{"message_id": chat.NewID().String()}, 400, chat.CodeValidation},
			{"not a UUID", sc.member, map[string]string{"message_id": "x"}, 400, chat.CodeValidation},
			{"missing", sc.member, map[string]string{}, 400, chat.CodeValidation},
			{"outsider", sc.outsider, map[string]string{"message_id": msgs[0].ID.String()}, 403, chat.CodeNotMember},
			{"anonymous", sc.anon, map[string]string{"message_id": msgs[0].ID.String()}, 401, chat.CodeUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.c.mustError("POST", path, tc.body, tc.status, tc.code) })
		}
		priv := newScene(e, chat.RoomPrivate)
		pm := e.seed(priv.room, priv.owner, 1)[0]
		priv.outsider.mustError("POST", "/rooms/"+priv.room.String()+"/read", map[string]string{"message_id": pm.ID.String()}, 404, chat.CodeNotFound)
	})
}

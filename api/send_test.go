package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

// ---- fixtures shared by the message, reaction, moderation and notification tests ----

// scene is a room with one user of each role, an outsider and a fresh DM partner.
type scene struct {
	e                    *testEnv
	room                 chat.ID
	typ                  chat.RoomType
	owner, admin, member *client
	outsider             *client
	muted                *client // a member muted for good (nil unless withMuted)
	anon                 *client
}

// newScene creates a room of typ through the store: owner (creator), admin, member
// and an outsider who is not in it.
func newScene(e *testEnv, typ chat.RoomType) *scene {
	e.t.Helper()
	sc := &scene{e: e, typ: typ, owner: e.register("own"), admin: e.register("adm"),
		member: e.register("mem"), outsider: e.register("out"), anon: e.anon()}
	sc.room = e.makeRoom(sc.owner, typ)
	e.addMember(sc.room, sc.admin, chat.RoleAdmin)
	e.addMember(sc.room, sc.member, chat.RoleMember)
	return sc
}

// makeRoom creates a group room owned by owner directly in the store.
func (e *testEnv) makeRoom(owner *client, typ chat.RoomType) chat.ID {
	e.t.Helper()
	room := &chat.Room{ID: chat.NewID(), Name: "room " + uniqueName("r"), Type: typ,
		CreatedBy: owner.user.ID, CreatedAt: chat.Now()}
	if err := e.store.CreateRoom(context.Background(), room); err != nil {
		e.t.Fatalf("create room: %v", err)
	}
	return room.ID
}

// addMember adds c to a room with role (and the room type's default level) directly
// in the store, and tells the node, whose member cache may hold c as a non-member.
func (e *testEnv) addMember(room chat.ID, c *client, role chat.Role) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.RoomByID(ctx, room, chat.NilID)
	if err != nil {
		e.t.Fatalf("load room: %v", err)
	}
	if _, err := e.store.AddMember(ctx, room, c.user.ID, role, chat.DefaultLevel(r.Type), chat.Now()); err != nil {
		e.t.Fatalf("add member: %v", err)
	}
	e.node.RoomChanged(room)
}

// makeDM creates the direct room of a and b directly in the store.
func (e *testEnv) makeDM(a, b *client) chat.ID {
	e.t.Helper()
	room := &chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: a.user.ID, CreatedAt: chat.Now()}
	r, _, err := e.store.CreateDirectRoom(context.Background(), room, a.user.ID, b.user.ID)
	if err != nil {
		e.t.Fatalf("create direct room: %v", err)
	}
	return r.ID
}

// unlimited lifts the send rate limit for tests that send more than it allows.
func (e *testEnv) unlimited() { e.api.limiter = allowAll{} }

type allowAll struct{}

func (allowAll) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (allowAll) Refund(context.Context, string) error { return nil }

// seed appends n messages from c to a room through the node (no rate limit, no HTTP).
func (e *testEnv) seed(room chat.ID, c *client, n int) []*chat.Message {
	e.t.Helper()
	out := make([]*chat.Message, n)
	for i := range out {
		text := fmt.Sprintf("seed %d", i+1)
		m, _, err := e.node.Send(context.Background(), &node.SendRequest{RoomID: room, Sender: c.user,
			Type: chat.MessageText, Content: text, ContentHTML: "<p>" + text + "</p>"})
		if err != nil {
			e.t.Fatalf("seed message: %v", err)
		}
		out[i] = m
	}
	return out
}

// send posts content to a room and fails unless the answer is want.
func (c *client) send(room chat.ID, body any, want int) *chat.Message {
	c.e.t.Helper()
	if s, ok := body.(string); ok {
		body = map[string]any{"content": s}
	}
	var m chat.Message
	c.mustJSON("POST", "/rooms/"+room.String()+"/messages", body, want, &m)
	return &m
}

// try is do for goroutines: it reports failures as errors instead of failing the test.
func (c *client) try(method, path string, body any) (int, []byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.e.srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// history returns every message of a room, oldest first.
func (c *client) history(room chat.ID) []chat.Message {
	c.e.t.Helper()
	var all []chat.Message
	path := "/rooms/" + room.String() + "/messages?limit=100"
	for {
		var page messagePage
		c.mustJSON("GET", path, nil, http.StatusOK, &page)
		all = append(page.Items, all...)
		if !page.HasMore || len(page.Items) == 0 {
			return all
		}
		path = "/rooms/" + room.String() + "/messages?limit=100&before=" + page.Items[0].ID.String()
	}
}

// recSink records the events a room publishes on the node.
type recSink struct {
	mu  sync.Mutex
	evs []*node.Event
}

func (s *recSink) Deliver(ev *node.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
}

// subscribe records a room's events from now on.
func (e *testEnv) subscribe(room chat.ID) *recSink {
	e.t.Helper()
	s := &recSink{}
	if _, err := e.node.Subscribe(context.Background(), room, s); err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	e.t.Cleanup(func() { e.node.Unsubscribe(room, s) })
	return s
}

// last returns the newest recorded event of typ, failing when there is none.
func (s *recSink) last(t testing.TB, typ node.EventType) *node.Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.evs) - 1; i >= 0; i-- {
		if s.evs[i].Type == typ {
			return s.evs[i]
		}
	}
	t.Fatalf("no %s event among %d", typ, len(s.evs))
	return nil
}

// count returns how many events of typ were recorded.
func (s *recSink) count(typ node.EventType) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// ---- the send path ----

func TestSendValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		sc := newScene(e, chat.RoomPublic)
		other := e.makeRoom(sc.owner, chat.RoomPublic)
		foreign := e.seed(other, sc.owner, 1)[0]
		ok := []struct {
			name    string
			content string
		}{
			{"one character", "x"},
			{"10,000 ASCII", strings.Repeat("a", chat.ContentMax)},
			{"10,000 code points of two bytes", strings.Repeat("é", chat.ContentMax)},
			{"10,000 emoji", strings.Repeat("😀", chat.ContentMax)},
			{"surrounding space kept", "  hi  "},
		}
		for _, tc := range ok {
			t.Run("ok/"+tc.name, func(t *testing.T) {
				m := sc.member.send(sc.room, tc.content, http.StatusCreated)
				if m.Content != tc.content || m.Seq <= 0 || m.RoomID != sc.room || m.Sender.ID != sc.member.user.ID ||
					m.Type != chat.MessageText || m.Deleted || m.Reactions == nil || m.Attachments == nil || m.ContentHTML == "" {
					t.Fatalf("unexpected message %+v", m)
				}
			})
		}
		bad := []struct {
			name  string
			body  any
			code  chat.Code
			field string
		}{
			{"10,001 characters", map[string]any{"content": strings.Repeat("a", chat.ContentMax+1)}, chat.CodeValidation, "content"},
			{"10,001 code points", map[string]any{"content": strings.Repeat("é", chat.ContentMax+1)}, chat.CodeValidation, "content"},
			{"empty", map[string]any{"content": ""}, chat.CodeValidation, "content"},
			{"blank", map[string]any{"content": " \t\n "}, chat.CodeValidation, "content"},
			{"missing content", map[string]any{}, chat.CodeValidation, "content"},
			{"NUL", map[string]any{"content": "a\x00b"}, chat.CodeValidation, "content"},
			{"content not a string", map[string]any{"content": 5}, chat.CodeBadRequest, "content"},
			{"unknown field", map[string]any{"content": "x", "room_id": sc.room}, chat.CodeBadRequest, "room_id"},
			{"malformed JSON", `{"content": "x"`, chat.CodeBadRequest, ""},
			{"two objects", `{"content": "x"} {}`, chat.CodeBadRequest, ""},
			{"empty body", "", chat.CodeBadRequest, ""},
			{"attachments", map[string]any{"content": "x", "attachments": []string{chat.NewID().String()}}, chat.CodeValidation, "attachments"},
			{"empty client_msg_id", map[string]any{"content": "x", "client_msg_id": ""}, chat.CodeValidation, "client_msg_id"},
			{"long client_msg_id", map[string]any{"content": "x", "client_msg_id": strings.Repeat("k", chat.ClientMsgIDMax+1)}, chat.CodeValidation, "client_msg_id"},
			{"parent not a UUID", map[string]any{"content": "x", "parent_id": "nope"}, chat.CodeValidation, "parent_id"},
			{"unknown parent", map[string]any{"content": "x", "parent_id": chat.NewID()}, chat.CodeValidation, "parent_id"},
			{"parent in another room", map[string]any{"content": "x", "parent_id": foreign.ID}, chat.CodeValidation, "parent_id"},
		}
		for _, tc := range bad {
			t.Run("bad/"+tc.name, func(t *testing.T) {
				got := sc.member.mustError("POST", "/rooms/"+sc.room.String()+"/messages", tc.body, http.StatusBadRequest, tc.code)
				if got.Field != tc.field {
					t.Fatalf("field %q, want %q (%s)", got.Field, tc.field, got.Message)
				}
			})
		}
		t.Run("empty attachments accepted", func(t *testing.T) {
			sc.member.send(sc.room, map[string]any{"content": "x", "attachments": []string{}}, http.StatusCreated)
		})
		t.Run("bad room id", func(t *testing.T) {
			sc.member.mustError("POST", "/rooms/nope/messages", "x", http.StatusBadRequest, chat.CodeValidation)
		})
		t.Run("oversized body", func(t *testing.T) {
			sc.member.mustError("POST", "/rooms/"+sc.room.String()+"/messages",
				map[string]any{"content": strings.Repeat("a", chat.MaxBody)}, http.StatusRequestEntityTooLarge, chat.CodeTooLarge)
		})
		if n := len(sc.member.history(sc.room)); n != len(ok)+1 {
			t.Fatalf("%d messages stored, want %d: a refused send stored something", n, len(ok)+1)
		}
	})
}

func TestSendPermissions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		pub := newScene(e, chat.RoomPublic)
		priv := newScene(e, chat.RoomPrivate)
		ctx := context.Background()
		if err := e.store.SetMute(ctx, pub.room, pub.member.user.ID, ptr(chat.Forever)); err != nil {
			t.Fatal(err)
		}
		e.node.RoomChanged(pub.room)
		a, b := e.register("dma"), e.register("dmb")
		dm := e.makeDM(a, b)
		if _, err := e.store.Block(ctx, b.user.ID, a.user.ID, chat.Now()); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			c      *client
			room   chat.ID
			status int
			code   chat.Code
		}{
			{"owner", pub.owner, pub.room, http.StatusCreated, ""},
			{"admin", pub.admin, pub.room, http.StatusCreated, ""},
			{"private member", priv.member, priv.room, http.StatusCreated, ""},
			{"outsider of public", pub.outsider, pub.room, http.StatusForbidden, chat.CodeNotMember},
			{"outsider of private", priv.outsider, priv.room, http.StatusNotFound, chat.CodeNotFound},
			{"unknown room", pub.owner, chat.NewID(), http.StatusNotFound, chat.CodeNotFound},
			{"muted", pub.member, pub.room, http.StatusForbidden, chat.CodeMuted},
			{"blocked in DM", a, dm, http.StatusForbidden, chat.CodeBlocked},
			{"blocker in DM", b, dm, http.StatusCreated, ""},
			{"unauthenticated", pub.anon, pub.room, http.StatusUnauthorized, chat.CodeUnauthorized},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.code == "" {
					tc.c.send(tc.room, "hello", tc.status)
					return
				}
				tc.c.mustError("POST", "/rooms/"+tc.room.String()+"/messages", map[string]any{"content": "hello"}, tc.status, tc.code)
			})
		}
		t.Run("reply by an outsider of a private room is 404", func(t *testing.T) {
			parent := e.seed(priv.room, priv.owner, 1)[0]
			priv.outsider.mustError("POST", "/rooms/"+priv.room.String()+"/messages",
				map[string]any{"content": "x", "parent_id": parent.ID}, http.StatusNotFound, chat.CodeNotFound)
		})
		t.Run("unmuted member sends again", func(t *testing.T) {
			pub.admin.mustJSON("DELETE", "/rooms/"+pub.room.String()+"/mutes/"+pub.member.user.ID.String(), nil, http.StatusNoContent, nil)
			pub.member.send(pub.room, "back", http.StatusCreated)
		})
	})
}

func TestSendReplies(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		parent := sc.owner.send(sc.room, "question", http.StatusCreated)
		reply := sc.member.send(sc.room, map[string]any{"content": "answer", "parent_id": parent.ID}, http.StatusCreated)
		if reply.ParentID == nil || *reply.ParentID != parent.ID {
			t.Fatalf("parent_id %v, want %s", reply.ParentID, parent.ID)
		}
		sys := e.seedSystem(sc.room, sc.owner)
		sc.member.mustError("POST", "/rooms/"+sc.room.String()+"/messages",
			map[string]any{"content": "x", "parent_id": sys.ID}, http.StatusBadRequest, chat.CodeValidation)
		sc.owner.mustJSON("DELETE", "/messages/"+parent.ID.String(), nil, http.StatusOK, nil)
		late := sc.admin.send(sc.room, map[string]any{"content": "late answer", "parent_id": parent.ID}, http.StatusCreated)
		if late.ParentID == nil || *late.ParentID != parent.ID {
			t.Fatal("a reply to a deleted message lost its parent")
		}
	})
}

// seedSystem appends a system message to a room through the node.
func (e *testEnv) seedSystem(room chat.ID, actor *client) *chat.Message {
	e.t.Helper()
	m, _, err := e.node.Send(context.Background(), &node.SendRequest{RoomID: room, Sender: actor.user,
		Type: chat.MessageSystem, Content: actor.user.Username + " joined", ContentHTML: "<p>joined</p>"})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestSendIdempotency(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		other := e.makeRoom(sc.owner, chat.RoomPublic)
		e.addMember(other, sc.member, chat.RoleMember)
		first := sc.member.send(sc.room, map[string]any{"content": "once", "client_msg_id": "k1"}, http.StatusCreated)
		if first.ClientMsgID == nil || *first.ClientMsgID != "k1" {
			t.Fatalf("client_msg_id %v", first.ClientMsgID)
		}
		resends := []struct {
			name string
			room chat.ID
			body map[string]any
		}{
			{"same body", sc.room, map[string]any{"content": "once", "client_msg_id": "k1"}},
			{"different content", sc.room, map[string]any{"content": "twice", "client_msg_id": "k1"}},
			{"other room", other, map[string]any{"content": "elsewhere", "client_msg_id": "k1"}},
		}
		for _, tc := range resends {
			t.Run(tc.name, func(t *testing.T) {
				got := sc.member.send(tc.room, tc.body, http.StatusOK)
				if got.ID != first.ID || got.Content != "once" || got.RoomID != sc.room || got.Seq != first.Seq {
					t.Fatalf("resend returned %+v, want the original %+v", got, first)
				}
			})
		}
		t.Run("another sender may use the same key", func(t *testing.T) {
			m := sc.admin.send(sc.room, map[string]any{"content": "mine", "client_msg_id": "k1"}, http.StatusCreated)
			if m.ID == first.ID {
				t.Fatal("keys are per sender")
			}
		})
		t.Run("concurrent resends make one message", func(t *testing.T) {
			const n = 8
			var wg sync.WaitGroup
			ids := make([]string, n)
			statuses := make([]int, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					status, raw, err := sc.owner.try("POST", "/rooms/"+sc.room.String()+"/messages",
						map[string]any{"content": "race", "client_msg_id": "race-1"})
					var m chat.Message
					if err == nil {
						err = json.Unmarshal(raw, &m)
					}
					ids[i], statuses[i], errs[i] = m.ID.String(), status, err
				})
			}
			wg.Wait()
			created := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if ids[i] != ids[0] {
					t.Fatalf("resends returned different messages: %v", ids)
				}
				switch statuses[i] {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Fatalf("status %d", statuses[i])
				}
			}
			if created != 1 {
				t.Fatalf("%d answers said created, want 1 (%v)", created, statuses)
			}
			count := 0
			for _, m := range sc.owner.history(sc.room) {
				if m.Content == "race" {
					count++
				}
			}
			if count != 1 {
				t.Fatalf("%d messages stored, want 1", count)
			}
		})
	})
}

func TestSendSeqConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		owner := e.register("seq")
		rooms := []chat.ID{e.makeRoom(owner, chat.RoomPublic), e.makeRoom(owner, chat.RoomPublic), e.makeRoom(owner, chat.RoomPublic)}
		senders := []*client{owner, e.register("seq"), e.register("seq"), e.register("seq")}
		for _, r := range rooms {
			for _, c := range senders[1:] {
				e.addMember(r, c, chat.RoleMember)
			}
		}
		const perSender = 15
		var wg sync.WaitGroup
		errs := make(chan error, len(rooms)*len(senders)*perSender)
		for _, r := range rooms {
			for _, c := range senders {
				wg.Go(func() {
					for i := range perSender {
						status, raw, err := c.try("POST", "/rooms/"+r.String()+"/messages", map[string]any{"content": "m" + strconv.Itoa(i)})
						if err == nil && status != http.StatusCreated {
							err = fmt.Errorf("status %d: %s", status, raw)
						}
						if err != nil {
							errs <- err
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, r := range rooms {
			msgs := owner.history(r)
			if len(msgs) != len(senders)*perSender {
				t.Fatalf("room has %d messages, want %d", len(msgs), len(senders)*perSender)
			}
			for i, m := range msgs {
				if m.Seq != int64(i+1) {
					t.Fatalf("message %d has seq %d: seqs must be 1..n without gaps", i, m.Seq)
				}
			}
		}
	})
}

func TestSendRateLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		path := "/rooms/" + sc.room.String() + "/messages"
		// Sends refused by validation or by the API's checks do not count.
		sc.member.mustError("POST", path, map[string]any{"content": " "}, http.StatusBadRequest, chat.CodeValidation)
		sc.member.mustError("POST", path, map[string]any{"content": "x", "parent_id": chat.NewID()}, http.StatusBadRequest, chat.CodeValidation)
		var first *chat.Message
		for i := range chat.SendLimit {
			m := sc.member.send(sc.room, map[string]any{"content": "burst", "client_msg_id": "b" + strconv.Itoa(i)}, http.StatusCreated)
			if first == nil {
				first = m
			}
			if i == chat.SendLimit/2 {
				// Under the limit, a resend passes the limiter and reaches the owner,
				// whose commit answers with the original: its slot is given back, so
				// the loop can still send the whole limit.
				sc.member.send(sc.room, map[string]any{"content": "burst", "client_msg_id": "b0"}, http.StatusOK)
			}
		}
		status, raw, h := sc.member.do("POST", path, map[string]any{"content": "one too many"})
		var env struct {
			Error *chat.Error `json:"error"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil {
			t.Fatalf("status %d, body %s", status, raw)
		}
		if status != http.StatusTooManyRequests || env.Error.Code != chat.CodeRateLimited {
			t.Fatalf("11th send: %d %s, want 429 rate_limited", status, env.Error.Code)
		}
		if ms := env.Error.RetryAfterMs; ms <= 0 || ms > chat.SendWindow.Milliseconds() {
			t.Fatalf("retry_after_ms %d, want 1..%d", ms, chat.SendWindow.Milliseconds())
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 10 {
			t.Fatalf("Retry-After %q, want 1..10 seconds", h.Get("Retry-After"))
		}
		// A resend of a stored message is answered, not limited.
		again := sc.member.send(sc.room, map[string]any{"content": "burst", "client_msg_id": "b0"}, http.StatusOK)
		if again.ID != first.ID {
			t.Fatal("resend did not return the original")
		}
		// The limit is per user.
		sc.admin.send(sc.room, "not limited", http.StatusCreated)
	})
}

// xssVectors are inputs that try to get script into content_html.
var xssVectors = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`[x](javascript:alert(1))`,
	`[x](JaVaScRiPt:alert(1))`,
	`[x](  javascript:alert(1) )`,
	`[x](java&#x09;script:alert(1))`,
	`<a href="javascript:alert(1)">x</a>`,
	`![x](javascript:alert(1))`,
	`<svg onload=alert(1)>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	"```\n</code><script>alert(1)</script>\n```",
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<a href="&#106;avascript:alert(1)">x</a>`,
	`<body onload=alert(1)>`,
	`"><img src=x onerror=alert(1)>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`[<img src=x onerror=alert(1)>](https://example.com)`,
	`https://example.com/" onmouseover="alert(1)`,
	`<<script>script>alert(1)<</script>/script>`,
}

func TestSendSanitisesHTML(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		sc := newScene(e, chat.RoomPublic)
		for i, v := range xssVectors {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				m := sc.member.send(sc.room, v, http.StatusCreated)
				if m.Content != v {
					t.Fatalf("content changed: %q", m.Content)
				}
				if bad := unsafeHTML(m.ContentHTML); bad != "" {
					t.Fatalf("content_html of %q contains %q: %s", v, bad, m.ContentHTML)
				}
			})
		}
		m := sc.member.send(sc.room, "**bold** and [link](https://example.com)", http.StatusCreated)
		if !strings.Contains(m.ContentHTML, "<strong>bold</strong>") || !strings.Contains(m.ContentHTML, `href="https://example.com"`) {
			t.Fatalf("markdown not rendered: %s", m.ContentHTML)
		}
	})
}

// faultyStore fails the group commit and the node's follow-up lookup on demand, so
// that a send's outcome is unknown.
type faultyStore struct {
	persist.Store
	fail atomic.Bool
}

var errConnReset = errors.New("connection reset by peer")

func (f *faultyStore) CommitBatch(ctx context.Context, b []persist.RoomBatch) ([]error, error) {
	if f.fail.Load() {
		return nil, errConnReset
	}
	return f.Store.CommitBatch(ctx, b)
}

func (f *faultyStore) MessageByID(ctx context.Context, id, viewer chat.ID) (*chat.Message, error) {
	if f.fail.Load() {
		return nil, errConnReset
	}
	return f.Store.MessageByID(ctx, id, viewer)
}

// TestSendUnknownOutcome checks the contract's promise that an error answer means
// "not stored": when the node cannot tell whether a commit happened, the REST send
// drops the connection instead of answering, and a resend with the same
// client_msg_id settles it.
func TestSendUnknownOutcome(t *testing.T) {
	e := newEnv(t, "embedded")
	faulty := &faultyStore{Store: e.store}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nd, err := node.New(node.Config{Name: "faulty"}, faulty, log)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	srv, err := New(Config{JWTSecret: testSecret}, faulty, nd, persist.NewMemoryRateLimiter(), log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := e.register("unk")
	room := e.makeRoom(c, chat.RoomPublic)
	body := `{"content":"maybe","client_msg_id":"unknown-1"}`
	post := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", ts.URL+"/rooms/"+room.String()+"/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		return ts.Client().Do(req)
	}
	faulty.fail.Store(true)
	if resp, err := post(); err == nil {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("an unknown outcome was answered: %d %s", resp.StatusCode, raw)
	}
	faulty.fail.Store(false)
	resp, err := post()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m chat.Message
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated || m.Content != "maybe" || m.Seq != 1 {
		t.Fatalf("resend: %d %+v %v", resp.StatusCode, m, err)
	}
}

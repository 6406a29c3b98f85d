package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

// Helpers shared by the tests of rooms, members, invites, users and blocks.

// tryCase sends a request and reports (without stopping the test) a status other
// than status or, when code is set, an envelope with another code. label names the
// case in table-driven tests. It returns the body.
func (c *client) tryCase(t *testing.T, label, method, path string, body any, status int, code chat.Code) []byte {
	t.Helper()
	got, raw, _ := c.do(method, path, body)
	if got != status {
		t.Errorf("%s: %s %s: status %d, want %d; body %s", label, method, path, got, status, raw)
		return raw
	}
	if code != "" {
		var env struct {
			Error *chat.Error `json:"error"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || env.Error == nil || env.Error.Code != code {
			t.Errorf("%s: %s %s: body %s, want error code %s", label, method, path, raw, code)
		}
	}
	return raw
}

// newGroupRoom creates a room of typ owned by c.
func (c *client) newGroupRoom(typ chat.RoomType) chat.Room {
	c.e.t.Helper()
	var room chat.Room
	c.mustJSON("POST", "/rooms", map[string]any{"name": "room " + uniqueName("r"), "type": typ}, http.StatusCreated, &room)
	return room
}

// openDM asks for c's direct room with other, expecting status.
func (c *client) openDM(other *client, status int) chat.Room {
	c.e.t.Helper()
	var room chat.Room
	c.mustJSON("POST", "/rooms", map[string]any{"type": "direct", "user_id": other.user.ID}, status, &room)
	return room
}

// joinRoom joins a room, expecting 200.
func (c *client) joinRoom(id chat.ID) chat.Room {
	c.e.t.Helper()
	var room chat.Room
	c.mustJSON("POST", "/rooms/"+id.String()+"/join", nil, http.StatusOK, &room)
	return room
}

// addMember has c add u to room, expecting status.
func (c *client) addMember(room chat.ID, u *client, status int) {
	c.e.t.Helper()
	c.mustJSON("POST", "/rooms/"+room.String()+"/members", map[string]any{"user_id": u.user.ID}, status, nil)
}

// setRole has c give u role in room, expecting status.
func (c *client) setRole(room chat.ID, u *client, role chat.Role, status int) {
	c.e.t.Helper()
	c.mustJSON("PATCH", "/rooms/"+room.String()+"/members/"+u.user.ID.String()+"/role",
		map[string]any{"role": role}, status, nil)
}

// getRoom reads a room as c sees it, expecting 200.
func (c *client) getRoom(id chat.ID) chat.Room {
	c.e.t.Helper()
	var room chat.Room
	c.mustJSON("GET", "/rooms/"+id.String(), nil, http.StatusOK, &room)
	return room
}

// roomSetup is a group room with one client per role and an outsider.
type roomSetup struct {
	room                           chat.Room
	owner, admin, member, outsider *client
}

// newRoomSetup creates a room of typ with an owner, an admin, a member and an outsider.
func (e *testEnv) newRoomSetup(typ chat.RoomType) *roomSetup {
	e.t.Helper()
	s := &roomSetup{owner: e.register("own"), admin: e.register("adm"), member: e.register("mem"), outsider: e.register("out")}
	s.room = s.owner.newGroupRoom(typ)
	s.owner.addMember(s.room.ID, s.admin, http.StatusCreated)
	s.owner.addMember(s.room.ID, s.member, http.StatusCreated)
	s.owner.setRole(s.room.ID, s.admin, chat.RoleAdmin, http.StatusOK)
	return s
}

// roomPath is /rooms/<id><suffix>.
func roomPath(id chat.ID, suffix string) string { return "/rooms/" + id.String() + suffix }

// eventRecorder is a node.Sink that keeps every event of a room.
type eventRecorder struct {
	mu  sync.Mutex
	evs []*node.Event
}

// Deliver implements node.Sink. Internal events (kicks), which clients never see,
// are not recorded.
func (r *eventRecorder) Deliver(ev *node.Event) {
	if strings.HasPrefix(string(ev.Type), "_") {
		return
	}
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

// take returns the events recorded so far and forgets them.
func (r *eventRecorder) take() []*node.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.evs
	r.evs = nil
	return evs
}

// types lists the types of the events recorded so far and forgets them.
func (r *eventRecorder) types() []node.EventType {
	var out []node.EventType
	for _, ev := range r.take() {
		out = append(out, ev.Type)
	}
	return out
}

// recordRoom subscribes a recorder to a room's events on the env's node. Events are
// delivered before the API answers, so a test reads them right after a request.
func (e *testEnv) recordRoom(id chat.ID) *eventRecorder {
	e.t.Helper()
	rec := &eventRecorder{}
	if _, err := e.node.Subscribe(context.Background(), id, rec); err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	e.t.Cleanup(func() { e.node.Unsubscribe(id, rec) })
	return rec
}

// wantEvents fails unless got equals want.
func wantEvents(t *testing.T, label string, got []node.EventType, want ...node.EventType) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: events %v, want %v", label, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: events %v, want %v", label, got, want)
			return
		}
	}
}

// systemTexts returns the contents of a room's system messages, oldest first.
func (e *testEnv) systemTexts(room chat.ID) []string {
	e.t.Helper()
	msgs, _, err := e.store.Messages(context.Background(), room, chat.NilID, persist.MessageQuery{Limit: chat.PageMax})
	if err != nil {
		e.t.Fatalf("messages: %v", err)
	}
	var out []string
	for _, m := range msgs {
		if m.Type == chat.MessageSystem {
			out = append(out, m.Content)
		}
	}
	return out
}

// roomIDs lists the IDs of rooms.
func roomIDs(rooms []chat.Room) []chat.ID {
	out := make([]chat.ID, len(rooms))
	for i, r := range rooms {
		out[i] = r.ID
	}
	return out
}

func TestRoomCreateValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		c := e.register("creator")
		other := e.register("other")
		cases := []struct {
			label  string
			body   any
			status int
			code   chat.Code
		}{
			{"name 1", map[string]any{"name": "x", "type": "public"}, 201, ""},
			{"name 100", map[string]any{"name": strings.Repeat("é", 100), "type": "public"}, 201, ""},
			{"name 101", map[string]any{"name": strings.Repeat("é", 101), "type": "public"}, 400, chat.CodeValidation},
			{"name empty", map[string]any{"name": "", "type": "public"}, 400, chat.CodeValidation},
			{"name blank", map[string]any{"name": " \t ", "type": "private"}, 400, chat.CodeValidation},
			{"name missing", map[string]any{"type": "public"}, 400, chat.CodeValidation},
			{"description 500", map[string]any{"name": "d", "description": strings.Repeat("d", 500), "type": "private"}, 201, ""},
			{"description 501", map[string]any{"name": "d", "description": strings.Repeat("d", 501), "type": "private"}, 400, chat.CodeValidation},
			{"description empty", map[string]any{"name": "d", "description": "", "type": "public"}, 201, ""},
			{"type missing", map[string]any{"name": "t"}, 400, chat.CodeValidation},
			{"type unknown", map[string]any{"name": "t", "type": "secret"}, 400, chat.CodeValidation},
			{"type wrong JSON type", map[string]any{"name": "t", "type": 3}, 400, chat.CodeBadRequest},
			{"user_id on group room", map[string]any{"name": "t", "type": "public", "user_id": other.user.ID}, 400, chat.CodeValidation},
			{"unknown field", map[string]any{"name": "t", "type": "public", "topic": "x"}, 400, chat.CodeBadRequest},
			{"malformed JSON", `{"name": "t", "type": `, 400, chat.CodeBadRequest},
			{"not an object", `["public"]`, 400, chat.CodeBadRequest},
			{"empty body", "", 400, chat.CodeBadRequest},
			{"oversized body", `{"name": "` + strings.Repeat("x", chat.MaxBody) + `", "type": "public"}`, 413, chat.CodeTooLarge},
		}
		for _, tc := range cases {
			c.tryCase(t, tc.label, "POST", "/rooms", tc.body, tc.status, tc.code)
		}
		e.anon().tryCase(t, "anonymous", "POST", "/rooms", map[string]any{"name": "t", "type": "public"}, 401, chat.CodeUnauthorized)
	})
}

func TestRoomCreateAndGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		owner, outsider := e.register("owner"), e.register("outsider")
		var pub chat.Room
		owner.mustJSON("POST", "/rooms", map[string]any{"name": "Lobby", "description": "hello", "type": "public"}, 201, &pub)
		if pub.Name != "Lobby" || pub.Description != "hello" || pub.Type != chat.RoomPublic || pub.CreatedBy != owner.user.ID ||
			pub.MemberCount != 1 || pub.MyRole == nil || *pub.MyRole != chat.RoleOwner || pub.LastMessageAt != nil ||
			pub.NotificationLevel == nil || *pub.NotificationLevel != chat.LevelMentions || pub.ID.Version() != 7 {
			t.Errorf("created room = %+v", pub)
		}
		// Public: visible to outsiders, without a role.
		seen := outsider.getRoom(pub.ID)
		if seen.ID != pub.ID || seen.MyRole != nil || seen.NotificationLevel != nil {
			t.Errorf("outsider sees %+v", seen)
		}
		// Private: 404 to outsiders, byte-identical to a room that does not exist.
		priv := owner.newGroupRoom(chat.RoomPrivate)
		if got := owner.getRoom(priv.ID); got.Type != chat.RoomPrivate {
			t.Errorf("owner sees %+v", got)
		}
		st1, body1, _ := outsider.do("GET", roomPath(priv.ID, ""), nil)
		st2, body2, _ := outsider.do("GET", roomPath(chat.NewID(), ""), nil)
		if st1 != 404 || st2 != 404 || !bytes.Equal(body1, body2) {
			t.Errorf("private room to outsider: %d %s; missing room: %d %s", st1, body1, st2, body2)
		}
		outsider.tryCase(t, "bad uuid", "GET", "/rooms/not-a-uuid", nil, 400, chat.CodeValidation)
		e.anon().tryCase(t, "anonymous", "GET", roomPath(pub.ID, ""), nil, 401, chat.CodeUnauthorized)
	})
}

func TestRoomListsAndDiscovery(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice, bob := e.register("alice"), e.register("bob")
		var rooms []chat.Room
		for _, name := range []string{"Go Lovers", "Rustaceans", "golang-nuts"} {
			var r chat.Room
			alice.mustJSON("POST", "/rooms", map[string]any{"name": name, "type": "public"}, 201, &r)
			rooms = append(rooms, r)
		}
		secret := alice.newGroupRoom(chat.RoomPrivate)

		// GET /rooms: the caller's rooms, newest activity first, paginated.
		var page list[chat.Room]
		alice.mustJSON("GET", "/rooms", nil, 200, &page)
		if len(page.Items) != 4 || page.NextCursor != "" {
			t.Fatalf("alice's rooms: %d items, cursor %q", len(page.Items), page.NextCursor)
		}
		bob.joinRoom(rooms[0].ID) // the system message makes rooms[0] the most recently active
		alice.mustJSON("GET", "/rooms", nil, 200, &page)
		if page.Items[0].ID != rooms[0].ID {
			t.Errorf("most recent room = %s, want %s", page.Items[0].Name, rooms[0].Name)
		}
		var seen []chat.ID
		cursor := ""
		for i := 0; i < 10; i++ {
			var p list[chat.Room]
			alice.mustJSON("GET", "/rooms?limit=3&cursor="+cursor, nil, 200, &p)
			seen = append(seen, roomIDs(p.Items)...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 4 {
			t.Errorf("paged through %d rooms, want 4", len(seen))
		}
		bob.mustJSON("GET", "/rooms", nil, 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != rooms[0].ID {
			t.Errorf("bob's rooms = %v", roomIDs(page.Items))
		}
		for _, l := range []string{"0", "101", "x"} {
			alice.tryCase(t, "limit "+l, "GET", "/rooms?limit="+l, nil, 400, chat.CodeValidation)
		}

		// GET /rooms/public: public rooms only, name contains q case-insensitively.
		var pub list[chat.Room]
		bob.mustJSON("GET", "/rooms/public", nil, 200, &pub)
		if len(pub.Items) != 3 {
			t.Errorf("public rooms: %d, want 3", len(pub.Items))
		}
		for _, r := range pub.Items {
			if r.ID == secret.ID {
				t.Errorf("private room listed as public")
			}
		}
		bob.mustJSON("GET", "/rooms/public?q=GO", nil, 200, &pub)
		if len(pub.Items) != 2 {
			t.Errorf("q=GO: %d rooms, want 2 (Go Lovers, golang-nuts)", len(pub.Items))
		}
		bob.mustJSON("GET", "/rooms/public?q=acean", nil, 200, &pub)
		if len(pub.Items) != 1 || pub.Items[0].Name != "Rustaceans" {
			t.Errorf("q=acean: %v", pub.Items)
		}
		bob.tryCase(t, "q too long", "GET", "/rooms/public?q="+strings.Repeat("a", 101), nil, 400, chat.CodeValidation)
		bob.tryCase(t, "q invalid UTF-8", "GET", "/rooms/public?q=%ff", nil, 400, chat.CodeValidation)
	})
}

func TestRoomUpdate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPublic)
		rec := e.recordRoom(rs.room.ID)
		path := roomPath(rs.room.ID, "")
		cases := []struct {
			label  string
			who    *client
			body   any
			status int
			code   chat.Code
		}{
			{"owner renames", rs.owner, map[string]any{"name": "renamed"}, 200, ""},
			{"admin redescribes", rs.admin, map[string]any{"description": "about"}, 200, ""},
			{"name 100", rs.admin, map[string]any{"name": strings.Repeat("n", 100)}, 200, ""},
			{"name 101", rs.admin, map[string]any{"name": strings.Repeat("n", 101)}, 400, chat.CodeValidation},
			{"name empty", rs.admin, map[string]any{"name": ""}, 400, chat.CodeValidation},
			{"description 500", rs.admin, map[string]any{"description": strings.Repeat("d", 500)}, 200, ""},
			{"description 501", rs.admin, map[string]any{"description": strings.Repeat("d", 501)}, 400, chat.CodeValidation},
			{"description cleared", rs.admin, map[string]any{"description": ""}, 200, ""},
			{"member", rs.member, map[string]any{"name": "nope"}, 403, chat.CodeForbidden},
			{"outsider of public room", rs.outsider, map[string]any{"name": "nope"}, 403, chat.CodeNotMember},
			{"anonymous", rs.owner.e.anon(), map[string]any{"name": "nope"}, 401, chat.CodeUnauthorized},
			{"unknown field", rs.owner, map[string]any{"type": "private"}, 400, chat.CodeBadRequest},
			{"wrong type", rs.owner, map[string]any{"name": 7}, 400, chat.CodeBadRequest},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, "PUT", path, tc.body, tc.status, tc.code)
		}
		got := rs.member.getRoom(rs.room.ID)
		if got.Name != strings.Repeat("n", 100) || got.Description != "" {
			t.Errorf("room after updates: %+v", got)
		}
		evs := rec.take()
		if len(evs) != 5 {
			t.Fatalf("%d room_updated events, want 5", len(evs))
		}
		last := evs[4].Data.(*RoomUpdatedEvent).Room
		if evs[4].Type != node.EventRoomUpdated || last.MyRole != nil || last.NotificationLevel != nil || last.Name != got.Name {
			t.Errorf("room_updated = %+v", last)
		}
		// {} changes nothing and emits nothing.
		rs.owner.mustJSON("PUT", path, map[string]any{}, 200, nil)
		wantEvents(t, "empty patch", rec.types())

		priv := e.newRoomSetup(chat.RoomPrivate)
		priv.outsider.tryCase(t, "outsider of private room", "PUT", roomPath(priv.room.ID, ""), map[string]any{"name": "x"}, 404, chat.CodeNotFound)
		a, b := e.register("dma"), e.register("dmb")
		dm := a.openDM(b, 201)
		a.tryCase(t, "direct room", "PUT", roomPath(dm.ID, ""), map[string]any{"name": "x"}, 403, chat.CodeForbidden)
	})
}

func TestRoomDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		rec := e.recordRoom(rs.room.ID)
		path := roomPath(rs.room.ID, "")
		rs.admin.tryCase(t, "admin", "DELETE", path, nil, 403, chat.CodeForbidden)
		rs.member.tryCase(t, "member", "DELETE", path, nil, 403, chat.CodeForbidden)
		rs.outsider.tryCase(t, "outsider", "DELETE", path, nil, 404, chat.CodeNotFound)
		e.anon().tryCase(t, "anonymous", "DELETE", path, nil, 401, chat.CodeUnauthorized)
		rs.owner.tryCase(t, "owner", "DELETE", path, nil, 204, "")
		evs := rec.take()
		if len(evs) != 1 || evs[0].Type != node.EventRoomDeleted || evs[0].Data.(*RoomDeletedEvent).RoomID != rs.room.ID {
			t.Errorf("events after delete: %+v", evs)
		}
		rs.owner.tryCase(t, "deleted room", "GET", path, nil, 404, chat.CodeNotFound)
		rs.member.tryCase(t, "deleted room, member", "GET", path, nil, 404, chat.CodeNotFound)
		rs.owner.tryCase(t, "delete again", "DELETE", path, nil, 404, chat.CodeNotFound)

		pub := e.newRoomSetup(chat.RoomPublic)
		pub.outsider.tryCase(t, "outsider of public room", "DELETE", roomPath(pub.room.ID, ""), nil, 403, chat.CodeNotMember)
		a, b := e.register("dma"), e.register("dmb")
		dm := a.openDM(b, 201)
		a.tryCase(t, "direct room", "DELETE", roomPath(dm.ID, ""), nil, 403, chat.CodeForbidden)
	})
}

func TestRoomJoin(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		owner, joiner := e.register("owner"), e.register("joiner")
		pub := owner.newGroupRoom(chat.RoomPublic)
		rec := e.recordRoom(pub.ID)
		joined := joiner.joinRoom(pub.ID)
		if joined.MemberCount != 2 || joined.MyRole == nil || *joined.MyRole != chat.RoleMember {
			t.Errorf("joined room = %+v", joined)
		}
		evs := rec.take()
		if len(evs) != 2 || evs[0].Type != node.EventUserJoined || evs[1].Type != node.EventMessageCreated {
			t.Fatalf("join events: %+v", evs)
		}
		if d := evs[0].Data.(*UserJoinedEvent); d.RoomID != pub.ID || d.User.ID != joiner.user.ID {
			t.Errorf("user_joined = %+v", d)
		}
		// Repeated join: 200, no change, no event, no message.
		again := joiner.joinRoom(pub.ID)
		if again.MemberCount != 2 {
			t.Errorf("member_count after second join = %d", again.MemberCount)
		}
		wantEvents(t, "repeated join", rec.types())
		if got := e.systemTexts(pub.ID); len(got) != 1 || got[0] != joiner.user.Username+" joined" {
			t.Errorf("system messages = %q", got)
		}
		// A joined member can read the timeline and the members.
		joiner.mustJSON("GET", roomPath(pub.ID, "/members"), nil, 200, nil)

		priv := owner.newGroupRoom(chat.RoomPrivate)
		st1, b1, _ := joiner.do("POST", roomPath(priv.ID, "/join"), nil)
		st2, b2, _ := joiner.do("POST", roomPath(chat.NewID(), "/join"), nil)
		if st1 != 404 || st2 != 404 || !bytes.Equal(b1, b2) {
			t.Errorf("join private: %d %s; join missing: %d %s", st1, b1, st2, b2)
		}
		owner.tryCase(t, "member of private room joins again", "POST", roomPath(priv.ID, "/join"), "{}", 200, "")
		third := e.register("third")
		dm := owner.openDM(joiner, 201)
		third.tryCase(t, "outsider joins DM", "POST", roomPath(dm.ID, "/join"), nil, 404, chat.CodeNotFound)
		owner.tryCase(t, "DM member joins", "POST", roomPath(dm.ID, "/join"), nil, 200, "")
		joiner.tryCase(t, "body with a field", "POST", roomPath(pub.ID, "/join"), map[string]any{"x": 1}, 400, chat.CodeBadRequest)
		e.anon().tryCase(t, "anonymous", "POST", roomPath(pub.ID, "/join"), nil, 401, chat.CodeUnauthorized)
	})
}

func TestRoomLeave(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPublic)
		rec := e.recordRoom(rs.room.ID)
		leave := roomPath(rs.room.ID, "/leave")

		rs.member.tryCase(t, "member leaves", "POST", leave, nil, 204, "")
		evs := rec.take()
		if len(evs) != 2 || evs[0].Type != node.EventUserLeft || evs[1].Type != node.EventMessageCreated {
			t.Fatalf("leave events: %+v", evs)
		}
		if d := evs[0].Data.(*UserLeftEvent); d.RoomID != rs.room.ID || d.UserID != rs.member.user.ID {
			t.Errorf("user_left = %+v", d)
		}
		texts := e.systemTexts(rs.room.ID)
		if len(texts) == 0 || texts[len(texts)-1] != rs.member.user.Username+" left" {
			t.Errorf("system messages = %q", texts)
		}
		rs.member.tryCase(t, "left member reads members", "GET", roomPath(rs.room.ID, "/members"), nil, 403, chat.CodeNotMember)
		rs.member.tryCase(t, "leave again", "POST", leave, nil, 403, chat.CodeNotMember)
		rs.member.tryCase(t, "left member sends", "POST", roomPath(rs.room.ID, "/messages"), map[string]any{"content": "hi"}, 403, chat.CodeNotMember)

		rs.owner.tryCase(t, "owner with others", "POST", leave, "{}", 409, chat.CodeOwnerMustTransfer)
		rs.admin.tryCase(t, "admin leaves", "POST", leave, nil, 204, "")
		// The owner, now alone, may leave: the room is deleted with its last member.
		rec.take()
		rs.owner.tryCase(t, "last member owner", "POST", leave, nil, 204, "")
		wantEvents(t, "owner leaves last", rec.types(), node.EventRoomDeleted)
		rs.owner.tryCase(t, "room gone", "GET", roomPath(rs.room.ID, ""), nil, 404, chat.CodeNotFound)

		priv := e.newRoomSetup(chat.RoomPrivate)
		priv.outsider.tryCase(t, "outsider of private room", "POST", roomPath(priv.room.ID, "/leave"), nil, 404, chat.CodeNotFound)
		// Leaving a DM hides it until it is opened again.
		a, b := e.register("dma"), e.register("dmb")
		dm := a.openDM(b, 201)
		a.tryCase(t, "leave DM", "POST", roomPath(dm.ID, "/leave"), nil, 204, "")
		a.tryCase(t, "left DM", "GET", roomPath(dm.ID, ""), nil, 404, chat.CodeNotFound)
		a.tryCase(t, "join left DM", "POST", roomPath(dm.ID, "/join"), nil, 404, chat.CodeNotFound)
		b.mustJSON("POST", roomPath(dm.ID, "/messages"), map[string]any{"content": "still there?"}, 201, nil)
		if again := a.openDM(b, 200); again.ID != dm.ID || again.MemberCount != 2 {
			t.Errorf("reopened DM = %+v, want %s with 2 members", again, dm.ID)
		}
		e.anon().tryCase(t, "anonymous", "POST", roomPath(priv.room.ID, "/leave"), nil, 401, chat.CodeUnauthorized)
	})
}

func TestDirectRooms(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		a, b, c := e.register("dma"), e.register("dmb"), e.register("dmc")
		dm := a.openDM(b, http.StatusCreated)
		if dm.Type != chat.RoomDirect || dm.MemberCount != 2 || dm.Name != "" ||
			dm.NotificationLevel == nil || *dm.NotificationLevel != chat.LevelAll {
			t.Errorf("DM = %+v", dm)
		}
		if again := a.openDM(b, http.StatusOK); again.ID != dm.ID {
			t.Errorf("second open gave %s, want %s", again.ID, dm.ID)
		}
		if back := b.openDM(a, http.StatusOK); back.ID != dm.ID {
			t.Errorf("reverse open gave %s, want %s", back.ID, dm.ID)
		}
		c.tryCase(t, "outsider reads DM", "GET", roomPath(dm.ID, ""), nil, 404, chat.CodeNotFound)

		cases := []struct {
			label  string
			body   any
			status int
			code   chat.Code
		}{
			{"with yourself", map[string]any{"type": "direct", "user_id": a.user.ID}, 400, chat.CodeValidation},
			{"unknown user", map[string]any{"type": "direct", "user_id": chat.NewID()}, 404, chat.CodeNotFound},
			{"user_id missing", map[string]any{"type": "direct"}, 400, chat.CodeValidation},
			{"user_id not a UUID", map[string]any{"type": "direct", "user_id": "bob"}, 400, chat.CodeValidation},
			{"user_id wrong type", map[string]any{"type": "direct", "user_id": 12}, 400, chat.CodeBadRequest},
			{"with a name", map[string]any{"type": "direct", "user_id": c.user.ID, "name": "x"}, 400, chat.CodeValidation},
			{"with a description", map[string]any{"type": "direct", "user_id": c.user.ID, "description": ""}, 400, chat.CodeValidation},
		}
		for _, tc := range cases {
			a.tryCase(t, tc.label, "POST", "/rooms", tc.body, tc.status, tc.code)
		}

		// A DM never gains a third member, whoever asks, by any route.
		for _, who := range []*client{a, b} {
			who.tryCase(t, "third member", "POST", roomPath(dm.ID, "/members"), map[string]any{"user_id": c.user.ID}, 409, chat.CodeDirectRoomClosed)
			who.tryCase(t, "invite", "POST", roomPath(dm.ID, "/invites"), nil, 409, chat.CodeDirectRoomClosed)
		}
		c.tryCase(t, "outsider adds to DM", "POST", roomPath(dm.ID, "/members"), map[string]any{"user_id": c.user.ID}, 404, chat.CodeNotFound)
		var members list[chat.Member]
		a.mustJSON("GET", roomPath(dm.ID, "/members"), nil, 200, &members)
		if len(members.Items) != 2 {
			t.Errorf("DM members = %d", len(members.Items))
		}

		// Someone who blocked you: 403 blocked, for a new DM and for the existing one.
		c.mustJSON("POST", "/users/"+a.user.ID.String()+"/block", nil, 200, nil)
		a.tryCase(t, "blocked, new DM", "POST", "/rooms", map[string]any{"type": "direct", "user_id": c.user.ID}, 403, chat.CodeBlocked)
		b.mustJSON("POST", "/users/"+a.user.ID.String()+"/block", nil, 200, nil)
		a.tryCase(t, "blocked, existing DM", "POST", "/rooms", map[string]any{"type": "direct", "user_id": b.user.ID}, 403, chat.CodeBlocked)
		// The blocker may still open it.
		b.openDM(a, http.StatusOK)
	})
}

func TestNotificationLevel(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPublic)
		path := roomPath(rs.room.ID, "/notification-level")
		for _, level := range []chat.NotificationLevel{chat.LevelAll, chat.LevelMuted, chat.LevelMentions} {
			var room chat.Room
			rs.member.mustJSON("PUT", path, map[string]any{"level": level}, 200, &room)
			if room.NotificationLevel == nil || *room.NotificationLevel != level || room.ID != rs.room.ID {
				t.Errorf("level %s: room %+v", level, room)
			}
		}
		rs.member.mustJSON("PUT", path, map[string]any{"level": "all"}, 200, nil)
		if got := rs.member.getRoom(rs.room.ID); *got.NotificationLevel != chat.LevelAll {
			t.Errorf("level not kept: %v", *got.NotificationLevel)
		}
		if got := rs.owner.getRoom(rs.room.ID); *got.NotificationLevel != chat.LevelMentions {
			t.Errorf("another member's level changed: %v", *got.NotificationLevel)
		}
		rs.member.tryCase(t, "unknown level", "PUT", path, map[string]any{"level": "loud"}, 400, chat.CodeValidation)
		rs.member.tryCase(t, "missing level", "PUT", path, map[string]any{}, 400, chat.CodeValidation)
		rs.outsider.tryCase(t, "outsider", "PUT", path, map[string]any{"level": "all"}, 403, chat.CodeNotMember)
		e.anon().tryCase(t, "anonymous", "PUT", path, map[string]any{"level": "all"}, 401, chat.CodeUnauthorized)
		priv := e.newRoomSetup(chat.RoomPrivate)
		priv.outsider.tryCase(t, "outsider of private room", "PUT", roomPath(priv.room.ID, "/notification-level"),
			map[string]any{"level": "all"}, 404, chat.CodeNotFound)
	})
}

package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

// memberRole returns u's role in room as the members list shows it ("" if absent).
func (c *client) memberRole(room chat.ID, u *client) chat.Role {
	c.e.t.Helper()
	var members list[chat.Member]
	c.mustJSON("GET", roomPath(room, "/members?limit=100"), nil, 200, &members)
	for _, m := range members.Items {
		if m.User.ID == u.user.ID {
			return m.Role
		}
	}
	return ""
}

func TestMembersList(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPublic)
		path := roomPath(rs.room.ID, "/members")
		var page list[chat.Member]
		rs.member.mustJSON("GET", path, nil, 200, &page)
		if len(page.Items) != 3 || page.NextCursor != "" {
			t.Fatalf("members: %+v", page)
		}
		want := []struct {
			id   chat.ID
			role chat.Role
		}{{rs.owner.user.ID, chat.RoleOwner}, {rs.admin.user.ID, chat.RoleAdmin}, {rs.member.user.ID, chat.RoleMember}}
		for i, w := range want {
			m := page.Items[i]
			if m.User.ID != w.id || m.Role != w.role || m.Muted || m.LastReadMessageID != nil || m.JoinedAt == 0 {
				t.Errorf("member %d = %+v, want %s as %s", i, m, w.id, w.role)
			}
		}
		// Cursor pagination visits everyone once.
		var seen []chat.ID
		cursor := ""
		for i := 0; i < 10; i++ {
			var p list[chat.Member]
			rs.owner.mustJSON("GET", path+"?limit=2&cursor="+cursor, nil, 200, &p)
			for _, m := range p.Items {
				seen = append(seen, m.User.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 3 || seen[0] != rs.owner.user.ID || seen[2] != rs.member.user.ID {
			t.Errorf("paged members = %v", seen)
		}
		rs.outsider.tryCase(t, "outsider of public room", "GET", path, nil, 403, chat.CodeNotMember)
		rs.owner.tryCase(t, "limit 0", "GET", path+"?limit=0", nil, 400, chat.CodeValidation)
		e.anon().tryCase(t, "anonymous", "GET", path, nil, 401, chat.CodeUnauthorized)
		priv := e.newRoomSetup(chat.RoomPrivate)
		priv.outsider.tryCase(t, "outsider of private room", "GET", roomPath(priv.room.ID, "/members"), nil, 404, chat.CodeNotFound)
	})
}

func TestMembersAdd(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		rec := e.recordRoom(rs.room.ID)
		path := roomPath(rs.room.ID, "/members")
		newbie, other := e.register("newbie"), e.register("other")

		var m chat.Member
		rs.admin.mustJSON("POST", path, map[string]any{"user_id": newbie.user.ID}, http.StatusCreated, &m)
		if m.User.ID != newbie.user.ID || m.Role != chat.RoleMember {
			t.Errorf("added member = %+v", m)
		}
		wantEvents(t, "add", rec.types(), node.EventUserJoined, node.EventMessageCreated)
		texts := e.systemTexts(rs.room.ID)
		if want := rs.admin.user.Username + " added " + newbie.user.Username; texts[len(texts)-1] != want {
			t.Errorf("system message %q, want %q", texts[len(texts)-1], want)
		}
		// A private room's new member gets a room_invite notification.
		ns, _, err := e.store.Notifications(context.Background(), newbie.user.ID, true, persist.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].Type != chat.NotifyRoomInvite || ns[0].RoomID != rs.room.ID || ns[0].Actor.ID != rs.admin.user.ID {
			t.Errorf("notifications = %+v", ns)
		}
		room := newbie.getRoom(rs.room.ID)
		if room.MyRole == nil || *room.MyRole != chat.RoleMember || *room.NotificationLevel != chat.LevelMentions {
			t.Errorf("new member's room = %+v", room)
		}
		// Adding an existing member: 200, no change, no event.
		rs.owner.mustJSON("POST", path, map[string]any{"user_id": newbie.user.ID}, http.StatusOK, &m)
		rs.owner.mustJSON("POST", path, map[string]any{"user_id": rs.admin.user.ID}, http.StatusOK, &m)
		if m.Role != chat.RoleAdmin {
			t.Errorf("re-adding the admin changed the role to %s", m.Role)
		}
		wantEvents(t, "re-add", rec.types())

		cases := []struct {
			label  string
			who    *client
			body   any
			status int
			code   chat.Code
		}{
			{"member adds", rs.member, map[string]any{"user_id": other.user.ID}, 403, chat.CodeForbidden},
			{"outsider adds", rs.outsider, map[string]any{"user_id": other.user.ID}, 404, chat.CodeNotFound},
			{"anonymous", e.anon(), map[string]any{"user_id": other.user.ID}, 401, chat.CodeUnauthorized},
			{"unknown user", rs.admin, map[string]any{"user_id": chat.NewID()}, 404, chat.CodeNotFound},
			{"user_id missing", rs.admin, map[string]any{}, 400, chat.CodeValidation},
			{"user_id not a UUID", rs.admin, map[string]any{"user_id": "x"}, 400, chat.CodeValidation},
			{"unknown field", rs.admin, map[string]any{"user_id": other.user.ID, "role": "admin"}, 400, chat.CodeBadRequest},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, "POST", path, tc.body, tc.status, tc.code)
		}
		rs.admin.tryCase(t, "bad room id", "POST", "/rooms/123/members", map[string]any{"user_id": other.user.ID}, 400, chat.CodeValidation)

		// Public room: admins add too, without a notification.
		pub := e.newRoomSetup(chat.RoomPublic)
		pub.outsider.tryCase(t, "outsider of public room adds", "POST", roomPath(pub.room.ID, "/members"),
			map[string]any{"user_id": other.user.ID}, 403, chat.CodeNotMember)
		pub.admin.addMember(pub.room.ID, other, http.StatusCreated)
		if n, _ := e.store.UnreadNotificationCount(context.Background(), other.user.ID); n != 0 {
			t.Errorf("public add notified: %d", n)
		}
	})
}

func TestMembersRemove(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		admin2, m2 := e.register("admin2"), e.register("m2")
		rs.owner.addMember(rs.room.ID, admin2, http.StatusCreated)
		rs.owner.setRole(rs.room.ID, admin2, chat.RoleAdmin, http.StatusOK)
		rs.owner.addMember(rs.room.ID, m2, http.StatusCreated)
		rec := e.recordRoom(rs.room.ID)
		del := func(u *client) string { return roomPath(rs.room.ID, "/members/"+u.user.ID.String()) }

		cases := []struct {
			label  string
			who    *client
			target string
			status int
			code   chat.Code
		}{
			{"member removes member", rs.member, del(m2), 403, chat.CodeForbidden},
			{"member removes owner", rs.member, del(rs.owner), 403, chat.CodeForbidden},
			{"admin removes owner", rs.admin, del(rs.owner), 403, chat.CodeForbidden},
			{"admin removes admin", rs.admin, del(admin2), 403, chat.CodeForbidden},
			{"admin removes self", rs.admin, del(rs.admin), 403, chat.CodeForbidden},
			{"owner removes self", rs.owner, del(rs.owner), 403, chat.CodeForbidden},
			{"outsider", rs.outsider, del(m2), 404, chat.CodeNotFound},
			{"anonymous", e.anon(), del(m2), 401, chat.CodeUnauthorized},
			{"not a member", rs.admin, del(rs.outsider), 404, chat.CodeNotFound},
			{"bad user id", rs.admin, roomPath(rs.room.ID, "/members/nope"), 400, chat.CodeValidation},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, "DELETE", tc.target, nil, tc.status, tc.code)
		}
		wantEvents(t, "refused removals", rec.types())

		rs.admin.tryCase(t, "admin removes member", "DELETE", del(m2), nil, 204, "")
		evs := rec.take()
		if len(evs) != 2 || evs[0].Type != node.EventUserLeft || evs[0].Data.(*UserLeftEvent).UserID != m2.user.ID {
			t.Errorf("remove events: %+v", evs)
		}
		m2.tryCase(t, "removed member reads", "GET", roomPath(rs.room.ID, ""), nil, 404, chat.CodeNotFound)
		m2.tryCase(t, "removed member sends", "POST", roomPath(rs.room.ID, "/messages"), map[string]any{"content": "hi"}, 404, chat.CodeNotFound)
		rs.owner.tryCase(t, "owner removes admin", "DELETE", del(admin2), nil, 204, "")
		rs.owner.tryCase(t, "removed twice", "DELETE", del(admin2), nil, 404, chat.CodeNotFound)
		texts := e.systemTexts(rs.room.ID)
		if want := rs.owner.user.Username + " removed " + admin2.user.Username; texts[len(texts)-1] != want {
			t.Errorf("system message %q, want %q", texts[len(texts)-1], want)
		}
		if got := rs.owner.getRoom(rs.room.ID).MemberCount; got != 3 {
			t.Errorf("member_count = %d, want 3", got)
		}
	})
}

func TestMembersRoleAndOwnership(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPublic)
		role := func(u *client) string { return roomPath(rs.room.ID, "/members/"+u.user.ID.String()+"/role") }
		cases := []struct {
			label  string
			who    *client
			path   string
			body   any
			status int
			code   chat.Code
		}{
			{"admin promotes", rs.admin, role(rs.member), map[string]any{"role": "admin"}, 403, chat.CodeForbidden},
			{"admin takes ownership", rs.admin, role(rs.admin), map[string]any{"role": "owner"}, 403, chat.CodeForbidden},
			{"member", rs.member, role(rs.member), map[string]any{"role": "admin"}, 403, chat.CodeForbidden},
			{"outsider", rs.outsider, role(rs.member), map[string]any{"role": "admin"}, 403, chat.CodeNotMember},
			{"anonymous", e.anon(), role(rs.member), map[string]any{"role": "admin"}, 401, chat.CodeUnauthorized},
			{"unknown role", rs.owner, role(rs.member), map[string]any{"role": "king"}, 400, chat.CodeValidation},
			{"missing role", rs.owner, role(rs.member), map[string]any{}, 400, chat.CodeValidation},
			{"non-member target", rs.owner, role(rs.outsider), map[string]any{"role": "admin"}, 404, chat.CodeNotFound},
			{"owner demotes self", rs.owner, role(rs.owner), map[string]any{"role": "admin"}, 409, chat.CodeOwnerMustTransfer},
			{"owner stays owner", rs.owner, role(rs.owner), map[string]any{"role": "owner"}, 200, ""},
			{"promote", rs.owner, role(rs.member), map[string]any{"role": "admin"}, 200, ""},
			{"demote", rs.owner, role(rs.member), map[string]any{"role": "member"}, 200, ""},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, "PATCH", tc.path, tc.body, tc.status, tc.code)
		}
		if got := rs.owner.memberRole(rs.room.ID, rs.member); got != chat.RoleMember {
			t.Errorf("member's role = %s", got)
		}

		// Transfer: the member becomes owner, the old owner admin.
		var m chat.Member
		rs.owner.mustJSON("PATCH", role(rs.member), map[string]any{"role": "owner"}, 200, &m)
		if m.Role != chat.RoleOwner || m.User.ID != rs.member.user.ID {
			t.Errorf("after transfer: %+v", m)
		}
		if got := rs.member.memberRole(rs.room.ID, rs.owner); got != chat.RoleAdmin {
			t.Errorf("old owner's role = %s, want admin", got)
		}
		if got := rs.owner.getRoom(rs.room.ID); *got.MyRole != chat.RoleAdmin {
			t.Errorf("old owner's my_role = %s", *got.MyRole)
		}
		// The old owner lost the owner's powers; the new owner has them.
		rs.owner.tryCase(t, "old owner deletes", "DELETE", roomPath(rs.room.ID, ""), nil, 403, chat.CodeForbidden)
		rs.owner.tryCase(t, "old owner may leave now", "POST", roomPath(rs.room.ID, "/leave"), nil, 204, "")
		rs.member.tryCase(t, "new owner must transfer to leave", "POST", roomPath(rs.room.ID, "/leave"), nil, 409, chat.CodeOwnerMustTransfer)
		rs.member.tryCase(t, "new owner removes admin", "DELETE", roomPath(rs.room.ID, "/members/"+rs.admin.user.ID.String()), nil, 204, "")

		a, b := e.register("dma"), e.register("dmb")
		dm := a.openDM(b, http.StatusCreated)
		a.tryCase(t, "DM role", "PATCH", roomPath(dm.ID, "/members/"+b.user.ID.String()+"/role"), map[string]any{"role": "owner"}, 403, chat.CodeForbidden)
		a.tryCase(t, "DM remove", "DELETE", roomPath(dm.ID, "/members/"+b.user.ID.String()), nil, 403, chat.CodeForbidden)
	})
}

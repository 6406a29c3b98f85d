package api

import (
	"math"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

var inviteCodeRE = regexp.MustCompile(`^[A-Za-z0-9]{8,12}$`)

// newInvite has c create an invite for room with body, expecting 201.
func (c *client) newInvite(room chat.ID, body any) chat.Invite {
	c.e.t.Helper()
	var inv chat.Invite
	c.mustJSON("POST", roomPath(room, "/invites"), body, http.StatusCreated, &inv)
	return inv
}

func TestInviteCreate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		before := e.api.cfg.Now()
		inv := rs.admin.newInvite(rs.room.ID, nil)
		if !inviteCodeRE.MatchString(inv.Code) || inv.RoomID != rs.room.ID || inv.CreatedBy != rs.admin.user.ID ||
			inv.MaxUses != nil || inv.Uses != 0 || inv.Revoked {
			t.Errorf("invite = %+v", inv)
		}
		if d := inv.ExpiresAt.Std().Sub(before.Std()); d < chat.InviteTTL || d > chat.InviteTTL+time.Minute {
			t.Errorf("default lifetime %v, want 7 days", d)
		}
		inv = rs.owner.newInvite(rs.room.ID, map[string]any{"max_uses": 1, "expires_in_seconds": 1})
		if inv.MaxUses == nil || *inv.MaxUses != 1 || inv.ExpiresAt.Std().Sub(inv.CreatedAt.Std()) != time.Second {
			t.Errorf("invite = %+v", inv)
		}
		// Any lifetime >= 1 s is accepted; absurd ones end at the last RFC 3339 instant.
		inv = rs.owner.newInvite(rs.room.ID, map[string]any{"expires_in_seconds": int64(math.MaxInt64)})
		if inv.ExpiresAt != inviteExpiryMax {
			t.Errorf("huge lifetime expires at %s", inv.ExpiresAt)
		}
		codes := map[string]bool{}
		for i := 0; i < 20; i++ {
			c := rs.owner.newInvite(rs.room.ID, "{}").Code
			if codes[c] || !inviteCodeRE.MatchString(c) {
				t.Errorf("code %q repeated or malformed", c)
			}
			codes[c] = true
		}

		path := roomPath(rs.room.ID, "/invites")
		cases := []struct {
			label  string
			who    *client
			body   any
			status int
			code   chat.Code
		}{
			{"max_uses 0", rs.admin, map[string]any{"max_uses": 0}, 400, chat.CodeValidation},
			{"max_uses -1", rs.admin, map[string]any{"max_uses": -1}, 400, chat.CodeValidation},
			{"max_uses too large", rs.admin, map[string]any{"max_uses": int64(math.MaxInt32) + 1}, 400, chat.CodeValidation},
			{"max_uses fraction", rs.admin, `{"max_uses": 1.5}`, 400, chat.CodeBadRequest},
			{"max_uses string", rs.admin, map[string]any{"max_uses": "3"}, 400, chat.CodeBadRequest},
			{"expires_in_seconds 0", rs.admin, map[string]any{"expires_in_seconds": 0}, 400, chat.CodeValidation},
			{"expires_in_seconds -5", rs.admin, map[string]any{"expires_in_seconds": -5}, 400, chat.CodeValidation},
			{"unknown field", rs.admin, map[string]any{"uses": 3}, 400, chat.CodeBadRequest},
			{"member", rs.member, nil, 403, chat.CodeForbidden},
			{"outsider of private room", rs.outsider, nil, 404, chat.CodeNotFound},
			{"anonymous", e.anon(), nil, 401, chat.CodeUnauthorized},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, "POST", path, tc.body, tc.status, tc.code)
		}
		pub := e.newRoomSetup(chat.RoomPublic)
		pub.outsider.tryCase(t, "outsider of public room", "POST", roomPath(pub.room.ID, "/invites"), nil, 403, chat.CodeNotMember)
	})
}

func TestInvitePreview(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		inv := rs.owner.newInvite(rs.room.ID, map[string]any{"expires_in_seconds": 60})
		var got struct {
			Code      string         `json:"code"`
			Room      map[string]any `json:"room"`
			ExpiresAt chat.Time      `json:"expires_at"`
			Valid     bool           `json:"valid"`
		}
		rs.outsider.mustJSON("GET", "/invites/"+inv.Code, nil, 200, &got)
		if got.Code != inv.Code || !got.Valid || got.ExpiresAt != inv.ExpiresAt || len(got.Room) != 5 ||
			got.Room["id"] != rs.room.ID.String() || got.Room["name"] != rs.room.Name || got.Room["type"] != "private" ||
			got.Room["member_count"] != float64(3) || got.Room["description"] != "" {
			t.Errorf("preview = %+v", got)
		}
		e.now.Store(61 * 1000) // a minute later
		rs.outsider.mustJSON("GET", "/invites/"+inv.Code, nil, 200, &got)
		if got.Valid {
			t.Errorf("expired invite previews as valid")
		}
		for _, code := range []string{"AAAAAAAA", "short", "waytoolongcode1", "bad-code!"} {
			rs.outsider.tryCase(t, "code "+code, "GET", "/invites/"+code, nil, 404, chat.CodeNotFound)
		}
		e.anon().tryCase(t, "anonymous", "GET", "/invites/"+inv.Code, nil, 401, chat.CodeUnauthorized)
	})
}

func TestInviteAccept(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		rec := e.recordRoom(rs.room.ID)
		inv := rs.owner.newInvite(rs.room.ID, map[string]any{"max_uses": 2})
		accept := "/invites/" + inv.Code + "/accept"

		var room chat.Room
		rs.outsider.mustJSON("POST", accept, nil, 200, &room)
		if room.ID != rs.room.ID || room.MyRole == nil || *room.MyRole != chat.RoleMember || room.MemberCount != 4 {
			t.Errorf("accepted room = %+v", room)
		}
		wantEvents(t, "accept", rec.types(), node.EventUserJoined, node.EventMessageCreated)
		texts := e.systemTexts(rs.room.ID)
		if want := rs.outsider.user.Username + " joined"; texts[len(texts)-1] != want {
			t.Errorf("system message %q, want %q", texts[len(texts)-1], want)
		}
		// A member accepting again: 200, no change, no use counted.
		rs.outsider.mustJSON("POST", accept, "{}", 200, nil)
		rs.member.mustJSON("POST", accept, nil, 200, nil)
		wantEvents(t, "accept again", rec.types())
		second := e.register("second")
		second.mustJSON("POST", accept, nil, 200, nil)
		// max_uses exhausted.
		third := e.register("third")
		third.tryCase(t, "used up", "POST", accept, nil, 409, chat.CodeInviteInvalid)
		third.tryCase(t, "not let in", "GET", roomPath(rs.room.ID, ""), nil, 404, chat.CodeNotFound)
		var preview struct {
			Valid bool `json:"valid"`
		}
		third.mustJSON("GET", "/invites/"+inv.Code, nil, 200, &preview)
		if preview.Valid {
			t.Errorf("used-up invite previews as valid")
		}

		// Expiry, through the API's clock.
		short := rs.owner.newInvite(rs.room.ID, map[string]any{"expires_in_seconds": 30})
		e.now.Store(31 * 1000)
		third.tryCase(t, "expired", "POST", "/invites/"+short.Code+"/accept", nil, 409, chat.CodeInviteInvalid)
		e.now.Store(0)
		third.mustJSON("POST", "/invites/"+short.Code+"/accept", nil, 200, nil)

		third.tryCase(t, "unknown code", "POST", "/invites/ZZZZZZZZZZ/accept", nil, 404, chat.CodeNotFound)
		third.tryCase(t, "body with a field", "POST", "/invites/"+short.Code+"/accept", map[string]any{"x": 1}, 400, chat.CodeBadRequest)
		e.anon().tryCase(t, "anonymous", "POST", accept, nil, 401, chat.CodeUnauthorized)

		// Public rooms take invites too.
		pub := e.newRoomSetup(chat.RoomPublic)
		code := pub.admin.newInvite(pub.room.ID, nil).Code
		pub.outsider.mustJSON("POST", "/invites/"+code+"/accept", nil, 200, nil)
		if r := pub.outsider.getRoom(pub.room.ID); r.MyRole == nil {
			t.Errorf("invite to public room did not join")
		}
	})
}

func TestInviteRevoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		rs := e.newRoomSetup(chat.RoomPrivate)
		inv := rs.owner.newInvite(rs.room.ID, nil)
		path := "/invites/" + inv.Code
		rs.member.tryCase(t, "member", "DELETE", path, nil, 403, chat.CodeForbidden)
		rs.outsider.tryCase(t, "outsider", "DELETE", path, nil, 403, chat.CodeForbidden)
		e.anon().tryCase(t, "anonymous", "DELETE", path, nil, 401, chat.CodeUnauthorized)
		rs.admin.tryCase(t, "unknown code", "DELETE", "/invites/ZZZZZZZZZZ", nil, 404, chat.CodeNotFound)
		rs.admin.tryCase(t, "admin revokes", "DELETE", path, nil, 204, "")
		rs.owner.tryCase(t, "revoke again", "DELETE", path, nil, 204, "")
		rs.outsider.tryCase(t, "accept revoked", "POST", path+"/accept", nil, 409, chat.CodeInviteInvalid)
		var preview struct {
			Valid bool `json:"valid"`
		}
		rs.outsider.mustJSON("GET", path, nil, 200, &preview)
		if preview.Valid {
			t.Errorf("revoked invite previews as valid")
		}
		// An invite whose room is deleted is gone.
		inv2 := rs.owner.newInvite(rs.room.ID, nil)
		rs.owner.mustJSON("DELETE", roomPath(rs.room.ID, ""), nil, 204, nil)
		rs.outsider.tryCase(t, "room deleted", "GET", "/invites/"+inv2.Code, nil, 404, chat.CodeNotFound)
	})
}

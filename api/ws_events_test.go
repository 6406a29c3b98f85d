package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
)

// TestWSEveryEvent drives every room and user event of the contract through REST and
// WebSocket commands and checks that a subscriber receives each, with its payload's
// identifying fields.
func TestWSEveryEvent(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		owner, bob, carol := e.register("evown"), e.register("evbob"), e.register("evcar")
		room := owner.newGroupRoom(chat.RoomPublic)
		bob.joinRoom(room.ID)
		cb, eb := bob.wsConnect(t)
		co, _ := owner.wsConnect(t)
		ctx := ctx5(t)
		if _, err := cb.Join(ctx, room.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := co.Join(ctx, room.ID); err != nil {
			t.Fatal(err)
		}
		// message_created (WS send), with a mention of bob: notification.
		msg, err := co.Send(ctx, room.ID, "hello @"+bob.user.Username)
		if err != nil {
			t.Fatal(err)
		}
		mid := msg.ID.String()
		owner.mustJSON("PUT", "/messages/"+mid, map[string]any{"content": "hello again @" + bob.user.Username}, http.StatusOK, nil)
		owner.mustJSON("POST", "/messages/"+mid+"/reactions", map[string]any{"emoji": "👍"}, http.StatusCreated, nil)
		owner.mustJSON("DELETE", "/messages/"+mid+"/reactions/"+url.PathEscape("👍"), nil, http.StatusOK, nil)
		if _, err := co.Do(ctx, "typing_start", map[string]any{"room_id": room.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := co.Do(ctx, "typing_stop", map[string]any{"room_id": room.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := co.Do(ctx, "read_message", map[string]any{"message_id": mid}); err != nil {
			t.Fatal(err)
		}
		carol.joinRoom(room.ID)
		carol.mustJSON("POST", roomPath(room.ID, "/leave"), nil, http.StatusNoContent, nil)
		owner.mustJSON("PUT", roomPath(room.ID, ""), map[string]any{"name": "renamed"}, http.StatusOK, nil)
		owner.mustJSON("DELETE", "/messages/"+mid, nil, http.StatusOK, nil)
		want := map[string]func(json.RawMessage) bool{
			"message_created":  hasField("room_id", room.ID.String()),
			"message_updated":  hasField("room_id", room.ID.String()),
			"reaction_added":   hasField("message_id", mid),
			"reaction_removed": hasField("message_id", mid),
			"user_typing":      hasField("user_id", owner.user.ID.String()),
			"read_receipt":     hasField("message_id", mid),
			"user_joined":      hasField("room_id", room.ID.String()),
			"user_left":        hasField("user_id", carol.user.ID.String()),
			"room_updated":     func(d json.RawMessage) bool { return len(d) > 0 },
			"message_deleted":  hasField("message_id", mid),
			"notification":     func(d json.RawMessage) bool { return len(d) > 0 },
			"presence_updated": hasField("user_id", owner.user.ID.String()),
		}
		for typ, check := range want {
			waitFor(t, typ, 5*time.Second, func() bool {
				for _, ev := range eb.of(typ) {
					if check(ev.Data) {
						return true
					}
				}
				return false
			})
		}
		// room_deleted last: it ends the room for every subscriber.
		owner.mustJSON("DELETE", roomPath(room.ID, ""), nil, http.StatusNoContent, nil)
		waitFor(t, "room_deleted", 5*time.Second, func() bool { return len(eb.of("room_deleted")) == 1 })
	})
}

// hasField checks that a payload's top-level field has value v.
func hasField(name, v string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var m map[string]any
		if json.Unmarshal(d, &m) != nil {
			return false
		}
		s, _ := m[name].(string)
		return s == v
	}
}

func TestWSTokenExpiryClosesSocket(t *testing.T) {
	e := newEnv(t, "embedded")
	u := e.register("wsexp")
	r, err := u.dialRaw(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.now.Store(int64((chat.TokenTTL + time.Minute) / time.Millisecond)) // the API's clock passes exp
	if code := r.closeCode(); code != ws.StatusPolicyViolation {
		t.Fatalf("expired token: close code %d, want 1008", code)
	}
}

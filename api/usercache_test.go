package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

// A profile changed through another node reaches this node's cache by
// EventUserChanged, so the next message shows the new name at once.
func TestUserCacheForgetsOnUserChanged(t *testing.T) {
	e := newEnv(t, "embedded")
	alice := e.register("ucache")
	room := alice.newGroupRoom(chat.RoomPublic)
	send := func(content string) chat.Message {
		t.Helper()
		var out chat.Message
		alice.mustJSON("POST", "/rooms/"+room.ID.String()+"/messages", map[string]any{"content": content}, http.StatusCreated, &out)
		return out
	}
	if m := send("first"); m.Sender.DisplayName != alice.user.DisplayName {
		t.Fatalf("sender %q, want %q", m.Sender.DisplayName, alice.user.DisplayName)
	}
	// Another node writes the store and publishes the event; this node only sees
	// the event.
	renamed := "Renamed Elsewhere"
	if _, err := e.store.UpdateUser(ctx5(t), alice.user.ID, persist.UserPatch{DisplayName: &renamed}); err != nil {
		t.Fatal(err)
	}
	if m := send("cached"); m.Sender.DisplayName != alice.user.DisplayName {
		t.Fatalf("before the event: sender %q, want the cached %q", m.Sender.DisplayName, alice.user.DisplayName)
	}
	e.node.Publish(&node.Event{Type: node.EventUserChanged, UserID: alice.user.ID})
	if m := send("after"); m.Sender.DisplayName != renamed {
		t.Fatalf("after the event: sender %q, want %q", m.Sender.DisplayName, renamed)
	}
}

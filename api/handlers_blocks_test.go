package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/chat"
)

// blockedNames lists the usernames c blocks.
func (c *client) blockedNames() []string {
	c.e.t.Helper()
	var page list[chat.User]
	c.mustJSON("GET", "/users/me/blocks", nil, http.StatusOK, &page)
	var out []string
	for _, u := range page.Items {
		out = append(out, u.Username)
	}
	return out
}

func TestBlocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice, bob, carol := e.registerAs("alice", "Alice"), e.registerAs("bob", "Bob"), e.registerAs("carol", "Carol")
		block := func(u *client) string { return "/users/" + u.user.ID.String() + "/block" }

		var u chat.User
		alice.mustJSON("POST", block(bob), nil, http.StatusOK, &u)
		if u.ID != bob.user.ID {
			t.Errorf("block answered %+v", u)
		}
		alice.mustJSON("POST", block(bob), "{}", http.StatusOK, nil) // repeated: 200, no change
		alice.mustJSON("POST", block(carol), nil, http.StatusOK, nil)
		if got := alice.blockedNames(); len(got) != 2 {
			t.Errorf("alice blocks %v", got)
		}
		if got := bob.blockedNames(); len(got) != 0 {
			t.Errorf("bob blocks %v", got)
		}
		var page list[chat.User]
		alice.mustJSON("GET", "/users/me/blocks?limit=1", nil, http.StatusOK, &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Errorf("first page of blocks: %+v", page)
		}

		cases := []struct {
			label        string
			method, path string
			status       int
			code         chat.Code
			who          *client
		}{
			{"block yourself", "POST", block(alice), 400, chat.CodeValidation, alice},
			{"block unknown user", "POST", "/users/" + chat.NewID().String() + "/block", 404, chat.CodeNotFound, alice},
			{"block bad uuid", "POST", "/users/bob/block", 400, chat.CodeValidation, alice},
			{"unblock not blocked", "DELETE", block(alice), 404, chat.CodeNotFound, bob},
			{"unblock bad uuid", "DELETE", "/users/x/block", 400, chat.CodeValidation, bob},
			{"block anonymous", "POST", block(bob), 401, chat.CodeUnauthorized, e.anon()},
			{"unblock anonymous", "DELETE", block(bob), 401, chat.CodeUnauthorized, e.anon()},
			{"list anonymous", "GET", "/users/me/blocks", 401, chat.CodeUnauthorized, e.anon()},
		}
		for _, tc := range cases {
			tc.who.tryCase(t, tc.label, tc.method, tc.path, nil, tc.status, tc.code)
		}
		alice.tryCase(t, "block with a body field", "POST", block(bob), map[string]any{"reason": "spam"}, 400, chat.CodeBadRequest)

		alice.tryCase(t, "unblock", "DELETE", block(carol), nil, http.StatusNoContent, "")
		alice.tryCase(t, "unblock again", "DELETE", block(carol), nil, 404, chat.CodeNotFound)
		if got := alice.blockedNames(); len(got) != 1 || got[0] != "bob" {
			t.Errorf("alice blocks %v after unblocking carol", got)
		}
	})
}

func TestBlocksAndDirectRooms(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice, bob := e.register("alice"), e.register("bob")
		dm := alice.openDM(bob, http.StatusCreated)
		send := roomPath(dm.ID, "/messages")
		bob.mustJSON("POST", send, map[string]any{"content": "hi alice"}, http.StatusCreated, nil)

		alice.mustJSON("POST", "/users/"+bob.user.ID.String()+"/block", nil, http.StatusOK, nil)
		bob.tryCase(t, "blocked sender in DM", "POST", send, map[string]any{"content": "hello?"}, 403, chat.CodeBlocked)
		bob.tryCase(t, "blocked opens DM", "POST", "/rooms", map[string]any{"type": "direct", "user_id": alice.user.ID}, 403, chat.CodeBlocked)
		alice.mustJSON("POST", send, map[string]any{"content": "the blocker may still write"}, http.StatusCreated, nil)

		alice.mustJSON("DELETE", "/users/"+bob.user.ID.String()+"/block", nil, http.StatusNoContent, nil)
		bob.mustJSON("POST", send, map[string]any{"content": "thanks"}, http.StatusCreated, nil)
		if again := bob.openDM(alice, http.StatusOK); again.ID != dm.ID {
			t.Errorf("reopened DM %s, want %s", again.ID, dm.ID)
		}
	})
}

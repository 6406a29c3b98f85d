package clustertest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/client"
)

// A WebSocket join is checked by the room's owner, across nodes: through every node
// a non-member of a private room gets the same 404 as for a room that does not
// exist, a non-member of a public room 403, and a member removed through one node
// is refused through the others at once.
func TestClusterJoinChecksAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := Start(t, Options{Nodes: 3})
	c.WaitForMembers(t, 3, 30*time.Second)
	owner := register(t, c.URL(0), "jown")
	var priv, pub chat.Room
	call(t, c.URL(0), owner.token, "POST", "/rooms", map[string]any{"name": "priv", "type": "private"}, &priv, http.StatusCreated)
	call(t, c.URL(0), owner.token, "POST", "/rooms", map[string]any{"name": "pub", "type": "public"}, &pub, http.StatusCreated)
	member, outsider := register(t, c.URL(1), "jmem"), register(t, c.URL(2), "jout")
	call(t, c.URL(0), owner.token, "POST", "/rooms/"+priv.ID.String()+"/members", map[string]any{"user_id": member.id}, nil, http.StatusCreated)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	join := func(u user, node int, room chat.ID) error {
		t.Helper()
		cl := client.New(client.Config{URL: c.URL(node), Token: u.token})
		defer cl.Close()
		_, err := cl.Join(ctx, room)
		return err
	}
	codeOf := func(err error) (chat.Code, string) {
		var e *chat.Error
		if errors.As(err, &e) {
			return e.Code, e.Message
		}
		return "", ""
	}
	for node := 0; node < 3; node++ {
		if err := join(member, node, priv.ID); err != nil {
			t.Fatalf("member joins through node %d: %v", node, err)
		}
		code, msg := codeOf(join(outsider, node, priv.ID))
		ghostCode, ghostMsg := codeOf(join(outsider, node, chat.NewID()))
		if code != chat.CodeNotFound || code != ghostCode || msg != ghostMsg {
			t.Fatalf("node %d: outsider of a private room got %s %q, of no room %s %q: want the same not_found",
				node, code, msg, ghostCode, ghostMsg)
		}
		if code, _ := codeOf(join(outsider, node, pub.ID)); code != chat.CodeNotMember {
			t.Fatalf("node %d: outsider of a public room got %q, want not_member", node, code)
		}
	}
	// Removed through node 0; every node refuses a join within the contract's second
	// (the room change travels to every node's cache over the peer links).
	call(t, c.URL(0), owner.token, "DELETE", "/rooms/"+priv.ID.String()+"/members/"+member.id.String(), nil, nil, http.StatusNoContent)
	deadline := time.Now().Add(time.Second)
	for node := 0; node < 3; node++ {
		for {
			code, _ := codeOf(join(member, node, priv.ID))
			if code == chat.CodeNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("removed member joins through node %d a second later: got %q, want not_found", node, code)
			}
		}
	}
}

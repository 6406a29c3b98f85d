package node

import (
	"context"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

func TestCheckMember(t *testing.T) {
	eachStore(t, Config{Name: "n1"}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		owner, member, outsider := newUser(t, s), newUser(t, s), newUser(t, s)
		pub := newRoom(t, s, chat.RoomPublic, owner, member)
		priv := newRoom(t, s, chat.RoomPrivate, owner, member)
		cases := []struct {
			name string
			room chat.ID
			user chat.User
			want chat.Code
		}{
			{"member of public", pub, member, ""},
			{"member of private", priv, member, ""},
			{"outsider of public", pub, outsider, chat.CodeNotMember},
			{"outsider of private", priv, outsider, chat.CodeNotFound},
			{"no such room", chat.NewID(), member, chat.CodeNotFound},
		}
		for _, tc := range cases {
			if got := codeOf(n.CheckMember(ctx, tc.room, tc.user.ID)); got != tc.want {
				t.Errorf("%s: code %q, want %q", tc.name, got, tc.want)
			}
		}
		n.mu.Lock()
		held := len(n.rooms)
		n.mu.Unlock()
		if held != 2 {
			t.Errorf("room map holds %d rooms, want 2: a made-up room id must not stay", held)
		}

		// The owner cached "not a member" for outsider; a join through another node
		// whose RoomChanged has not arrived yet must not be refused from that cache.
		if _, err := s.AddMember(ctx, priv, outsider.ID, chat.RoleMember, chat.LevelMentions, chat.Now()); err != nil {
			t.Fatal(err)
		}
		if err := n.CheckMember(ctx, priv, outsider.ID); err != nil {
			t.Errorf("after joining, without RoomChanged: %v", err)
		}
		// A removal is seen once RoomChanged has reached the owner.
		if _, err := s.RemoveMember(ctx, priv, member.ID); err != nil {
			t.Fatal(err)
		}
		n.RoomChanged(priv)
		if got := codeOf(n.CheckMember(ctx, priv, member.ID)); got != chat.CodeNotFound {
			t.Errorf("after removal: code %q, want not_found", got)
		}
	})
}

package api

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func TestReactions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		ev := e.subscribe(sc.room)
		m := e.seed(sc.room, sc.owner, 1)[0]
		path := "/messages/" + m.ID.String() + "/reactions"
		group := func(msg chat.Message, emoji string) chat.ReactionGroup {
			for _, g := range msg.Reactions {
				if g.Emoji == emoji {
					return g
				}
			}
			return chat.ReactionGroup{}
		}
		var got chat.Message
		sc.member.mustJSON("POST", path, map[string]string{"emoji": "👍"}, http.StatusCreated, &got)
		if g := group(got, "👍"); g.Count != 1 || !g.Me {
			t.Fatalf("reactions %+v", got.Reactions)
		}
		added := ev.last(t, node.EventReactionAdded)
		if d, ok := added.Data.(*ReactionAddedEvent); !ok || d.User.ID != sc.member.user.ID || d.Emoji != "👍" || d.MessageID != m.ID || d.RoomID != sc.room {
			t.Fatalf("reaction_added %#v", added.Data)
		}
		sc.member.mustError("POST", path, map[string]string{"emoji": "👍"}, http.StatusConflict, chat.CodeReactionExists)
		sc.admin.mustJSON("POST", path, map[string]string{"emoji": "👍"}, http.StatusCreated, &got)
		if g := group(got, "👍"); g.Count != 2 || !g.Me {
			t.Fatalf("reactions %+v", got.Reactions)
		}
		family := "👨‍👩‍👧‍👦"
		sc.admin.mustJSON("POST", path, map[string]string{"emoji": family}, http.StatusCreated, nil)
		for _, tc := range []struct {
			name string
			body any
			code chat.Code
		}{
			{"text", map[string]string{"emoji": "ok"}, chat.CodeValidation},
			{"two emoji", map[string]string{"emoji": "👍👍"}, chat.CodeValidation},
			{"empty", map[string]string{"emoji": ""}, chat.CodeValidation},
			{"missing body", "", chat.CodeBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) { sc.member.mustError("POST", path, tc.body, http.StatusBadRequest, tc.code) })
		}

		// Removal: the emoji URL-encoded in the path.
		sc.owner.mustError("DELETE", path+"/"+url.PathEscape("👍"), nil, http.StatusNotFound, chat.CodeNotFound)
		sc.admin.mustJSON("DELETE", path+"/"+url.PathEscape(family), nil, http.StatusOK, &got)
		if g := group(got, family); g.Count != 0 {
			t.Fatalf("reaction not removed: %+v", got.Reactions)
		}
		sc.member.mustJSON("DELETE", path+"/"+url.PathEscape("👍"), nil, http.StatusOK, &got)
		if g := group(got, "👍"); g.Count != 1 || g.Me {
			t.Fatalf("after removal, reactions %+v (as seen by the remover)", got.Reactions)
		}
		removed := ev.last(t, node.EventReactionRemoved)
		if d, ok := removed.Data.(*ReactionRemovedEvent); !ok || d.UserID != sc.member.user.ID || d.Emoji != "👍" || d.MessageID != m.ID {
			t.Fatalf("reaction_removed %#v", removed.Data)
		}
		sc.member.mustError("DELETE", path+"/"+url.PathEscape("👍"), nil, http.StatusNotFound, chat.CodeNotFound)
		sc.member.mustError("DELETE", path+"/nope", nil, http.StatusBadRequest, chat.CodeValidation)
		sc.outsider.mustError("DELETE", path+"/"+url.PathEscape("👍"), nil, http.StatusForbidden, chat.CodeNotMember)

		t.Run("system messages take reactions", func(t *testing.T) {
			sys := e.seedSystem(sc.room, sc.admin)
			sc.member.mustJSON("POST", "/messages/"+sys.ID.String()+"/reactions", map[string]string{"emoji": "👋"}, http.StatusCreated, nil)
		})
		t.Run("deleted messages do not", func(t *testing.T) {
			sc.owner.mustJSON("DELETE", "/messages/"+m.ID.String(), nil, http.StatusOK, nil)
			sc.member.mustError("POST", path, map[string]string{"emoji": "😀"}, http.StatusConflict, chat.CodeConflict)
			sc.admin.mustError("DELETE", path+"/"+url.PathEscape("👍"), nil, http.StatusNotFound, chat.CodeNotFound)
		})
	})
}

func TestReactionRestrictions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		sc := newScene(e, chat.RoomPublic)
		m := e.seed(sc.room, sc.owner, 1)[0]
		if err := e.store.SetMute(ctx, sc.room, sc.member.user.ID, ptr(chat.Forever)); err != nil {
			t.Fatal(err)
		}
		sc.member.mustError("POST", "/messages/"+m.ID.String()+"/reactions", map[string]string{"emoji": "👍"}, http.StatusForbidden, chat.CodeMuted)

		a, b := e.register("ra"), e.register("rb")
		dm := e.makeDM(a, b)
		dmMsg := e.seed(dm, b, 1)[0]
		if _, err := e.store.Block(ctx, b.user.ID, a.user.ID, chat.Now()); err != nil {
			t.Fatal(err)
		}
		a.mustError("POST", "/messages/"+dmMsg.ID.String()+"/reactions", map[string]string{"emoji": "👍"}, http.StatusForbidden, chat.CodeBlocked)
		b.mustJSON("POST", "/messages/"+dmMsg.ID.String()+"/reactions", map[string]string{"emoji": "👍"}, http.StatusCreated, nil)

		priv := newScene(e, chat.RoomPrivate)
		pm := e.seed(priv.room, priv.owner, 1)[0]
		priv.outsider.mustError("POST", "/messages/"+pm.ID.String()+"/reactions", map[string]string{"emoji": "👍"}, http.StatusNotFound, chat.CodeNotFound)
	})
}

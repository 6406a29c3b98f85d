package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/chat"
)

// Refused sends do not count against the rate limit: a muted member who keeps trying
// can send the full allowance as soon as the mute is lifted.
func TestRefusedSendsDoNotCount(t *testing.T) {
	e := newEnv(t, "embedded")
	owner, member := e.register("rfown"), e.register("rfmem")
	room := owner.newGroupRoom(chat.RoomPublic)
	member.joinRoom(room.ID)
	mutes := roomPath(room.ID, "/mutes/"+member.user.ID.String())
	owner.mustJSON("POST", mutes, map[string]any{}, http.StatusOK, nil)
	for i := 0; i < 2*chat.SendLimit; i++ {
		member.mustError("POST", roomPath(room.ID, "/messages"), map[string]any{"content": "let me talk"}, http.StatusForbidden, chat.CodeMuted)
	}
	owner.mustJSON("DELETE", mutes, nil, http.StatusNoContent, nil)
	for i := 0; i < chat.SendLimit; i++ {
		member.mustJSON("POST", roomPath(room.ID, "/messages"), map[string]any{"content": "finally"}, http.StatusCreated, nil)
	}
	member.mustError("POST", roomPath(room.ID, "/messages"), map[string]any{"content": "one more"}, http.StatusTooManyRequests, chat.CodeRateLimited)
}

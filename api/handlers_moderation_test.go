package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func TestPins(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		msgs := e.seed(sc.room, sc.member, 2)
		pinPath := func(m *chat.Message) string { return "/rooms/" + sc.room.String() + "/pins/" + m.ID.String() }
		list := func(c *client) []chat.Pin {
			t.Helper()
			var out struct {
				Items []chat.Pin `json:"items"`
			}
			c.mustJSON("GET", "/rooms/"+sc.room.String()+"/pins", nil, http.StatusOK, &out)
			return out.Items
		}
		if pins := list(sc.member); pins == nil || len(pins) != 0 {
			t.Fatalf("pins of a fresh room: %+v", pins)
		}
		var pin chat.Pin
		sc.admin.mustJSON("POST", pinPath(msgs[0]), nil, http.StatusCreated, &pin)
		if pin.Message.ID != msgs[0].ID || pin.PinnedBy.ID != sc.admin.user.ID || pin.PinnedAt == 0 {
			t.Fatalf("pin %+v", pin)
		}
		var again chat.Pin
		sc.owner.mustJSON("POST", pinPath(msgs[0]), "{}", http.StatusOK, &again)
		if again.PinnedBy.ID != sc.admin.user.ID {
			t.Fatalf("pinning again changed the pin: %+v", again)
		}
		sc.owner.mustJSON("POST", pinPath(msgs[1]), nil, http.StatusCreated, nil)
		if pins := list(sc.member); len(pins) != 2 {
			t.Fatalf("%d pins, want 2", len(pins))
		}
		other := e.makeRoom(sc.owner, chat.RoomPublic)
		foreign := e.seed(other, sc.owner, 1)[0]
		priv := newScene(e, chat.RoomPrivate)
		for _, tc := range []struct {
			name, method, path string
			c                  *client
			status             int
			code               chat.Code
		}{
			{"member pins", "POST", pinPath(msgs[1]), sc.member, 403, chat.CodeForbidden},
			{"member unpins", "DELETE", pinPath(msgs[1]), sc.member, 403, chat.CodeForbidden},
			{"outsider lists", "GET", "/rooms/" + sc.room.String() + "/pins", sc.outsider, 403, chat.CodeNotMember},
			{"outsider of private lists", "GET", "/rooms/" + priv.room.String() + "/pins", priv.outsider, 404, chat.CodeNotFound},
			{"anonymous lists", "GET", "/rooms/" + sc.room.String() + "/pins", sc.anon, 401, chat.CodeUnauthorized},
			{"message of another room", "POST", "/rooms/" + sc.room.String() + "/pins/" + foreign.ID.String(), sc.owner, 404, chat.CodeNotFound},
			{"unknown message", "POST", "/rooms/" + sc.room.String() + "/pins/" + chat.NewID().String(), sc.owner, 404, chat.CodeNotFound},
			{"bad message id", "POST", "/rooms/" + sc.room.String() + "/pins/x", sc.owner, 400, chat.CodeValidation},
			{"unknown field", "POST", pinPath(msgs[1]), sc.owner, 400, chat.CodeBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.name == "unknown field" {
					body = map[string]int{"x": 1}
				}
				tc.c.mustError(tc.method, tc.path, body, tc.status, tc.code)
			})
		}
		sc.admin.mustJSON("DELETE", pinPath(msgs[0]), nil, http.StatusNoContent, nil)
		sc.admin.mustError("DELETE", pinPath(msgs[0]), nil, http.StatusNotFound, chat.CodeNotFound)
		if pins := list(sc.owner); len(pins) != 1 || pins[0].Message.ID != msgs[1].ID {
			t.Fatalf("pins after unpinning: %+v", pins)
		}
		sc.owner.mustJSON("DELETE", "/messages/"+msgs[1].ID.String(), nil, http.StatusOK, nil)
		sc.owner.mustError("POST", pinPath(msgs[1]), nil, http.StatusConflict, chat.CodeConflict)
	})
}

func TestMutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited() // sends the owner refuses (muted) use rate-limit slots
		sc := newScene(e, chat.RoomPublic)
		admin2 := e.register("adm")
		e.addMember(sc.room, admin2, chat.RoleAdmin)
		mutePath := func(c *client) string { return "/rooms/" + sc.room.String() + "/mutes/" + c.user.ID.String() }
		sendPath := "/rooms/" + sc.room.String() + "/messages"

		var m chat.Member
		sc.admin.mustJSON("POST", mutePath(sc.member), nil, http.StatusOK, &m)
		if !m.Muted || m.User.ID != sc.member.user.ID {
			t.Fatalf("muted member %+v", m)
		}
		sc.member.mustError("POST", sendPath, map[string]string{"content": "hi"}, http.StatusForbidden, chat.CodeMuted)
		sc.admin.mustJSON("DELETE", mutePath(sc.member), nil, http.StatusNoContent, nil)
		sc.member.send(sc.room, "free again", http.StatusCreated)

		for _, tc := range []struct {
			name   string
			actor  *client
			target *client
			body   any
			status int
			code   chat.Code
		}{
			{"duration 0", sc.admin, sc.member, map[string]int{"duration_seconds": 0}, 400, chat.CodeValidation},
			{"negative duration", sc.admin, sc.member, map[string]int{"duration_seconds": -5}, 400, chat.CodeValidation},
			{"duration not a number", sc.admin, sc.member, map[string]string{"duration_seconds": "60"}, 400, chat.CodeBadRequest},
			{"member mutes", sc.member, sc.admin, nil, 403, chat.CodeForbidden},
			{"admin mutes the owner", sc.admin, sc.owner, nil, 403, chat.CodeForbidden},
			{"owner mutes themself", sc.owner, sc.owner, nil, 403, chat.CodeForbidden},
			{"admin mutes an admin", sc.admin, admin2, nil, 403, chat.CodeForbidden},
			{"outsider is not a member", sc.admin, sc.outsider, nil, 404, chat.CodeNotFound},
			{"outsider mutes", sc.outsider, sc.member, nil, 403, chat.CodeNotMember},
			{"anonymous", sc.anon, sc.member, nil, 401, chat.CodeUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.actor.mustError("POST", mutePath(tc.target), tc.body, tc.status, tc.code) })
		}
		sc.admin.mustError("DELETE", mutePath(admin2), nil, http.StatusForbidden, chat.CodeForbidden)

		t.Run("the owner mutes an admin", func(t *testing.T) {
			sc.owner.mustJSON("POST", mutePath(admin2), map[string]int{"duration_seconds": 3600}, http.StatusOK, &m)
			if !m.Muted || m.MutedUntil == nil || m.MutedUntil.Std().Sub(time.Now()) < 59*time.Minute {
				t.Fatalf("muted admin %+v", m)
			}
			admin2.mustError("POST", sendPath, map[string]string{"content": "hi"}, http.StatusForbidden, chat.CodeMuted)
			sc.owner.mustJSON("DELETE", mutePath(admin2), nil, http.StatusNoContent, nil)
			admin2.send(sc.room, "hi", http.StatusCreated)
		})
		t.Run("a mute expires", func(t *testing.T) {
			sc.admin.mustJSON("POST", mutePath(sc.member), map[string]int{"duration_seconds": 1}, http.StatusOK, nil)
			sc.member.mustError("POST", sendPath, map[string]string{"content": "hi"}, http.StatusForbidden, chat.CodeMuted)
			deadline := time.Now().Add(5 * time.Second)
			for {
				status, body, _ := sc.member.do("POST", sendPath, map[string]string{"content": "later"})
				if status == http.StatusCreated {
					break
				}
				if status != http.StatusForbidden || time.Now().After(deadline) {
					t.Fatalf("after the mute's expiry: %d %s", status, body)
				}
				time.Sleep(100 * time.Millisecond) // polling the expiry of a real-time mute
			}
		})
		t.Run("huge duration", func(t *testing.T) {
			sc.admin.mustJSON("POST", mutePath(sc.member), map[string]int64{"duration_seconds": 1 << 62}, http.StatusOK, &m)
			if !m.Muted {
				t.Fatalf("member %+v", m)
			}
		})
	})
}

func TestReports(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		sc := newScene(e, chat.RoomPublic)
		ev := e.subscribe(sc.room)
		msgs := e.seed(sc.room, sc.owner, 3)
		reportPath := func(m *chat.Message) string { return "/messages/" + m.ID.String() + "/report" }
		listPath := "/rooms/" + sc.room.String() + "/reports"

		var rep chat.Report
		sc.member.mustJSON("POST", reportPath(msgs[0]), map[string]string{"reason": "spam"}, http.StatusCreated, &rep)
		if rep.Status != chat.ReportOpen || rep.Reason != "spam" || rep.Reporter.ID != sc.member.user.ID || rep.RoomID != sc.room ||
			rep.Message == nil || rep.Message.ID != msgs[0].ID {
			t.Fatalf("report %+v", rep)
		}
		var rep2 chat.Report
		sc.member.mustJSON("POST", reportPath(msgs[1]), map[string]string{"reason": "rude"}, http.StatusCreated, &rep2)

		for _, tc := range []struct {
			name   string
			c      *client
			path   string
			body   any
			status int
			code   chat.Code
		}{
			{"blank reason", sc.member, reportPath(msgs[2]), map[string]string{"reason": " "}, 400, chat.CodeValidation},
			{"no body", sc.member, reportPath(msgs[2]), "", 400, chat.CodeBadRequest},
			{"outsider", sc.outsider, reportPath(msgs[2]), map[string]string{"reason": "x"}, 403, chat.CodeNotMember},
			{"unknown message", sc.member, "/messages/" + chat.NewID().String() + "/report", map[string]string{"reason": "x"}, 404, chat.CodeNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.c.mustError("POST", tc.path, tc.body, tc.status, tc.code) })
		}

		list := func(query string) []chat.Report {
			t.Helper()
			var out struct {
				Items []chat.Report `json:"items"`
			}
			sc.admin.mustJSON("GET", listPath+query, nil, http.StatusOK, &out)
			return out.Items
		}
		if got := list("?status=open"); len(got) != 2 || got[0].ID != rep2.ID {
			t.Fatalf("open reports (newest first) %+v", got)
		}
		sc.member.mustError("GET", listPath, nil, http.StatusForbidden, chat.CodeForbidden)
		sc.admin.mustError("GET", listPath+"?status=closed", nil, http.StatusBadRequest, chat.CodeValidation)

		review := func(c *client, id chat.ID, body any, status int) chat.Report {
			t.Helper()
			var out chat.Report
			c.mustJSON("PATCH", "/reports/"+id.String(), body, status, &out)
			return out
		}
		for _, tc := range []struct {
			name   string
			c      *client
			body   any
			status int
			code   chat.Code
		}{
			{"dismissed with delete", sc.admin, map[string]any{"status": "dismissed", "delete_message": true}, 400, chat.CodeValidation},
			{"back to open", sc.admin, map[string]any{"status": "open"}, 400, chat.CodeValidation},
			{"no status", sc.admin, map[string]any{}, 400, chat.CodeValidation},
			{"member", sc.member, map[string]any{"status": "resolved"}, 403, chat.CodeForbidden},
			{"outsider", sc.outsider, map[string]any{"status": "resolved"}, 404, chat.CodeNotFound},
		} {
			t.Run("review/"+tc.name, func(t *testing.T) {
				tc.c.mustError("PATCH", "/reports/"+rep.ID.String(), tc.body, tc.status, tc.code)
			})
		}
		sc.admin.mustError("PATCH", "/reports/"+chat.NewID().String(), map[string]any{"status": "resolved"}, 404, chat.CodeNotFound)

		got := review(sc.admin, rep2.ID, map[string]any{"status": "dismissed"}, http.StatusOK)
		if got.Status != chat.ReportDismissed || got.Message == nil {
			t.Fatalf("dismissed report %+v", got)
		}
		got = review(sc.owner, rep.ID, map[string]any{"status": "resolved", "delete_message": true}, http.StatusOK)
		if got.Status != chat.ReportResolved || got.Message != nil {
			t.Fatalf("resolved report with its message deleted %+v", got)
		}
		if d, ok := ev.last(t, node.EventMessageDeleted).Data.(*node.MessageDeletedEvent); !ok || d.MessageID != msgs[0].ID {
			t.Fatal("deleting the reported message published no message_deleted")
		}
		for _, m := range sc.member.history(sc.room) {
			if m.ID == msgs[0].ID && !m.Deleted {
				t.Fatal("reported message not deleted")
			}
		}
		if r := list("?status=resolved"); len(r) != 1 || r[0].ID != rep.ID {
			t.Fatalf("resolved reports %+v", r)
		}
		if r := list(""); len(r) != 2 {
			t.Fatalf("all reports %+v", r)
		}
		sc.member.mustError("POST", reportPath(msgs[0]), map[string]string{"reason": "again"}, http.StatusConflict, chat.CodeConflict)
	})
}

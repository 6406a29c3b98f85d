package api

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestGetUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice, bob := e.registerAs("alice", "Alice"), e.registerAs("bob", "Bob")
		var u chat.User
		bob.mustJSON("GET", "/users/"+alice.user.ID.String(), nil, 200, &u)
		if u.ID != alice.user.ID || u.Username != "alice" || u.DisplayName != "Alice" || u.Status != chat.StatusOnline || u.CreatedAt == 0 {
			t.Errorf("user = %+v", u)
		}
		alice.mustJSON("GET", "/users/me", nil, 200, &u)
		if u.ID != alice.user.ID {
			t.Errorf("/users/me = %+v", u)
		}
		bob.tryCase(t, "unknown", "GET", "/users/"+chat.NewID().String(), nil, 404, chat.CodeNotFound)
		bob.tryCase(t, "bad uuid", "GET", "/users/alice", nil, 400, chat.CodeValidation)
		e.anon().tryCase(t, "anonymous", "GET", "/users/"+alice.user.ID.String(), nil, 401, chat.CodeUnauthorized)
	})
}

func TestSearchUsers(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		me := e.registerAs("searcher", "Searcher")
		e.registerAs("samantha", "Sam Carter")
		e.registerAs("sammy_2", "Zed")
		e.registerAs("zack", "samurai jack")
		e.registerAs("bob", "Bob Sam")
		names := func(q string) []string {
			t.Helper()
			var page list[chat.User]
			me.mustJSON("GET", "/users/search?q="+url.QueryEscape(q), nil, 200, &page)
			var out []string
			for _, u := range page.Items {
				out = append(out, u.Username)
			}
			return out
		}
		cases := []struct {
			q    string
			want string
		}{
			{"sam", "samantha sammy_2 zack"}, // username or display name prefix, case-insensitive, by username
			{"SAMM", "sammy_2"},
			{"zed", "sammy_2"},
			{"z", "sammy_2 zack"},
			{" bob ", "bob"},
			{"carter", ""}, // a prefix, not a substring
			{"nobody", ""},
		}
		for _, tc := range cases {
			if got := strings.Join(names(tc.q), " "); got != tc.want {
				t.Errorf("q=%q: %q, want %q", tc.q, got, tc.want)
			}
		}
		// Cursor pagination.
		var seen []string
		cursor := ""
		for i := 0; i < 10; i++ {
			var page list[chat.User]
			me.mustJSON("GET", "/users/search?q=sam&limit=1&cursor="+url.QueryEscape(cursor), nil, 200, &page)
			for _, u := range page.Items {
				seen = append(seen, u.Username)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(seen, " ") != "samantha sammy_2 zack" {
			t.Errorf("paged search = %v", seen)
		}
		for _, q := range []string{"", "q=", "q=%20%20", "q=" + strings.Repeat("a", 101), "q=%ff", "q=sam&limit=0", "q=sam&limit=101"} {
			me.tryCase(t, "search "+q, "GET", "/users/search?"+q, nil, 400, chat.CodeValidation)
		}
		e.anon().tryCase(t, "anonymous", "GET", "/users/search?q=sam", nil, 401, chat.CodeUnauthorized)
	})
}

func TestUpdateMe(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		me, other := e.registerAs("patcher", "Patcher"), e.register("viewer")
		cases := []struct {
			label  string
			body   any
			status int
			code   chat.Code
		}{
			{"display name 50", map[string]any{"display_name": strings.Repeat("é", 50)}, 200, ""},
			{"display name 51", map[string]any{"display_name": strings.Repeat("é", 51)}, 400, chat.CodeValidation},
			{"display name empty", map[string]any{"display_name": ""}, 400, chat.CodeValidation},
			{"display name blank", map[string]any{"display_name": " "}, 400, chat.CodeValidation},
			{"status message 100", map[string]any{"status_message": strings.Repeat("s", 100)}, 200, ""},
			{"status message 101", map[string]any{"status_message": strings.Repeat("s", 101)}, 400, chat.CodeValidation},
			{"status message empty", map[string]any{"status_message": ""}, 200, ""},
			{"status away", map[string]any{"status": "away"}, 200, ""},
			{"status offline", map[string]any{"status": "offline"}, 200, ""},
			{"status unknown", map[string]any{"status": "sleeping"}, 400, chat.CodeValidation},
			{"avatar https", map[string]any{"avatar_url": "https://example.com/a.png"}, 200, ""},
			{"avatar javascript", map[string]any{"avatar_url": "javascript:alert(1)"}, 400, chat.CodeValidation},
			{"avatar with quote", map[string]any{"avatar_url": `https://x.test/"onerror=`}, 400, chat.CodeValidation},
			{"avatar cleared", map[string]any{"avatar_url": ""}, 200, ""},
			{"empty patch", map[string]any{}, 200, ""},
			{"null fields", `{"display_name": null, "status": null}`, 200, ""},
			{"unknown field", map[string]any{"username": "renamed"}, 400, chat.CodeBadRequest},
			{"wrong type", map[string]any{"status_message": 5}, 400, chat.CodeBadRequest},
			{"malformed JSON", `{"status": "away"`, 400, chat.CodeBadRequest},
			{"empty body", "", 400, chat.CodeBadRequest},
			{"oversized body", `{"status_message": "` + strings.Repeat("x", chat.MaxBody) + `"}`, 413, chat.CodeTooLarge},
		}
		for _, tc := range cases {
			me.tryCase(t, tc.label, "PATCH", "/users/me", tc.body, tc.status, tc.code)
		}
		var u chat.User
		me.mustJSON("PATCH", "/users/me", map[string]any{
			"display_name": "New Name", "status": "busy", "status_message": "in a meeting", "avatar_url": "https://x.test/me.png",
		}, 200, &u)
		if u.DisplayName != "New Name" || u.Status != chat.StatusBusy || u.StatusMessage != "in a meeting" ||
			u.AvatarURL != "https://x.test/me.png" || u.Username != "patcher" {
			t.Errorf("patched user = %+v", u)
		}
		// Others see the change; an absent field stays.
		me.mustJSON("PATCH", "/users/me", map[string]any{"status_message": ""}, 200, nil)
		other.mustJSON("GET", "/users/"+me.user.ID.String(), nil, 200, &u)
		if u.DisplayName != "New Name" || u.Status != chat.StatusBusy || u.StatusMessage != "" {
			t.Errorf("others see %+v", u)
		}
		e.anon().tryCase(t, "anonymous", "PATCH", "/users/me", map[string]any{}, 401, chat.CodeUnauthorized)
	})
}

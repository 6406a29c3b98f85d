package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// sessionBody is the answer of register and login.
type sessionBody struct {
	Token     string    `json:"token"`
	ExpiresAt chat.Time `json:"expires_at"`
	User      chat.User `json:"user"`
}

// registerAs registers username with displayName and password "password-<username>".
func (e *testEnv) registerAs(username, displayName string) *client {
	e.t.Helper()
	var out sessionBody
	e.anon().mustJSON("POST", "/auth/register", map[string]any{
		"username": username, "password": "password-" + username, "display_name": displayName,
	}, http.StatusCreated, &out)
	return &client{e: e, token: out.Token, user: out.User}
}

// login signs username in, expecting 200.
func (e *testEnv) login(username, password string) *client {
	e.t.Helper()
	var out sessionBody
	e.anon().mustJSON("POST", "/auth/login", map[string]any{"username": username, "password": password}, http.StatusOK, &out)
	return &client{e: e, token: out.Token, user: out.User}
}

func TestRegister(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		var out sessionBody
		before := e.api.cfg.Now()
		e.anon().mustJSON("POST", "/auth/register", map[string]any{
			"username": "Alice_1", "password": "correct horse", "display_name": "Alice A.",
		}, http.StatusCreated, &out)
		u := out.User
		if out.Token == "" || u.Username != "Alice_1" || u.DisplayName != "Alice A." || u.Status != chat.StatusOnline ||
			u.AvatarURL != "" || u.StatusMessage != "" || u.ID == chat.NilID || u.CreatedAt < before {
			t.Errorf("register answered %+v", out)
		}
		if d := out.ExpiresAt.Std().Sub(before.Std()); d < chat.TokenTTL-time.Minute || d > chat.TokenTTL+time.Minute {
			t.Errorf("token lives %v, want 24h", d)
		}
		me := &client{e: e, token: out.Token}
		var got chat.User
		me.mustJSON("GET", "/auth/me", nil, http.StatusOK, &got)
		if got.ID != u.ID || got.Username != "Alice_1" {
			t.Errorf("me = %+v", got)
		}
		// Usernames are unique case-insensitively.
		for _, name := range []string{"Alice_1", "alice_1", "ALICE_1"} {
			e.anon().tryCase(t, "taken "+name, "POST", "/auth/register",
				map[string]any{"username": name, "password": "password1", "display_name": "x"}, 409, chat.CodeUsernameTaken)
		}
		// display_name may be omitted: it defaults to the username.
		var def sessionBody
		e.anon().mustJSON("POST", "/auth/register", map[string]any{"username": "no_display", "password": "password1"}, 201, &def)
		if def.User.DisplayName != "no_display" {
			t.Errorf("default display name = %q", def.User.DisplayName)
		}
	})
}

func TestRegisterValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		n := 0
		// fresh returns a new valid username of exactly length characters.
		fresh := func(length int) string {
			n++
			s := "u" + strings.Repeat("x", length)
			return s[:length-2] + string(rune('a'+n/26%26)) + string(rune('a'+n%26))
		}
		body := func(username, password, display string) map[string]any {
			return map[string]any{"username": username, "password": password, "display_name": display}
		}
		ok := "password"
		cases := []struct {
			label  string
			body   any
			status int
			code   chat.Code
			field  string
		}{
			{"username 3", body(fresh(3), ok, "d"), 201, "", ""},
			{"username 20", body(fresh(20), ok, "d"), 201, "", ""},
			{"username with underscore and digits", body("a_1_"+fresh(5), ok, "d"), 201, "", ""},
			{"username 2", body("ab", ok, "d"), 400, chat.CodeValidation, "username"},
			{"username 21", body(strings.Repeat("a", 21), ok, "d"), 400, chat.CodeValidation, "username"},
			{"username with dash", body("bad-name", ok, "d"), 400, chat.CodeValidation, "username"},
			{"username with space", body("bad name", ok, "d"), 400, chat.CodeValidation, "username"},
			{"username non-ASCII", body("jürgen", ok, "d"), 400, chat.CodeValidation, "username"},
			{"username missing", map[string]any{"password": ok}, 400, chat.CodeValidation, "username"},
			{"password 8", body(fresh(8), strings.Repeat("p", 8), "d"), 201, "", ""},
			{"password 8 code points", body(fresh(8), strings.Repeat("ü", 8), "d"), 201, "", ""},
			{"password 128", body(fresh(8), strings.Repeat("p", 128), "d"), 201, "", ""},
			{"password 7", body(fresh(8), strings.Repeat("p", 7), "d"), 400, chat.CodeValidation, "password"},
			{"password 7 code points", body(fresh(8), strings.Repeat("ü", 7), "d"), 400, chat.CodeValidation, "password"},
			{"password 129", body(fresh(8), strings.Repeat("p", 129), "d"), 400, chat.CodeValidation, "password"},
			{"password missing", map[string]any{"username": fresh(8)}, 400, chat.CodeValidation, "password"},
			{"display name 50", body(fresh(8), ok, strings.Repeat("é", 50)), 201, "", ""},
			{"display name 51", body(fresh(8), ok, strings.Repeat("é", 51)), 400, chat.CodeValidation, "display_name"},
			{"display name empty", body(fresh(8), ok, ""), 400, chat.CodeValidation, "display_name"},
			{"display name blank", body(fresh(8), ok, "   "), 400, chat.CodeValidation, "display_name"},
			{"unknown field", map[string]any{"username": fresh(8), "password": ok, "email": "a@b.c"}, 400, chat.CodeBadRequest, "email"},
			{"wrong type", map[string]any{"username": 42, "password": ok}, 400, chat.CodeBadRequest, "username"},
			{"malformed JSON", `{"username": "abc", "password": `, 400, chat.CodeBadRequest, ""},
			{"trailing data", `{"username": "abcdef", "password": "password"} {}`, 400, chat.CodeBadRequest, ""},
			{"empty body", "", 400, chat.CodeBadRequest, ""},
			{"null body", "null", 400, chat.CodeValidation, "username"},
			{"oversized body", `{"username": "` + strings.Repeat("a", chat.MaxBody) + `"}`, 413, chat.CodeTooLarge, ""},
		}
		for _, tc := range cases {
			raw := e.anon().tryCase(t, tc.label, "POST", "/auth/register", tc.body, tc.status, tc.code)
			if tc.field != "" && !bytes.Contains(raw, []byte(`"field":"`+tc.field+`"`)) {
				t.Errorf("%s: body %s does not name field %s", tc.label, raw, tc.field)
			}
		}
	})
}

func TestLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice := e.registerAs("alice", "Alice")
		c := e.login("alice", "password-alice")
		if c.user.ID != alice.user.ID || c.token == "" || c.token == alice.token {
			t.Errorf("login gave %+v", c)
		}
		// Case-insensitive username at login, too.
		if got := e.login("ALICE", "password-alice"); got.user.ID != alice.user.ID {
			t.Errorf("login ALICE gave %s", got.user.ID)
		}
		// Wrong password and unknown user: the same 401, byte for byte.
		st1, wrongPw, _ := e.anon().do("POST", "/auth/login", map[string]any{"username": "alice", "password": "password-bob"})
		st2, unknown, _ := e.anon().do("POST", "/auth/login", map[string]any{"username": "nobody", "password": "password-bob"})
		st3, invalid, _ := e.anon().do("POST", "/auth/login", map[string]any{"username": "no such user!", "password": "x"})
		if st1 != 401 || st2 != 401 || st3 != 401 || !bytes.Equal(wrongPw, unknown) || !bytes.Equal(wrongPw, invalid) {
			t.Errorf("wrong password %d %s; unknown user %d %s; impossible user %d %s", st1, wrongPw, st2, unknown, st3, invalid)
		}
		cases := []struct {
			label  string
			body   any
			status int
			code   chat.Code
		}{
			{"password missing", map[string]any{"username": "alice"}, 400, chat.CodeValidation},
			{"username missing", map[string]any{"password": "password-alice"}, 400, chat.CodeValidation},
			{"display_name not accepted", map[string]any{"username": "alice", "password": "password-alice", "display_name": "A"}, 400, chat.CodeBadRequest},
			{"wrong type", map[string]any{"username": "alice", "password": 12345678}, 400, chat.CodeBadRequest},
			{"malformed JSON", `{"username"`, 400, chat.CodeBadRequest},
			{"empty password", map[string]any{"username": "alice", "password": ""}, 401, chat.CodeUnauthorized},
		}
		for _, tc := range cases {
			e.anon().tryCase(t, tc.label, "POST", "/auth/login", tc.body, tc.status, tc.code)
		}
	})
}

func TestLogoutAndMe(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.registerAs("carol", "Carol")
		first := e.login("carol", "password-carol")
		second := e.login("carol", "password-carol")
		first.mustJSON("GET", "/auth/me", nil, 200, nil)
		first.tryCase(t, "logout", "POST", "/auth/logout", nil, 204, "")
		first.tryCase(t, "me after logout", "GET", "/auth/me", nil, 401, chat.CodeUnauthorized)
		first.tryCase(t, "logout again", "POST", "/auth/logout", nil, 401, chat.CodeUnauthorized)
		first.tryCase(t, "other routes after logout", "GET", "/rooms", nil, 401, chat.CodeUnauthorized)
		// Only the presented token is revoked.
		second.mustJSON("GET", "/auth/me", nil, 200, nil)
		second.tryCase(t, "logout with {}", "POST", "/auth/logout", "{}", 204, "")
		e.anon().tryCase(t, "me anonymous", "GET", "/auth/me", nil, 401, chat.CodeUnauthorized)
		e.anon().tryCase(t, "logout anonymous", "POST", "/auth/logout", nil, 401, chat.CodeUnauthorized)
		e.login("carol", "password-carol").mustJSON("GET", "/auth/me", nil, 200, nil)
	})
}

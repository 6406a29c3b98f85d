package api

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatd/chatd/chat"
)

// forgeToken signs claims with method and key.
func forgeToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// tamperSubject rewrites the payload of token to claim sub, keeping the signature.
func tamperSubject(t *testing.T, token string, sub chat.ID) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = sub.String()
	raw, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// TestJWTMatrix forges tokens that golang-jwt would accept by default, or that are
// broken in one way each, and checks that every one is refused with 401 and the
// envelope; a correctly forged token (with the server's secret) is the control.
func TestJWTMatrix(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		victim, other := e.register("victim"), e.register("other")
		now := e.api.cfg.Now().Std()
		claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
			c := jwt.MapClaims{
				"sub": victim.user.ID.String(),
				"iss": e.api.cfg.Issuer,
				"aud": []string{e.api.cfg.Audience},
				"jti": randomToken(16),
				"iat": now.Unix(),
				"nbf": now.Unix(),
				"exp": now.Add(time.Hour).Unix(),
			}
			if edit != nil {
				edit(c)
			}
			return c
		}
		hs256 := func(edit func(jwt.MapClaims)) string {
			return forgeToken(t, jwt.SigningMethodHS256, testSecret, claims(edit))
		}
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}

		// Control: the server's own recipe is accepted.
		var me chat.User
		(&client{e: e, token: hs256(nil)}).mustJSON("GET", "/auth/me", nil, http.StatusOK, &me)
		if me.ID != victim.user.ID {
			t.Fatalf("control token signed in as %s", me.ID)
		}

		// Revoked after logout.
		revoked := e.login(victim.user.Username, "password-"+victim.user.Username)
		revoked.mustJSON("POST", "/auth/logout", nil, http.StatusNoContent, nil)

		cases := []struct {
			label  string
			header string
		}{
			{"alg none", "Bearer " + forgeToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
			{"HS384 with the same secret", "Bearer " + forgeToken(t, jwt.SigningMethodHS384, testSecret, claims(nil))},
			{"HS512 with the same secret", "Bearer " + forgeToken(t, jwt.SigningMethodHS512, testSecret, claims(nil))},
			{"RS256", "Bearer " + forgeToken(t, jwt.SigningMethodRS256, rsaKey, claims(nil))},
			{"no exp", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "exp") })},
			{"expired", "Bearer " + hs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })},
			{"nbf in the future", "Bearer " + hs256(func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() })},
			{"iat in the future", "Bearer " + hs256(func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() })},
			{"wrong aud", "Bearer " + hs256(func(c jwt.MapClaims) { c["aud"] = []string{"someone-else"} })},
			{"no aud", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "aud") })},
			{"wrong iss", "Bearer " + hs256(func(c jwt.MapClaims) { c["iss"] = "evil" })},
			{"no iss", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "iss") })},
			{"no jti", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "jti") })},
			{"sub not a UUID", "Bearer " + hs256(func(c jwt.MapClaims) { c["sub"] = "admin" })},
			{"tampered payload", "Bearer " + tamperSubject(t, hs256(nil), other.user.ID)},
			{"wrong secret", "Bearer " + forgeToken(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-!!!!"), claims(nil))},
			{"revoked after logout", "Bearer " + revoked.token},
			{"garbage", "Bearer not.a.token"},
			{"empty bearer", "Bearer "},
			{"basic scheme", "Basic dXNlcjpwYXNz"},
			{"no scheme", revoked.token},
			{"no header", ""},
		}
		for _, tc := range cases {
			req, err := http.NewRequest("GET", e.srv.URL+"/auth/me", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Error *chat.Error `json:"error"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&env)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || derr != nil || env.Error == nil || env.Error.Code != chat.CodeUnauthorized {
				t.Errorf("%s: status %d, envelope %+v (%v), want 401 unauthorized", tc.label, resp.StatusCode, env.Error, derr)
			}
		}
	})
}

// TestJWTClockLeeway checks the leeway: a token a little past exp still works, one
// well past it does not.
func TestJWTClockLeeway(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		c := e.register("leeway")
		e.now.Store((chat.TokenTTL + 10*time.Second).Milliseconds())
		c.mustJSON("GET", "/auth/me", nil, http.StatusOK, nil)
		e.now.Store((chat.TokenTTL + 2*time.Minute).Milliseconds())
		c.tryCase(t, "expired by the clock", "GET", "/auth/me", nil, http.StatusUnauthorized, chat.CodeUnauthorized)
	})
}

package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/argon2"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// Session is the authenticated caller of a request.
type Session struct {
	UserID    chat.ID
	TokenID   string
	ExpiresAt chat.Time
}

// tokenLeeway is the clock skew tolerated on exp/nbf/iat (the contract allows <= 60 s).
const tokenLeeway = 30 * time.Second

// authenticator issues and verifies access tokens (JWT, HS256). golang-jwt v5 by
// default accepts tokens without exp, signed with another HMAC algorithm, or for
// another audience: every one of those is pinned here.
type authenticator struct {
	secret   []byte
	issuer   string
	audience string
	now      func() chat.Time
	store    persist.Store
	revoked  *revocationList
	parser   *jwt.Parser
	hashSem  chan struct{}
}

func newAuthenticator(cfg Config, store persist.Store) *authenticator {
	a := &authenticator{
		secret:   cfg.JWTSecret,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		now:      cfg.Now,
		store:    store,
		revoked:  newRevocationList(store, cfg.Now),
		hashSem:  make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(a.issuer),
		jwt.WithAudience(a.audience),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(func() time.Time { return a.now().Std() }),
	)
	return a
}

// issue signs a new token for user, valid for chat.TokenTTL.
func (a *authenticator) issue(user chat.ID) (token string, expires chat.Time, err error) {
	now := a.now()
	expires = now.Add(chat.TokenTTL)
	claims := jwt.RegisteredClaims{
		ID:        randomToken(16),
		Subject:   user.String(),
		Issuer:    a.issuer,
		Audience:  jwt.ClaimStrings{a.audience},
		IssuedAt:  jwt.NewNumericDate(now.Std()),
		NotBefore: jwt.NewNumericDate(now.Std()),
		ExpiresAt: jwt.NewNumericDate(expires.Std()),
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
	if err != nil {
		return "", 0, fmt.Errorf("api: sign token: %w", err)
	}
	return token, expires, nil
}

var errBadToken = chat.Errorf(chat.CodeUnauthorized, "missing, invalid or expired token")

// verify checks a token's signature, algorithm, claims and revocation (against the
// node's copy of the revoked list: no store read per request).
func (a *authenticator) verify(ctx context.Context, token string) (*Session, error) {
	var claims jwt.RegisteredClaims
	_, err := a.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	if err != nil || claims.ID == "" || claims.ExpiresAt == nil {
		return nil, errBadToken
	}
	uid, err := chat.ParseID(claims.Subject)
	if err != nil {
		return nil, errBadToken
	}
	revoked, err := a.revoked.has(ctx, claims.ID)
	if err != nil {
		return nil, fmt.Errorf("api: check token revocation: %w", err)
	}
	if revoked {
		return nil, errBadToken
	}
	return &Session{UserID: uid, TokenID: claims.ID, ExpiresAt: chat.TimeOf(claims.ExpiresAt.Time)}, nil
}

// fromRequest authenticates the bearer token of r.
func (a *authenticator) fromRequest(r *http.Request) (*Session, error) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, errBadToken
	}
	return a.verify(r.Context(), strings.TrimSpace(h[len(prefix):]))
}

// Password hashing: argon2id at OWASP's recommended minimum (19 MiB, 2 passes), in
// PHC string form so the parameters can be raised later without breaking old hashes.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns the PHC-encoded argon2id hash of pw. Concurrent hashes are
// bounded so a login burst cannot take the process's memory.
func (a *authenticator) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := a.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-a.hashSem }()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("api: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// dummyHash is checked against when a username is unknown, so that a wrong password
// and an unknown user cost the same time.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jk7rYwYh0Zl7mJX8r4S9s2u0m8n6gQ0cQm6Jc6x7r1k"

// checkPassword reports whether pw matches the PHC-encoded hash.
func (a *authenticator) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	var mem uint32
	var t uint32
	var p uint8
	var version int
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("api: unknown password hash format")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil {
		return false, fmt.Errorf("api: password hash version: %w", err)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false, fmt.Errorf("api: password hash params: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("api: password hash salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("api: password hash key: %w", err)
	}
	if err := a.acquireHash(ctx); err != nil {
		return false, err
	}
	defer func() { <-a.hashSem }()
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (a *authenticator) acquireHash(ctx context.Context) error {
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return chat.Errorf(chat.CodeUnavailable, "server busy, retry")
	}
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerAuth) }

// registerAuth registers the account routes: register, login, logout, me.
func (s *Server) registerAuth() {
	s.public("POST /auth/register", s.handleRegister)
	s.public("POST /auth/login", s.handleLogin)
	s.authed("POST /auth/logout", s.handleLogout)
	s.authed("GET /auth/me", s.handleMe)
}

// registerRequest is the body of POST /auth/register. display_name may be omitted
// (it defaults to the username); when present it must be valid.
type registerRequest struct {
	Username    *string `json:"username"`
	Password    *string `json:"password"`
	DisplayName *string `json:"display_name"`
}

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// sessionResponse answers register and login.
type sessionResponse struct {
	Token     string     `json:"token"`
	ExpiresAt chat.Time  `json:"expires_at"`
	User      *chat.User `json:"user"`
}

// errBadCredentials is the one answer for an unknown user and a wrong password.
var errBadCredentials = chat.Errorf(chat.CodeUnauthorized, "wrong username or password")

// handleRegister creates an account and signs it in (201 {token, expires_at, user}).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	username, password := deref(req.Username), deref(req.Password)
	display := username
	if req.DisplayName != nil {
		display = *req.DisplayName
	}
	if err := firstError(chat.ValidateUsername(username), chat.ValidatePassword(password),
		chat.ValidateDisplayName(display)); err != nil {
		return err
	}
	ctx := r.Context()
	// A taken name is refused before the (deliberately slow) hash is computed; the
	// store's unique index still decides races.
	if _, _, err := s.store.Credentials(ctx, username); err == nil {
		return errUsernameTaken()
	} else if !errors.Is(err, chat.ErrNotFound) {
		return fmt.Errorf("api: check username: %w", err)
	}
	hash, err := s.auth.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	u := &chat.User{ID: chat.NewID(), Username: username, DisplayName: display,
		Status: chat.StatusOnline, CreatedAt: s.cfg.Now()}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		if e := chat.AsError(err); e != nil && (e.Code == chat.CodeConflict || e.Code == chat.CodeUsernameTaken) {
			return errUsernameTaken()
		}
		return fmt.Errorf("api: create user: %w", err)
	}
	return s.writeSession(ctx, w, http.StatusCreated, u.ID)
}

// errUsernameTaken is the 409 for a username taken case-insensitively.
func errUsernameTaken() error {
	return &chat.Error{Code: chat.CodeUsernameTaken, Field: "username", Message: "username is taken"}
}

// handleLogin checks credentials. An unknown (or impossible) username is checked
// against dummyHash, so that it costs what a wrong password costs and answers the
// same 401.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Username == nil {
		return chat.FieldError("username", "username is required")
	}
	if req.Password == nil {
		return chat.FieldError("password", "password is required")
	}
	ctx := r.Context()
	id, hash, known, err := s.credentials(ctx, *req.Username, *req.Password)
	if err != nil {
		return err
	}
	ok, err := s.auth.checkPassword(ctx, hash, *req.Password)
	if err != nil {
		return err
	}
	if !ok || !known {
		return errBadCredentials
	}
	return s.writeSession(ctx, w, http.StatusOK, id)
}

// credentials returns the hash to check a login against: the user's, or dummyHash
// (known false) when the username is unknown or could never have been registered.
func (s *Server) credentials(ctx context.Context, username, password string) (chat.ID, string, bool, error) {
	if chat.ValidateUsername(username) != nil || chat.ValidatePassword(password) != nil {
		return chat.NilID, dummyHash, false, nil
	}
	id, hash, err := s.store.Credentials(ctx, username)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return chat.NilID, dummyHash, false, nil
	case err != nil:
		return chat.NilID, "", false, fmt.Errorf("api: load credentials: %w", err)
	}
	return id, hash, true, nil
}

// writeSession issues a token for user and answers {token, expires_at, user}.
// Signing in counts as activity, so the user's presence starts as their chosen status.
func (s *Server) writeSession(ctx context.Context, w http.ResponseWriter, status int, user chat.ID) error {
	token, expires, err := s.auth.issue(user)
	if err != nil {
		return err
	}
	s.touch.seen(ctx, s.store, user, s.cfg.Now())
	u, err := s.store.UserByID(ctx, user)
	if err != nil {
		return fmt.Errorf("api: load user: %w", err)
	}
	return writeJSON(w, status, sessionResponse{Token: token, ExpiresAt: expires, User: u})
}

// handleLogout revokes the presented token until it would have expired and closes
// every WebSocket connection opened with it, on every node; it answers 204. Other tokens of
// the same user stay valid.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if err := s.store.RevokeToken(r.Context(), sess.TokenID, sess.ExpiresAt); err != nil {
		return fmt.Errorf("api: revoke token: %w", err)
	}
	// This node refuses the token from now on; the others when the event reaches
	// them, or at their next read of the store's list (within a second).
	s.auth.revoked.add(sess.TokenID, sess.ExpiresAt)
	s.publish(&node.Event{Type: node.EventTokenRevoked, UserID: sess.UserID,
		Data: &node.TokenRevokedEvent{TokenID: sess.TokenID, ExpiresAt: sess.ExpiresAt}})
	writeNoContent(w)
	return nil
}

// handleMe returns the caller's profile (GET /auth/me and GET /users/me).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, sess *Session) error {
	u, err := s.currentUser(r.Context(), sess)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// firstError returns the first non-nil error (validation in field order).
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeNoContent answers 204 without a body.
func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

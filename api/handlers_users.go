package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerUsers) }

// registerUsers registers the profile routes. ServeMux prefers the most specific
// pattern, so /users/search and /users/me win over /users/{id}.
func (s *Server) registerUsers() {
	s.authed("GET /users/search", s.handleSearchUsers)
	s.authed("GET /users/me", s.handleMe)
	s.authed("PATCH /users/me", s.handleUpdateMe)
	s.authed("GET /users/{id}", s.handleGetUser)
}

// searchQueryMax bounds search terms (code points): no name is longer.
const searchQueryMax = 100

// handleGetUser returns any user's public profile.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.userByID(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleSearchUsers lists users whose username or display name starts with q
// (case-insensitive), ordered by username. q is required.
func (s *Server) handleSearchUsers(w http.ResponseWriter, r *http.Request, sess *Session) error {
	q, err := searchTerm(r, true)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	users, next, err := s.store.SearchUsers(r.Context(), q, page)
	if err != nil {
		return fmt.Errorf("api: search users: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(users, next))
}

// updateMeRequest is the body of PATCH /users/me; absent (or null) fields stay.
type updateMeRequest struct {
	DisplayName   *string      `json:"display_name"`
	AvatarURL     *string      `json:"avatar_url"`
	Status        *chat.Status `json:"status"`
	StatusMessage *string      `json:"status_message"`
}

// validate checks every present field.
func (req *updateMeRequest) validate() error {
	if req.DisplayName != nil {
		if err := chat.ValidateDisplayName(*req.DisplayName); err != nil {
			return err
		}
	}
	if req.AvatarURL != nil {
		if err := chat.ValidateAvatarURL(*req.AvatarURL); err != nil {
			return err
		}
	}
	if req.Status != nil {
		if err := chat.ValidateStatus(*req.Status); err != nil {
			return err
		}
	}
	if req.StatusMessage != nil {
		return chat.ValidateStatusMessage(*req.StatusMessage)
	}
	return nil
}

// handleUpdateMe applies a profile patch; {} changes nothing and returns the profile.
// A status change goes out as presence_updated (coalesced by the hub).
func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var req updateMeRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	u, err := s.store.UpdateUser(r.Context(), sess.UserID, persist.UserPatch{
		DisplayName:   req.DisplayName,
		AvatarURL:     req.AvatarURL,
		Status:        req.Status,
		StatusMessage: req.StatusMessage,
	})
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Errorf(chat.CodeUnauthorized, "user no longer exists")
	}
	if err != nil {
		return fmt.Errorf("api: update user: %w", err)
	}
	s.users.forget(sess.UserID)
	s.publish(&node.Event{Type: node.EventUserChanged, UserID: sess.UserID})
	if req.Status != nil {
		s.hub.presenceChanged(sess.UserID)
	}
	return writeJSON(w, http.StatusOK, u)
}

// userByID loads a user; unknown users are 404 "user not found".
func (s *Server) userByID(ctx context.Context, id chat.ID) (*chat.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: load user: %w", err)
	}
	return u, nil
}

// errUserNotFound is the 404 for an unknown user.
func errUserNotFound() error { return chat.Errorf(chat.CodeNotFound, "user not found") }

// pageOf reads ?cursor= and ?limit= (default chat.PageDefault, 1..chat.PageMax).
func pageOf(r *http.Request) (persist.Page, error) {
	limit, err := queryLimit(r, chat.PageDefault)
	if err != nil {
		return persist.Page{}, err
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > 512 || !utf8.ValidString(cursor) || strings.IndexByte(cursor, 0) >= 0 {
		return persist.Page{}, chat.FieldError("cursor", "cursor is not valid")
	}
	return persist.Page{Cursor: cursor, Limit: limit}, nil
}

// searchTerm reads ?q= without surrounding white space: valid UTF-8 text of at most
// searchQueryMax code points, and not empty when required.
func searchTerm(r *http.Request, required bool) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if !utf8.ValidString(q) || strings.IndexByte(q, 0) >= 0 || utf8.RuneCountInString(q) > searchQueryMax {
		return "", chat.FieldError("q", "q must be text of at most %d characters", searchQueryMax)
	}
	if required && q == "" {
		return "", chat.FieldError("q", "q is required")
	}
	return q, nil
}

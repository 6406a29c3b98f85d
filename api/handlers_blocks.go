package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerBlocks) }

// registerBlocks registers the block list routes. A block stops the blocked user's
// messages in the DM they share with the blocker (the room owner checks blocks live
// on every DM send, so no cache needs telling) and stops them opening a new DM.
func (s *Server) registerBlocks() {
	s.authed("POST /users/{id}/block", s.handleBlock)
	s.authed("DELETE /users/{id}/block", s.handleUnblock)
	s.authed("GET /users/me/blocks", s.handleListBlocks)
}

// handleBlock blocks a user and answers 200 with the blocked user, also when they
// were blocked already (no change). Blocking yourself is 400.
func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if id == sess.UserID {
		return chat.FieldError("id", "you cannot block yourself")
	}
	ctx := r.Context()
	u, err := s.userByID(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.store.Block(ctx, sess.UserID, id, s.cfg.Now()); err != nil {
		return fmt.Errorf("api: block: %w", err)
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleUnblock lifts a block (204); 404 when there was none.
func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = s.store.Unblock(r.Context(), sess.UserID, id)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Errorf(chat.CodeNotFound, "user is not blocked")
	}
	if err != nil {
		return fmt.Errorf("api: unblock: %w", err)
	}
	writeNoContent(w)
	return nil
}

// handleListBlocks lists the users the caller blocks (cursor pagination).
func (s *Server) handleListBlocks(w http.ResponseWriter, r *http.Request, sess *Session) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	users, next, err := s.store.Blocks(r.Context(), sess.UserID, page)
	if err != nil {
		return fmt.Errorf("api: list blocks: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(users, next))
}

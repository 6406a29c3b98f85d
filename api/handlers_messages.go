package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerMessages) }

// registerMessages registers the timeline routes: history, send, edit, delete,
// threads and read receipts.
func (s *Server) registerMessages() {
	s.authed("GET /rooms/{id}/messages", s.handleHistory)
	s.authed("POST /rooms/{id}/messages", s.handleSend)
	s.authed("PUT /messages/{id}", s.handleEditMessage)
	s.authed("DELETE /messages/{id}", s.handleDeleteMessage)
	s.authed("GET /messages/{id}/thread", s.handleThread)
	s.authed("GET /messages/{id}/receipts", s.handleReceipts)
}

// messagePage is the envelope of message history: has_more instead of next_cursor.
type messagePage struct {
	Items   []chat.Message `json:"items"`
	HasMore bool           `json:"has_more"`
}

// handleHistory answers GET /rooms/:id/messages?limit=&before=|after= (members only).
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, sess *Session) error {
	roomID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q, err := historyQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.memberOf(ctx, roomID, sess.UserID); err != nil {
		return err
	}
	items, more, err := s.store.Messages(ctx, roomID, sess.UserID, q)
	if errors.Is(err, chat.ErrNotFound) { // the cursor is not a message of the room
		field := "after"
		if q.Before != nil {
			field = "before"
		}
		return chat.FieldError(field, "%s must be a message of this room", field)
	}
	if err != nil {
		return fmt.Errorf("api: messages: %w", err)
	}
	if items == nil {
		items = []chat.Message{}
	}
	return writeJSON(w, http.StatusOK, messagePage{Items: items, HasMore: more})
}

// historyQuery parses limit (1-100, default 50) and at most one of before and after.
func historyQuery(r *http.Request) (persist.MessageQuery, error) {
	limit, err := queryLimit(r, chat.PageDefault)
	if err != nil {
		return persist.MessageQuery{}, err
	}
	q := persist.MessageQuery{Limit: limit}
	v := r.URL.Query()
	if v.Has("before") && v.Has("after") {
		return q, chat.FieldError("before", "before and after cannot be combined")
	}
	for _, name := range []string{"before", "after"} {
		if !v.Has(name) {
			continue
		}
		id, err := chat.ParseID(v.Get(name))
		if err != nil {
			return q, chat.FieldError(name, "%s must be a message ID", name)
		}
		if name == "before" {
			q.Before = &id
		} else {
			q.After = &id
		}
	}
	return q, nil
}

// handleSend answers POST /rooms/:id/messages: 201 with a new message, 200 with the
// original one for a resent client_msg_id.
//
// When the node cannot know whether the message was committed (node.ErrUnknownOutcome)
// the contract forbids an error answer, since an error means "not stored": the
// response is aborted instead (panic(http.ErrAbortHandler), which net/http turns into
// a dropped connection without logging), and the client resends with the same
// client_msg_id to learn the outcome.
func (s *Server) handleSend(w http.ResponseWriter, r *http.Request, sess *Session) error {
	roomID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in SendInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	msg, created, err := s.sendMessage(r.Context(), sess, roomID, &in)
	if errors.Is(err, node.ErrUnknownOutcome) {
		s.reqLog(r).Warn("send outcome unknown; response aborted", "room", roomID, "user", sess.UserID)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, msg)
}

// contentInput is the body of PUT /messages/:id.
type contentInput struct {
	Content string `json:"content"`
}

// handleEditMessage answers PUT /messages/:id {content}: the sender alone, within
// chat.EditWindow of sending (by the API clock), never a deleted or system message.
func (s *Server) handleEditMessage(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in contentInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := chat.ValidateContent(in.Content); err != nil {
		return err
	}
	ctx := r.Context()
	msg, _, _, err := s.messageFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := chat.CanEdit(msg, sess.UserID, now); err != nil {
		return err
	}
	updated, err := s.store.EditMessage(ctx, id, in.Content, s.md.Render(in.Content), now, sess.UserID)
	if err != nil {
		return fmt.Errorf("api: edit message: %w", err)
	}
	s.publish(&node.Event{Type: node.EventMessageUpdated, RoomID: updated.RoomID, Message: updated,
		Data: &node.MessageEvent{RoomID: updated.RoomID, Message: updated}})
	return writeJSON(w, http.StatusOK, updated)
}

// handleDeleteMessage answers DELETE /messages/:id (the sender, or an admin or the
// owner of the room) with 200 and the deleted message as it now reads: content
// "[deleted]", content_html empty, attachments and reactions gone, replies kept.
// Deleting a deleted message changes nothing and answers the same.
func (s *Server) handleDeleteMessage(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	msg, _, member, err := s.messageFor(r.Context(), id, sess.UserID)
	if err != nil {
		return err
	}
	if err := chat.CanDelete(msg, sess.UserID, member.Role); err != nil {
		return err
	}
	if msg.Deleted {
		return writeJSON(w, http.StatusOK, msg)
	}
	deleted, err := s.deleteMessage(r, msg.ID, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deleted)
}

// deleteMessage soft-deletes a message, drops its attachments' files, and publishes
// message_deleted.
func (s *Server) deleteMessage(r *http.Request, id, viewer chat.ID) (*chat.Message, error) {
	before, err := s.store.MessageByID(r.Context(), id, viewer)
	if err != nil {
		return nil, fmt.Errorf("api: delete message: %w", err)
	}
	deleted, err := s.store.DeleteMessage(r.Context(), id, viewer)
	if err != nil {
		return nil, fmt.Errorf("api: delete message: %w", err)
	}
	if s.cfg.Blobs != nil {
		for _, a := range before.Attachments {
			s.dropBlobs(context.WithoutCancel(r.Context()), a.ID)
		}
	}
	s.publish(&node.Event{Type: node.EventMessageDeleted, RoomID: deleted.RoomID, Message: deleted,
		Data: &node.MessageDeletedEvent{RoomID: deleted.RoomID, MessageID: deleted.ID}})
	return deleted, nil
}

// handleThread answers GET /messages/:id/thread?cursor=&limit=: the replies to the
// message, oldest first (the parent itself is not in the list).
func (s *Server) handleThread(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, _, _, err := s.messageFor(r.Context(), id, sess.UserID); err != nil {
		return err
	}
	items, next, err := s.store.Thread(r.Context(), id, sess.UserID, page)
	if err != nil {
		return cursorError(err, "api: thread")
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// handleReceipts answers GET /messages/:id/receipts: the members (sender excluded)
// who have read up to the message or past it, with when they did.
func (s *Server) handleReceipts(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, _, _, err := s.messageFor(r.Context(), id, sess.UserID); err != nil {
		return err
	}
	items, err := s.store.Receipts(r.Context(), id)
	if err != nil {
		return fmt.Errorf("api: receipts: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

// cursorError passes a store's verdict on a malformed cursor through as a 400 and
// wraps anything else as a fault.
func cursorError(err error, op string) error {
	if e := chat.AsError(err); e != nil && e.Code.Status() == http.StatusBadRequest {
		return e
	}
	return fmt.Errorf("%s: %w", op, err)
}

package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerReads) }

// registerReads registers the REST way of marking a room read (the WebSocket's
// read_message has the same effect).
func (s *Server) registerReads() {
	s.authed("POST /rooms/{id}/read", s.handleMarkRead)
}

// ReadReceiptEvent is the payload of read_receipt.
type ReadReceiptEvent struct {
	RoomID    chat.ID   `json:"room_id"`
	MessageID chat.ID   `json:"message_id"`
	UserID    chat.ID   `json:"user_id"`
	ReadAt    chat.Time `json:"read_at"`
}

// readInput is the body of POST /rooms/:id/read.
type readInput struct {
	MessageID string `json:"message_id"`
}

// handleMarkRead answers POST /rooms/:id/read {message_id} (members): moves the
// caller's read marker forward to the message, never back, and answers 204 either
// way. A move publishes read_receipt. message_id must name a message of the room
// (400 validation_failed on message_id otherwise).
func (s *Server) handleMarkRead(w http.ResponseWriter, r *http.Request, sess *Session) error {
	roomID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in readInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	msgID, err := chat.ParseID(in.MessageID)
	if err != nil {
		return chat.FieldError("message_id", "message_id must be a UUID")
	}
	ctx := r.Context()
	if _, _, err := s.memberOf(ctx, roomID, sess.UserID); err != nil {
		return err
	}
	msg, err := s.store.MessageByID(ctx, msgID, sess.UserID)
	if errors.Is(err, chat.ErrNotFound) || err == nil && msg.RoomID != roomID {
		return chat.FieldError("message_id", "message_id must be a message of this room")
	}
	if err != nil {
		return fmt.Errorf("api: load message: %w", err)
	}
	now := s.cfg.Now()
	moved, err := s.store.MarkRead(ctx, roomID, sess.UserID, msgID, msg.Seq, now)
	if err != nil {
		return fmt.Errorf("api: mark read: %w", err)
	}
	if moved {
		s.publish(&node.Event{Type: node.EventReadReceipt, RoomID: roomID,
			Data: &ReadReceiptEvent{RoomID: roomID, MessageID: msgID, UserID: sess.UserID, ReadAt: now}})
	}
	writeNoContent(w)
	return nil
}

package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// errRoomNotFound is the one answer for a room that does not exist and a private room
// the caller is not in: byte-identical, so IDs cannot be probed.
func errRoomNotFound() error { return chat.Errorf(chat.CodeNotFound, "room not found") }

// errMessageNotFound is errRoomNotFound's counterpart for messages.
func errMessageNotFound() error { return chat.Errorf(chat.CodeNotFound, "message not found") }

// roomFor loads a room as user sees it, applying visibility: a private or direct room
// is 404 to anyone not in it. member is nil for a non-member (of a public room).
func (s *Server) roomFor(ctx context.Context, roomID, user chat.ID) (*chat.Room, *chat.Member, error) {
	room, err := s.store.RoomByID(ctx, roomID, user)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, nil, errRoomNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("api: load room: %w", err)
	}
	member, err := s.store.Member(ctx, roomID, user)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		if room.Type != chat.RoomPublic {
			return nil, nil, errRoomNotFound()
		}
		return room, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("api: load membership: %w", err)
	}
	return room, member, nil
}

// memberOf is roomFor for operations that need membership: a non-member of a public
// room gets 403 not_member, of any other room 404.
func (s *Server) memberOf(ctx context.Context, roomID, user chat.ID) (*chat.Room, *chat.Member, error) {
	room, member, err := s.roomFor(ctx, roomID, user)
	if err != nil {
		return nil, nil, err
	}
	if member == nil {
		return nil, nil, chat.Errorf(chat.CodeNotMember, "join the room first")
	}
	return room, member, nil
}

// mayFollow applies memberOf's rules for a WebSocket join: the room's owner answers
// from its member cache (no store read once the room is warm, so a reconnect storm
// does not become two store reads per joined room), and the store answers when the
// owner cannot.
func (s *Server) mayFollow(ctx context.Context, roomID, user chat.ID) error {
	err := s.node.CheckMember(ctx, roomID, user)
	if errors.Is(err, node.ErrNoAnswer) {
		_, _, err = s.memberOf(ctx, roomID, user)
	}
	return err
}

// roomCall is how most /rooms/{id}/... routes begin: the room id of the path, the JSON
// body into body (unless nil; an empty body is {} when emptyOK), then the room and
// the caller's membership (memberOf's rules). Bad input is refused before the store
// is asked anything.
func (s *Server) roomCall(w http.ResponseWriter, r *http.Request, sess *Session, body any, emptyOK bool) (chat.ID, *chat.Room, *chat.Member, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return chat.NilID, nil, nil, err
	}
	if body != nil {
		if err := decodeJSON(w, r, body, emptyOK); err != nil {
			return chat.NilID, nil, nil, err
		}
	}
	room, member, err := s.memberOf(r.Context(), id, sess.UserID)
	return id, room, member, err
}

// requireRole refuses members below min with 403.
func requireRole(m *chat.Member, min chat.Role) error {
	if !m.Role.AtLeast(min) {
		return chat.Errorf(chat.CodeForbidden, "requires the %s role", min)
	}
	return nil
}

// messageFor loads a message and the caller's membership of its room, with the
// room's visibility rules: invisible rooms make the message 404.
func (s *Server) messageFor(ctx context.Context, msgID, user chat.ID) (*chat.Message, *chat.Room, *chat.Member, error) {
	msg, err := s.store.MessageByID(ctx, msgID, user)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, nil, nil, errMessageNotFound()
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("api: load message: %w", err)
	}
	room, member, err := s.roomFor(ctx, msg.RoomID, user)
	if err != nil {
		if chat.AsError(err) != nil && chat.AsError(err).Code == chat.CodeNotFound {
			return nil, nil, nil, errMessageNotFound()
		}
		return nil, nil, nil, err
	}
	if member == nil {
		return nil, nil, nil, chat.Errorf(chat.CodeNotMember, "join the room first")
	}
	return msg, room, member, nil
}

// currentUser loads the caller's profile.
func (s *Server) currentUser(ctx context.Context, sess *Session) (*chat.User, error) {
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, chat.Errorf(chat.CodeUnauthorized, "user no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("api: load user: %w", err)
	}
	return u, nil
}

// systemMessage appends a system message ("alice joined") to a room through its
// owner, like any other message; failures are logged, never fatal to the request
// that caused them (the membership change itself is already durable).
func (s *Server) systemMessage(ctx context.Context, roomID chat.ID, actor *chat.User, text string) {
	_, _, err := s.node.Send(ctx, &node.SendRequest{
		RoomID:      roomID,
		Sender:      *actor,
		Type:        chat.MessageSystem,
		Content:     text,
		ContentHTML: s.md.Render(text),
	})
	if err != nil {
		s.log.Warn("system message not stored", "room", roomID, "err", err)
	}
}

// publish emits a room or user event through the node.
func (s *Server) publish(ev *node.Event) { s.node.Publish(ev) }

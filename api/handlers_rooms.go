package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerRooms) }

// registerRooms registers the room routes: list, discover, read, create (group and
// direct), update, delete, join, leave and the caller's notification level.
func (s *Server) registerRooms() {
	s.authed("GET /rooms", s.handleListRooms)
	s.authed("GET /rooms/public", s.handlePublicRooms)
	s.authed("POST /rooms", s.handleCreateRoom)
	s.authed("GET /rooms/{id}", s.handleGetRoom)
	s.authed("PUT /rooms/{id}", s.handleUpdateRoom)
	s.authed("DELETE /rooms/{id}", s.handleDeleteRoom)
	s.authed("POST /rooms/{id}/join", s.handleJoinRoom)
	s.authed("POST /rooms/{id}/leave", s.handleLeaveRoom)
	s.authed("PUT /rooms/{id}/notification-level", s.handleSetLevel)
}

// UserJoinedEvent is the payload of user_joined.
type UserJoinedEvent struct {
	RoomID chat.ID   `json:"room_id"`
	User   chat.User `json:"user"`
}

// UserLeftEvent is the payload of user_left (a member left or was removed).
type UserLeftEvent struct {
	RoomID chat.ID `json:"room_id"`
	UserID chat.ID `json:"user_id"`
}

// RoomUpdatedEvent is the payload of room_updated. Room is the neutral view
// (no my_role, notification_level or unread_count): every member receives it.
type RoomUpdatedEvent struct {
	Room *chat.Room `json:"room"`
}

// RoomDeletedEvent is the payload of room_deleted.
type RoomDeletedEvent struct {
	RoomID chat.ID `json:"room_id"`
}

// handleListRooms lists the caller's rooms, newest activity first.
func (s *Server) handleListRooms(w http.ResponseWriter, r *http.Request, sess *Session) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	rooms, next, err := s.store.RoomsOf(r.Context(), sess.UserID, page)
	if err != nil {
		return fmt.Errorf("api: list rooms: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(rooms, next))
}

// handlePublicRooms lists public rooms whose name contains ?q= (all when empty).
func (s *Server) handlePublicRooms(w http.ResponseWriter, r *http.Request, sess *Session) error {
	q, err := searchTerm(r, false)
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	rooms, next, err := s.store.PublicRooms(r.Context(), q, sess.UserID, page)
	if err != nil {
		return fmt.Errorf("api: list public rooms: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(rooms, next))
}

// handleGetRoom shows a room: public rooms to anyone, others to their members.
func (s *Server) handleGetRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	room, _, err := s.roomFor(r.Context(), id, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, room)
}

// createRoomRequest is the body of POST /rooms: {name, description?, type} for a
// group room, {type: "direct", user_id} for a DM.
type createRoomRequest struct {
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Type        *chat.RoomType `json:"type"`
	UserID      *string        `json:"user_id"`
}

// handleCreateRoom dispatches POST /rooms on the room type, which is required.
func (s *Server) handleCreateRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var req createRoomRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var typ chat.RoomType
	if req.Type != nil {
		typ = *req.Type
	}
	if err := chat.ValidateRoomType(typ); err != nil {
		return err
	}
	if typ == chat.RoomDirect {
		return s.createDirectRoom(w, r, sess, &req)
	}
	return s.createGroupRoom(w, r, sess, &req, typ)
}

// createGroupRoom creates a public or private room with the caller as owner (201).
func (s *Server) createGroupRoom(w http.ResponseWriter, r *http.Request, sess *Session, req *createRoomRequest, typ chat.RoomType) error {
	if req.UserID != nil {
		return chat.FieldError("user_id", "user_id is only for direct rooms")
	}
	name, desc := deref(req.Name), deref(req.Description)
	if err := firstError(chat.ValidateRoomName(name), chat.ValidateDescription(desc)); err != nil {
		return err
	}
	ctx := r.Context()
	room := &chat.Room{ID: chat.NewID(), Name: name, Description: desc, Type: typ,
		CreatedBy: sess.UserID, CreatedAt: s.cfg.Now()}
	if err := s.store.CreateRoom(ctx, room); err != nil {
		return fmt.Errorf("api: create room: %w", err)
	}
	view, err := s.roomView(ctx, room.ID, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, view)
}

// createDirectRoom returns the caller's DM with user_id (200) or creates it (201).
// A DM with yourself is 400, with an unknown user 404, with someone who blocks you
// 403 blocked (also when the DM exists already).
func (s *Server) createDirectRoom(w http.ResponseWriter, r *http.Request, sess *Session, req *createRoomRequest) error {
	if req.Name != nil {
		return chat.FieldError("name", "direct rooms have no name")
	}
	if req.Description != nil {
		return chat.FieldError("description", "direct rooms have no description")
	}
	if req.UserID == nil {
		return chat.FieldError("user_id", "user_id is required for a direct room")
	}
	other, err := chat.ParseID(*req.UserID)
	if err != nil {
		return chat.FieldError("user_id", "user_id must be a UUID")
	}
	if other == sess.UserID {
		return chat.FieldError("user_id", "a direct room needs another user")
	}
	ctx := r.Context()
	if _, err := s.userByID(ctx, other); err != nil {
		return err
	}
	blocked, err := s.store.Blocked(ctx, other, sess.UserID)
	if err != nil {
		return fmt.Errorf("api: check block: %w", err)
	}
	if blocked {
		return chat.Errorf(chat.CodeBlocked, "this user does not accept your messages")
	}
	room := &chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: sess.UserID, CreatedAt: s.cfg.Now()}
	dm, created, err := s.store.CreateDirectRoom(ctx, room, sess.UserID, other)
	if err != nil {
		return fmt.Errorf("api: create direct room: %w", err)
	}
	// Opening an existing DM may re-add a participant who had left: the owner's
	// cached member set must not keep refusing their sends.
	s.node.RoomChanged(dm.ID)
	view, err := s.roomView(ctx, dm.ID, sess.UserID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, view)
}

// updateRoomRequest is the body of PUT /rooms/:id; absent fields stay.
type updateRoomRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// handleUpdateRoom renames or redescribes a group room (admin and owner) and emits
// room_updated. A patch without fields changes nothing and emits nothing.
func (s *Server) handleUpdateRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req updateRoomRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.memberOf(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if err := firstError(refuseDirect(room, "renamed"), requireRole(member, chat.RoleAdmin)); err != nil {
		return err
	}
	if req.Name != nil {
		if err := chat.ValidateRoomName(*req.Name); err != nil {
			return err
		}
	}
	if req.Description != nil {
		if err := chat.ValidateDescription(*req.Description); err != nil {
			return err
		}
	}
	if req.Name == nil && req.Description == nil {
		return writeJSON(w, http.StatusOK, room)
	}
	updated, err := s.store.UpdateRoom(ctx, id, req.Name, req.Description, sess.UserID)
	if err != nil {
		return fmt.Errorf("api: update room: %w", err)
	}
	s.publish(&node.Event{Type: node.EventRoomUpdated, RoomID: id,
		Data: &RoomUpdatedEvent{Room: neutralRoom(updated)}})
	return writeJSON(w, http.StatusOK, updated)
}

// handleDeleteRoom deletes a group room and everything in it (owner only; 204).
func (s *Server) handleDeleteRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.memberOf(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if err := firstError(refuseDirect(room, "deleted"), requireRole(member, chat.RoleOwner)); err != nil {
		return err
	}
	if err := s.deleteRoom(ctx, id); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

// deleteRoom deletes a room with its attachments' files, then tells its subscribers
// and its owner.
func (s *Server) deleteRoom(ctx context.Context, id chat.ID) error {
	atts, err := s.store.RoomAttachmentIDs(ctx, id)
	if err != nil {
		return fmt.Errorf("api: delete room: %w", err)
	}
	if err := s.store.DeleteRoom(ctx, id); err != nil {
		return fmt.Errorf("api: delete room: %w", err)
	}
	if s.cfg.Blobs != nil {
		for _, a := range atts {
			s.dropBlobs(context.WithoutCancel(ctx), a)
		}
	}
	s.publish(&node.Event{Type: node.EventRoomDeleted, RoomID: id, Data: &RoomDeletedEvent{RoomID: id}})
	s.hub.kickAll(id)
	s.node.RoomChanged(id)
	return nil
}

// handleJoinRoom joins a public room (200 with the room). A member joining again
// gets 200 and nothing changes; a private room or a DM one is not in is 404.
func (s *Server) handleJoinRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.roomFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if member != nil {
		return writeJSON(w, http.StatusOK, room)
	}
	if room.Type != chat.RoomPublic { // roomFor hides these already; kept as a guard
		return errRoomNotFound()
	}
	me, err := s.currentUser(ctx, sess)
	if err != nil {
		return err
	}
	added, err := s.store.AddMember(ctx, id, sess.UserID, chat.RoleMember, chat.DefaultLevel(room.Type), s.cfg.Now())
	if err != nil {
		return fmt.Errorf("api: join room: %w", err)
	}
	if added {
		s.memberJoined(ctx, id, me, me.Username+" joined")
	}
	view, err := s.roomView(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, view)
}

// handleLeaveRoom leaves a room (204). The owner must transfer ownership first while
// others remain (409 owner_must_transfer); an owner who is the last member deletes
// the room by leaving. Leaving a DM hides it: opening the DM again (POST /rooms)
// makes both users members once more, with the history intact.
func (s *Server) handleLeaveRoom(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.memberOf(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if member.Role == chat.RoleOwner {
		if room.MemberCount > 1 {
			return chat.Errorf(chat.CodeOwnerMustTransfer, "transfer ownership before leaving")
		}
		if err := s.deleteRoom(ctx, id); err != nil {
			return err
		}
		writeNoContent(w)
		return nil
	}
	removed, err := s.store.RemoveMember(ctx, id, sess.UserID)
	if err != nil {
		return fmt.Errorf("api: leave room: %w", err)
	}
	if removed {
		s.memberLeft(ctx, id, &member.User, member.User.Username+" left")
	}
	writeNoContent(w)
	return nil
}

// levelRequest is the body of PUT /rooms/:id/notification-level.
type levelRequest struct {
	Level *chat.NotificationLevel `json:"level"`
}

// handleSetLevel sets the caller's notification level in a room and returns the room.
func (s *Server) handleSetLevel(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req levelRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.memberOf(ctx, id, sess.UserID); err != nil {
		return err
	}
	var level chat.NotificationLevel
	if req.Level != nil {
		level = *req.Level
	}
	if err := chat.ValidateLevel(level); err != nil {
		return err
	}
	if err := s.store.SetLevel(ctx, id, sess.UserID, level); err != nil {
		return fmt.Errorf("api: set notification level: %w", err)
	}
	view, err := s.roomView(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, view)
}

// memberJoined follows a new membership: the owner reloads the member set, the room
// hears user_joined, and a system message by u records text.
func (s *Server) memberJoined(ctx context.Context, roomID chat.ID, u *chat.User, text string) {
	s.node.RoomChanged(roomID)
	s.publishJoined(roomID, u)
	s.systemMessage(ctx, roomID, u, text)
}

// memberLeft follows the end of u's own membership: the owner reloads the member
// set, the room hears user_left, and a system message by u records text.
func (s *Server) memberLeft(ctx context.Context, roomID chat.ID, u *chat.User, text string) {
	s.node.RoomChanged(roomID)
	s.publishLeft(roomID, u.ID)
	s.systemMessage(ctx, roomID, u, text)
}

// publishJoined emits user_joined {room_id, user}.
func (s *Server) publishJoined(roomID chat.ID, u *chat.User) {
	s.publish(&node.Event{Type: node.EventUserJoined, RoomID: roomID,
		Data: &UserJoinedEvent{RoomID: roomID, User: *u}})
}

// publishLeft emits user_left {room_id, user_id}.
func (s *Server) publishLeft(roomID, userID chat.ID) {
	s.publish(&node.Event{Type: node.EventUserLeft, RoomID: roomID,
		Data: &UserLeftEvent{RoomID: roomID, UserID: userID}})
	// The user's sockets stop receiving the room's events at once (after hearing
	// that they left).
	s.hub.kick(roomID, userID)
}

// roomView reloads a room as viewer sees it (after a change).
func (s *Server) roomView(ctx context.Context, id, viewer chat.ID) (*chat.Room, error) {
	room, err := s.store.RoomByID(ctx, id, viewer)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errRoomNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: load room: %w", err)
	}
	return room, nil
}

// neutralRoom is a room without the fields that depend on who looks (my_role,
// notification_level, unread_count), for events that every member receives.
func neutralRoom(r *chat.Room) *chat.Room {
	c := *r
	c.MyRole, c.NotificationLevel, c.UnreadCount = nil, nil, 0
	return &c
}

// refuseDirect refuses an operation that only group rooms have (403).
func refuseDirect(room *chat.Room, what string) error {
	if room.Type == chat.RoomDirect {
		return chat.Errorf(chat.CodeForbidden, "direct rooms cannot be %s", what)
	}
	return nil
}

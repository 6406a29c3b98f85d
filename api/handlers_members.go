package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerMembers) }

// registerMembers registers the membership routes: list, add, remove, change role.
func (s *Server) registerMembers() {
	s.authed("GET /rooms/{id}/members", s.handleListMembers)
	s.authed("POST /rooms/{id}/members", s.handleAddMember)
	s.authed("DELETE /rooms/{id}/members/{userId}", s.handleRemoveMember)
	s.authed("PATCH /rooms/{id}/members/{userId}/role", s.handleSetRole)
}

// handleListMembers lists a room's members in join order (members only).
func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.memberOf(ctx, id, sess.UserID); err != nil {
		return err
	}
	members, next, err := s.store.Members(ctx, id, page)
	if err != nil {
		return fmt.Errorf("api: list members: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(members, next))
}

// addMemberRequest is the body of POST /rooms/:id/members.
type addMemberRequest struct {
	UserID *string `json:"user_id"`
}

// handleAddMember adds a user to a group room (admin and owner): 201 with the new
// member, 200 with the existing one when already a member. A DM is 409
// direct_room_closed whoever asks. Added to a private room, the user gets a
// room_invite notification.
func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var req addMemberRequest
	id, room, member, err := s.roomCall(w, r, sess, &req, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if room.Type == chat.RoomDirect {
		return chat.Errorf(chat.CodeDirectRoomClosed, "a direct room cannot gain members")
	}
	if err := requireRole(member, chat.RoleAdmin); err != nil {
		return err
	}
	if req.UserID == nil {
		return chat.FieldError("user_id", "user_id is required")
	}
	target, err := chat.ParseID(*req.UserID)
	if err != nil {
		return chat.FieldError("user_id", "user_id must be a UUID")
	}
	u, err := s.userByID(ctx, target)
	if err != nil {
		return err
	}
	added, err := s.store.AddMember(ctx, id, target, chat.RoleMember, chat.DefaultLevel(room.Type), s.cfg.Now())
	if err != nil {
		return fmt.Errorf("api: add member: %w", err)
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
		s.memberAdded(ctx, room, &member.User, u)
	}
	m, err := s.memberByID(ctx, id, target)
	if err != nil {
		return err
	}
	return writeJSON(w, status, m)
}

// memberAdded follows an admin's addition of u: the usual join follow-up, and for a
// private room a room_invite notification (recorded per the new member's level).
func (s *Server) memberAdded(ctx context.Context, room *chat.Room, actor, u *chat.User) {
	if room.Type == chat.RoomPrivate && chat.DefaultLevel(room.Type).Records(chat.NotifyRoomInvite) {
		n := chat.Notification{
			ID:        chat.NewID(),
			UserID:    u.ID,
			Type:      chat.NotifyRoomInvite,
			RoomID:    room.ID,
			Actor:     *actor,
			Content:   fmt.Sprintf("%s added you to %s", actor.Username, room.Name),
			CreatedAt: s.cfg.Now(),
		}
		if err := s.notify(ctx, []chat.Notification{n}); err != nil {
			s.log.Warn("room_invite notification not stored", "room", room.ID, "user", u.ID, "err", err)
		}
	}
	s.node.RoomChanged(room.ID)
	s.publishJoined(room.ID, u)
	s.systemMessage(ctx, room.ID, actor, fmt.Sprintf("%s added %s", actor.Username, u.Username))
}

// handleRemoveMember removes a member (admin and owner; 204). The owner can never be
// removed (403) and only the owner removes admins (403 for an admin).
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	target, err := pathID(r, "userId")
	if err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.memberOf(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if err := firstError(refuseDirect(room, "changed"), requireRole(member, chat.RoleAdmin)); err != nil {
		return err
	}
	tm, err := s.memberByID(ctx, id, target)
	if err != nil {
		return err
	}
	switch {
	case tm.Role == chat.RoleOwner:
		return chat.Errorf(chat.CodeForbidden, "the owner cannot be removed")
	case tm.Role == chat.RoleAdmin && member.Role != chat.RoleOwner:
		return chat.Errorf(chat.CodeForbidden, "only the owner can remove an admin")
	}
	removed, err := s.store.RemoveMember(ctx, id, target)
	if err != nil {
		return fmt.Errorf("api: remove member: %w", err)
	}
	if removed {
		s.node.RoomChanged(id)
		s.publishLeft(id, target)
		s.systemMessage(ctx, id, &member.User, fmt.Sprintf("%s removed %s", member.User.Username, tm.User.Username))
	}
	writeNoContent(w)
	return nil
}

// roleRequest is the body of PATCH /rooms/:id/members/:userId/role.
type roleRequest struct {
	Role *chat.Role `json:"role"`
}

// handleSetRole changes a member's role (owner only) and returns the member. Giving
// the owner role transfers ownership: the old owner becomes admin. The owner cannot
// demote themselves (409 owner_must_transfer); making the owner owner is no change.
func (s *Server) handleSetRole(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	target, err := pathID(r, "userId")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	room, member, err := s.memberOf(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if err := firstError(refuseDirect(room, "changed"), requireRole(member, chat.RoleOwner)); err != nil {
		return err
	}
	var role chat.Role
	if req.Role != nil {
		role = *req.Role
	}
	if err := chat.ValidateRole(role); err != nil {
		return err
	}
	if _, err := s.memberByID(ctx, id, target); err != nil {
		return err
	}
	if err := s.applyRole(ctx, id, sess.UserID, target, role); err != nil {
		return err
	}
	m, err := s.memberByID(ctx, id, target)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// applyRole gives target role in room on behalf of owner.
func (s *Server) applyRole(ctx context.Context, room, owner, target chat.ID, role chat.Role) error {
	switch {
	case target == owner && role == chat.RoleOwner:
		return nil
	case target == owner:
		return chat.Errorf(chat.CodeOwnerMustTransfer, "give another member the owner role instead")
	case role == chat.RoleOwner:
		if err := s.store.TransferOwnership(ctx, room, owner, target); err != nil {
			return fmt.Errorf("api: transfer ownership: %w", err)
		}
	default:
		if err := s.store.SetRole(ctx, room, target, role); err != nil {
			return fmt.Errorf("api: set role: %w", err)
		}
	}
	s.node.RoomChanged(room)
	return nil
}

// memberByID loads user's membership of room; 404 "member not found" if none.
func (s *Server) memberByID(ctx context.Context, room, user chat.ID) (*chat.Member, error) {
	m, err := s.store.Member(ctx, room, user)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, chat.Errorf(chat.CodeNotFound, "member not found")
	}
	if err != nil {
		return nil, fmt.Errorf("api: load member: %w", err)
	}
	return m, nil
}

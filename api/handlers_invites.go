package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerInvites) }

// registerInvites registers the invite routes: create, preview, accept, revoke.
func (s *Server) registerInvites() {
	s.authed("POST /rooms/{id}/invites", s.handleCreateInvite)
	s.authed("GET /invites/{code}", s.handleGetInvite)
	s.authed("POST /invites/{code}/accept", s.handleAcceptInvite)
	s.authed("DELETE /invites/{code}", s.handleRevokeInvite)
}

// Invite codes: inviteCodeLen characters drawn uniformly from 62 alphanumerics by a
// cryptographic source (about 59.5 bits), within the contract's 8-12.
const (
	inviteAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	inviteCodeLen  = 10
	// inviteMaxUses bounds max_uses to what every store's integer column holds.
	inviteMaxUses = math.MaxInt32
)

// inviteExpiryMax is the latest expiry an invite gets: a longer expires_in_seconds
// is accepted and saturates here (the last instant RFC 3339 can write).
var inviteExpiryMax = chat.MaxTime

// createInviteRequest is the body of POST /rooms/:id/invites; both fields optional
// (unlimited uses, chat.InviteTTL), each >= 1 when given.
type createInviteRequest struct {
	MaxUses          *int64 `json:"max_uses"`
	ExpiresInSeconds *int64 `json:"expires_in_seconds"`
}

// validate checks the limits and returns max_uses as the invite keeps it.
func (req *createInviteRequest) validate() (*int, error) {
	if req.ExpiresInSeconds != nil && *req.ExpiresInSeconds < 1 {
		return nil, chat.FieldError("expires_in_seconds", "expires_in_seconds must be at least 1")
	}
	if req.MaxUses == nil {
		return nil, nil
	}
	if *req.MaxUses < 1 || *req.MaxUses > inviteMaxUses {
		return nil, chat.FieldError("max_uses", "max_uses must be 1-%d", inviteMaxUses)
	}
	n := int(*req.MaxUses)
	return &n, nil
}

// expiry returns now plus the requested lifetime (default chat.InviteTTL),
// saturating at inviteExpiryMax.
func (req *createInviteRequest) expiry(now chat.Time) chat.Time {
	if req.ExpiresInSeconds == nil {
		return now.Add(chat.InviteTTL)
	}
	secs := *req.ExpiresInSeconds
	if secs > int64(inviteExpiryMax-now)/1000 {
		return inviteExpiryMax
	}
	return now + chat.Time(secs*1000)
}

// handleCreateInvite creates an invite code for a group room (admin and owner; 201).
// A DM never gains a member, so inviting to one is 409 direct_room_closed.
func (s *Server) handleCreateInvite(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var req createInviteRequest
	id, room, member, err := s.roomCall(w, r, sess, &req, true)
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
	maxUses, err := req.validate()
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	inv := &chat.Invite{RoomID: id, CreatedBy: sess.UserID, CreatedAt: now,
		ExpiresAt: req.expiry(now), MaxUses: maxUses}
	if err := s.createInvite(ctx, inv); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, inv)
}

// createInvite stores inv under a fresh code, drawing again on the (astronomically
// unlikely) collision with an existing code.
func (s *Server) createInvite(ctx context.Context, inv *chat.Invite) error {
	var err error
	for range 3 {
		inv.Code = newInviteCode()
		err = s.store.CreateInvite(ctx, inv)
		if !errors.Is(err, chat.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("api: create invite: %w", err)
	}
	return nil
}

// newInviteCode draws inviteCodeLen characters of inviteAlphabet, rejecting bytes
// past the largest multiple of 62 so that every character is equally likely.
func newInviteCode() string {
	const limit = 256 - 256%len(inviteAlphabet)
	code := make([]byte, 0, inviteCodeLen)
	var buf [32]byte
	for len(code) < inviteCodeLen {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(code) < inviteCodeLen {
				code = append(code, inviteAlphabet[int(b)%len(inviteAlphabet)])
			}
		}
	}
	return string(code)
}

// invitePreview is the answer of GET /invites/:code.
type invitePreview struct {
	Code      string     `json:"code"`
	Room      inviteRoom `json:"room"`
	ExpiresAt chat.Time  `json:"expires_at"`
	Valid     bool       `json:"valid"`
}

// inviteRoom is what an invite shows of its room to anyone holding the code.
type inviteRoom struct {
	ID          chat.ID       `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Type        chat.RoomType `json:"type"`
	MemberCount int           `json:"member_count"`
}

// handleGetInvite previews an invite to any signed-in user holding its code;
// valid says whether it can still be accepted.
func (s *Server) handleGetInvite(w http.ResponseWriter, r *http.Request, sess *Session) error {
	ctx := r.Context()
	inv, err := s.inviteByCode(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	room, err := s.inviteRoom(ctx, inv)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invitePreview{
		Code:      inv.Code,
		Room:      inviteRoom{ID: room.ID, Name: room.Name, Description: room.Description, Type: room.Type, MemberCount: room.MemberCount},
		ExpiresAt: inv.ExpiresAt,
		Valid:     inv.Valid(s.cfg.Now()),
	})
}

// handleAcceptInvite joins the invite's room and answers 200 with the room. An
// expired, revoked or used-up invite is 409 invite_invalid; a member accepting
// again changes nothing and uses nothing.
func (s *Server) handleAcceptInvite(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	ctx := r.Context()
	inv, err := s.inviteByCode(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	room, err := s.inviteRoom(ctx, inv)
	if err != nil {
		return err
	}
	me, err := s.currentUser(ctx, sess)
	if err != nil {
		return err
	}
	_, added, err := s.store.UseInvite(ctx, inv.Code, sess.UserID, chat.DefaultLevel(room.Type), s.cfg.Now())
	if err != nil {
		if e := chat.AsError(err); e != nil && e.Code == chat.CodeInviteInvalid {
			return chat.Errorf(chat.CodeInviteInvalid, "invite is expired, revoked or used up")
		}
		return fmt.Errorf("api: use invite: %w", err)
	}
	if added {
		s.memberJoined(ctx, inv.RoomID, me, me.Username+" joined")
	}
	view, err := s.roomView(ctx, inv.RoomID, sess.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, view)
}

// handleRevokeInvite revokes an invite (admin and owner of its room; 204, also when
// revoked already). Others who hold the code get 403.
func (s *Server) handleRevokeInvite(w http.ResponseWriter, r *http.Request, sess *Session) error {
	ctx := r.Context()
	inv, err := s.inviteByCode(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	m, err := s.store.Member(ctx, inv.RoomID, sess.UserID)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return chat.Errorf(chat.CodeForbidden, "only the room's admins can revoke its invites")
	case err != nil:
		return fmt.Errorf("api: load membership: %w", err)
	}
	if err := requireRole(m, chat.RoleAdmin); err != nil {
		return err
	}
	if err := s.store.RevokeInvite(ctx, inv.Code); err != nil {
		return fmt.Errorf("api: revoke invite: %w", err)
	}
	writeNoContent(w)
	return nil
}

// inviteByCode loads an invite; a malformed or unknown code is 404.
func (s *Server) inviteByCode(ctx context.Context, code string) (*chat.Invite, error) {
	if chat.ValidateInviteCode(code) != nil {
		return nil, errInviteNotFound()
	}
	inv, err := s.store.InviteByCode(ctx, code)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errInviteNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: load invite: %w", err)
	}
	return inv, nil
}

// inviteRoom loads an invite's room as an outsider sees it; 404 "invite not found"
// if the room is gone.
func (s *Server) inviteRoom(ctx context.Context, inv *chat.Invite) (*chat.Room, error) {
	room, err := s.store.RoomByID(ctx, inv.RoomID, chat.NilID)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errInviteNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: load invite room: %w", err)
	}
	return room, nil
}

// errInviteNotFound is the 404 for an unknown or malformed code, or a deleted room.
func errInviteNotFound() error { return chat.Errorf(chat.CodeNotFound, "invite not found") }

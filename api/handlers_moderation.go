package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerModeration) }

// registerModeration registers pins, mutes and reports.
func (s *Server) registerModeration() {
	s.authed("GET /rooms/{id}/pins", s.handleListPins)
	s.authed("POST /rooms/{id}/pins/{messageId}", s.handlePin)
	s.authed("DELETE /rooms/{id}/pins/{messageId}", s.handleUnpin)
	s.authed("POST /rooms/{id}/mutes/{userId}", s.handleMute)
	s.authed("DELETE /rooms/{id}/mutes/{userId}", s.handleUnmute)
	s.authed("POST /messages/{id}/report", s.handleReport)
	s.authed("GET /rooms/{id}/reports", s.handleListReports)
	s.authed("PATCH /reports/{id}", s.handleReviewReport)
}

// adminOf loads the room in the path with the caller's membership and requires the
// admin role or above.
func (s *Server) adminOf(r *http.Request, sess *Session) (*chat.Room, *chat.Member, error) {
	roomID, err := pathID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	room, member, err := s.memberOf(r.Context(), roomID, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if err := requireRole(member, chat.RoleAdmin); err != nil {
		return nil, nil, err
	}
	return room, member, nil
}

// handleListPins answers GET /rooms/:id/pins: any member lists, newest pin first.
func (s *Server) handleListPins(w http.ResponseWriter, r *http.Request, sess *Session) error {
	roomID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, _, err := s.memberOf(r.Context(), roomID, sess.UserID); err != nil {
		return err
	}
	pins, err := s.store.Pins(r.Context(), roomID, sess.UserID)
	if err != nil {
		return fmt.Errorf("api: pins: %w", err)
	}
	return writeJSON(w, http.StatusOK, newList(pins, ""))
}

// handlePin answers POST /rooms/:id/pins/:messageId (admins): 201 with the new pin,
// 200 with the existing one when the message was pinned already. The message must
// be a live message of the room (another room's or an unknown one: 404; a deleted
// one: 409 conflict).
func (s *Server) handlePin(w http.ResponseWriter, r *http.Request, sess *Session) error {
	room, _, err := s.adminOf(r, sess)
	if err != nil {
		return err
	}
	msgID, err := pathID(r, "messageId")
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	ctx := r.Context()
	msg, err := s.store.MessageByID(ctx, msgID, sess.UserID)
	if errors.Is(err, chat.ErrNotFound) || err == nil && msg.RoomID != room.ID {
		return errMessageNotFound()
	}
	if err != nil {
		return fmt.Errorf("api: load message: %w", err)
	}
	if msg.Deleted {
		return chat.Errorf(chat.CodeConflict, "message is deleted")
	}
	if pin, err := s.findPin(ctx, room.ID, msgID, sess.UserID); err != nil || pin != nil {
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pin)
	}
	if err := s.store.Pin(ctx, room.ID, msgID, sess.UserID, s.cfg.Now()); err != nil {
		return fmt.Errorf("api: pin: %w", err)
	}
	pin, err := s.findPin(ctx, room.ID, msgID, sess.UserID)
	if err != nil {
		return err
	}
	if pin == nil { // deleted in between: deletion removes pins
		return chat.Errorf(chat.CodeConflict, "message is deleted")
	}
	return writeJSON(w, http.StatusCreated, pin)
}

// findPin returns the room's pin of a message, or nil.
func (s *Server) findPin(ctx context.Context, roomID, msgID, viewer chat.ID) (*chat.Pin, error) {
	pins, err := s.store.Pins(ctx, roomID, viewer)
	if err != nil {
		return nil, fmt.Errorf("api: pins: %w", err)
	}
	for i := range pins {
		if pins[i].Message.ID == msgID {
			return &pins[i], nil
		}
	}
	return nil, nil
}

// handleUnpin answers DELETE /rooms/:id/pins/:messageId (admins): 204, or 404 when
// the message is not pinned in the room.
func (s *Server) handleUnpin(w http.ResponseWriter, r *http.Request, sess *Session) error {
	room, _, err := s.adminOf(r, sess)
	if err != nil {
		return err
	}
	msgID, err := pathID(r, "messageId")
	if err != nil {
		return err
	}
	err = s.store.Unpin(r.Context(), room.ID, msgID)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Errorf(chat.CodeNotFound, "message is not pinned")
	}
	if err != nil {
		return fmt.Errorf("api: unpin: %w", err)
	}
	writeNoContent(w)
	return nil
}

// muteInput is the optional body of POST /rooms/:id/mutes/:userId.
type muteInput struct {
	DurationSeconds *int64 `json:"duration_seconds"`
}

// handleMute answers POST /rooms/:id/mutes/:userId {duration_seconds?} (admins): 200
// with the member, now muted for duration_seconds (>= 1) or, without it, until
// unmuted. Muting again replaces the expiry. The owner cannot be muted; an admin only
// by the owner (403). The room's owner node is told, so the next send is refused.
func (s *Server) handleMute(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var in muteInput
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	if in.DurationSeconds != nil && *in.DurationSeconds < 1 {
		return chat.FieldError("duration_seconds", "duration_seconds must be at least 1")
	}
	room, target, err := s.muteTarget(r, sess)
	if err != nil {
		return err
	}
	// Without a duration, or with one past what RFC 3339 can write, the mute is for
	// good (reported as muted with no muted_until).
	until := chat.Forever
	if d := in.DurationSeconds; d != nil && *d < (int64(chat.MaxTime)-int64(s.cfg.Now()))/1000 {
		until = s.cfg.Now() + chat.Time(*d*1000)
	}
	ctx := r.Context()
	if err := s.store.SetMute(ctx, room.ID, target.User.ID, &until); err != nil {
		return fmt.Errorf("api: mute: %w", err)
	}
	s.node.RoomChanged(room.ID)
	m, err := s.store.Member(ctx, room.ID, target.User.ID)
	if err != nil {
		return fmt.Errorf("api: reload member: %w", err)
	}
	return writeJSON(w, http.StatusOK, m)
}

// handleUnmute answers DELETE /rooms/:id/mutes/:userId (admins; an admin's mute only
// the owner lifts): 204, also when the member was not muted.
func (s *Server) handleUnmute(w http.ResponseWriter, r *http.Request, sess *Session) error {
	room, target, err := s.muteTarget(r, sess)
	if err != nil {
		return err
	}
	if err := s.store.SetMute(r.Context(), room.ID, target.User.ID, nil); err != nil {
		return fmt.Errorf("api: unmute: %w", err)
	}
	s.node.RoomChanged(room.ID)
	writeNoContent(w)
	return nil
}

// muteTarget checks a mute or unmute: the caller an admin, the target a member
// (404 otherwise) who is not the owner, and not an admin unless the caller owns the
// room.
func (s *Server) muteTarget(r *http.Request, sess *Session) (*chat.Room, *chat.Member, error) {
	room, actor, err := s.adminOf(r, sess)
	if err != nil {
		return nil, nil, err
	}
	userID, err := pathID(r, "userId")
	if err != nil {
		return nil, nil, err
	}
	target, err := s.store.Member(r.Context(), room.ID, userID)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, nil, chat.Errorf(chat.CodeNotFound, "member not found")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("api: load member: %w", err)
	}
	switch {
	case target.Role == chat.RoleOwner:
		return nil, nil, chat.Errorf(chat.CodeForbidden, "the owner cannot be muted")
	case target.Role == chat.RoleAdmin && actor.Role != chat.RoleOwner:
		return nil, nil, chat.Errorf(chat.CodeForbidden, "only the owner may mute or unmute an admin")
	}
	return room, target, nil
}

// reasonInput is the body of POST /messages/:id/report.
type reasonInput struct {
	Reason string `json:"reason"`
}

// handleReport answers POST /messages/:id/report {reason}: any member files a report
// (201) about a message of the room that is not deleted (409 conflict otherwise).
// Reporting the same message again files another report.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in reasonInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := chat.ValidateReason(in.Reason); err != nil {
		return err
	}
	ctx := r.Context()
	msg, _, _, err := s.messageFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if msg.Deleted {
		return chat.Errorf(chat.CodeConflict, "message is deleted")
	}
	reporter, err := s.currentUser(ctx, sess)
	if err != nil {
		return err
	}
	rep := &chat.Report{ID: chat.NewID(), RoomID: msg.RoomID, Message: msg, MessageID: msg.ID,
		Reporter: *reporter, Reason: in.Reason, Status: chat.ReportOpen, CreatedAt: s.cfg.Now()}
	if err := s.store.CreateReport(ctx, rep); err != nil {
		return fmt.Errorf("api: create report: %w", err)
	}
	return writeJSON(w, http.StatusCreated, rep)
}

// handleListReports answers GET /rooms/:id/reports?status=&cursor=&limit= (admins):
// the room's reports, newest first, of one status (open, resolved, dismissed) or of
// any when status is absent.
func (s *Server) handleListReports(w http.ResponseWriter, r *http.Request, sess *Session) error {
	room, _, err := s.adminOf(r, sess)
	if err != nil {
		return err
	}
	status := chat.ReportStatus(r.URL.Query().Get("status"))
	switch status {
	case "", chat.ReportOpen, chat.ReportResolved, chat.ReportDismissed:
	default:
		return chat.FieldError("status", "status must be open, resolved or dismissed")
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Reports(r.Context(), room.ID, status, page)
	if err != nil {
		return cursorError(err, "api: reports")
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// reviewInput is the body of PATCH /reports/:id.
type reviewInput struct {
	Status        chat.ReportStatus `json:"status"`
	DeleteMessage bool              `json:"delete_message"`
}

// handleReviewReport answers PATCH /reports/:id {status, delete_message?} (admins of
// the report's room; other members 403, non-members 404): status resolved or
// dismissed; delete_message (only with resolved) soft-deletes the reported message
// and publishes message_deleted. Answers 200 with the report as it now stands.
func (s *Server) handleReviewReport(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in reviewInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if in.Status != chat.ReportResolved && in.Status != chat.ReportDismissed {
		return chat.FieldError("status", "status must be resolved or dismissed")
	}
	if in.DeleteMessage && in.Status != chat.ReportResolved {
		return chat.FieldError("delete_message", "delete_message requires status resolved")
	}
	ctx := r.Context()
	rep, err := s.reportFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if in.DeleteMessage {
		if err := s.deleteReported(r, rep, sess.UserID); err != nil {
			return err
		}
	}
	if err := s.store.SetReportStatus(ctx, id, in.Status); err != nil {
		return fmt.Errorf("api: set report status: %w", err)
	}
	if rep, err = s.store.ReportByID(ctx, id); err != nil {
		return fmt.Errorf("api: reload report: %w", err)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// reportFor loads a report for a reviewer: 404 unless they are a member of its room,
// 403 unless an admin or the owner.
func (s *Server) reportFor(ctx context.Context, id, user chat.ID) (*chat.Report, error) {
	rep, err := s.store.ReportByID(ctx, id)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, chat.Errorf(chat.CodeNotFound, "report not found")
	}
	if err != nil {
		return nil, fmt.Errorf("api: load report: %w", err)
	}
	_, member, err := s.roomFor(ctx, rep.RoomID, user)
	if e := chat.AsError(err); err != nil && (e == nil || e.Code != chat.CodeNotFound) {
		return nil, err
	}
	if member == nil {
		return nil, chat.Errorf(chat.CodeNotFound, "report not found")
	}
	if err := requireRole(member, chat.RoleAdmin); err != nil {
		return nil, err
	}
	return rep, nil
}

// deleteReported soft-deletes a report's message unless it is gone already.
func (s *Server) deleteReported(r *http.Request, rep *chat.Report, viewer chat.ID) error {
	msg, err := s.store.MessageByID(r.Context(), rep.MessageID, viewer)
	if errors.Is(err, chat.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("api: load reported message: %w", err)
	}
	if msg.Deleted {
		return nil
	}
	_, err = s.deleteMessage(r, msg.ID, viewer)
	return err
}

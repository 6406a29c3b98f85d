package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerNotifications) }

// registerNotifications registers the caller's notification inbox. Notifications
// live chat.NotificationTTL (30 days); older ones are neither listed nor counted.
func (s *Server) registerNotifications() {
	s.authed("GET /notifications", s.handleListNotifications)
	s.authed("GET /notifications/unread-count", s.handleUnreadCount)
	s.authed("PATCH /notifications/read-all", s.handleReadAllNotifications)
	s.authed("PATCH /notifications/{id}/read", s.handleReadNotification)
}

// handleListNotifications answers GET /notifications?unread=true&cursor=&limit=:
// newest first; unread=true lists only unread ones (unread=false or absent: all).
func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var unread bool
	switch v := r.URL.Query().Get("unread"); v {
	case "", "false":
	case "true":
		unread = true
	default:
		return chat.FieldError("unread", "unread must be true or false")
	}
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Notifications(r.Context(), sess.UserID, unread, page)
	if err != nil {
		return cursorError(err, "api: notifications")
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// handleReadNotification answers PATCH /notifications/:id/read: 204; 404 when the
// notification is not the caller's. The body is empty or {}.
func (s *Server) handleReadNotification(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	err = s.store.MarkNotificationRead(r.Context(), sess.UserID, id)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Errorf(chat.CodeNotFound, "notification not found")
	}
	if err != nil {
		return fmt.Errorf("api: mark notification read: %w", err)
	}
	writeNoContent(w)
	return nil
}

// handleReadAllNotifications answers PATCH /notifications/read-all: 204. The body is
// empty or {}.
func (s *Server) handleReadAllNotifications(w http.ResponseWriter, r *http.Request, sess *Session) error {
	var body struct{}
	if err := decodeJSON(w, r, &body, true); err != nil {
		return err
	}
	if err := s.store.MarkAllNotificationsRead(r.Context(), sess.UserID); err != nil {
		return fmt.Errorf("api: mark all notifications read: %w", err)
	}
	writeNoContent(w)
	return nil
}

// unreadCount is the body of GET /notifications/unread-count.
type unreadCount struct {
	Count int `json:"count"`
}

// handleUnreadCount answers GET /notifications/unread-count -> {count}.
func (s *Server) handleUnreadCount(w http.ResponseWriter, r *http.Request, sess *Session) error {
	n, err := s.store.UnreadNotificationCount(r.Context(), sess.UserID)
	if err != nil {
		return fmt.Errorf("api: unread notifications: %w", err)
	}
	return writeJSON(w, http.StatusOK, unreadCount{Count: n})
}

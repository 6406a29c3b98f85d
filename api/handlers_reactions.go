package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerReactions) }

// registerReactions registers adding and removing a reaction. Both answer with the
// message as the caller now sees it (reactions grouped, with "me").
func (s *Server) registerReactions() {
	s.authed("POST /messages/{id}/reactions", s.handleAddReaction)
	s.authed("DELETE /messages/{id}/reactions/{emoji}", s.handleRemoveReaction)
}

// ReactionAddedEvent is the payload of reaction_added.
type ReactionAddedEvent struct {
	MessageID chat.ID   `json:"message_id"`
	RoomID    chat.ID   `json:"room_id"`
	User      chat.User `json:"user"`
	Emoji     string    `json:"emoji"`
}

// ReactionRemovedEvent is the payload of reaction_removed.
type ReactionRemovedEvent struct {
	MessageID chat.ID `json:"message_id"`
	RoomID    chat.ID `json:"room_id"`
	UserID    chat.ID `json:"user_id"`
	Emoji     string  `json:"emoji"`
}

// emojiInput is the body of POST /messages/:id/reactions.
type emojiInput struct {
	Emoji string `json:"emoji"`
}

// handleAddReaction answers POST /messages/:id/reactions {emoji}: 201 with the
// message; 409 reaction_exists when the caller already reacted so. Members only; a
// deleted message takes no reactions (409 conflict); system messages do (a wave at
// "alice joined"). Reacting is speaking in the room: a muted member gets 403 muted,
// and in a direct room a user the other member blocks gets 403 blocked.
func (s *Server) handleAddReaction(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in emojiInput
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := chat.ValidateEmoji(in.Emoji); err != nil {
		return err
	}
	ctx := r.Context()
	msg, room, member, err := s.messageFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	if msg.Deleted {
		return chat.Errorf(chat.CodeConflict, "message is deleted")
	}
	if err := s.checkSpeaker(ctx, room, member, sess.UserID); err != nil {
		return err
	}
	user, err := s.currentUser(ctx, sess)
	if err != nil {
		return err
	}
	if err := s.store.AddReaction(ctx, id, sess.UserID, in.Emoji, s.cfg.Now()); err != nil {
		if e := chat.AsError(err); e != nil && e.Code == chat.CodeReactionExists {
			return chat.Errorf(chat.CodeReactionExists, "you already reacted with %s", in.Emoji)
		}
		return fmt.Errorf("api: add reaction: %w", err)
	}
	s.publish(&node.Event{Type: node.EventReactionAdded, RoomID: msg.RoomID,
		Data: &ReactionAddedEvent{MessageID: id, RoomID: msg.RoomID, User: *user, Emoji: in.Emoji}})
	return s.writeMessage(ctx, w, http.StatusCreated, id, sess.UserID)
}

// handleRemoveReaction answers DELETE /messages/:id/reactions/:emoji (the emoji
// URL-encoded in the path): 200 with the message; 404 when the caller had no such
// reaction (including on a deleted message, whose reactions are gone).
func (s *Server) handleRemoveReaction(w http.ResponseWriter, r *http.Request, sess *Session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	emoji := r.PathValue("emoji")
	if err := chat.ValidateEmoji(emoji); err != nil {
		return err
	}
	ctx := r.Context()
	msg, _, _, err := s.messageFor(ctx, id, sess.UserID)
	if err != nil {
		return err
	}
	err = s.store.RemoveReaction(ctx, id, sess.UserID, emoji)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Errorf(chat.CodeNotFound, "reaction not found")
	}
	if err != nil {
		return fmt.Errorf("api: remove reaction: %w", err)
	}
	s.publish(&node.Event{Type: node.EventReactionRemoved, RoomID: msg.RoomID,
		Data: &ReactionRemovedEvent{MessageID: id, RoomID: msg.RoomID, UserID: sess.UserID, Emoji: emoji}})
	return s.writeMessage(ctx, w, http.StatusOK, id, sess.UserID)
}

// writeMessage answers with a message as viewer sees it now.
func (s *Server) writeMessage(ctx context.Context, w http.ResponseWriter, status int, id, viewer chat.ID) error {
	msg, err := s.store.MessageByID(ctx, id, viewer)
	if errors.Is(err, chat.ErrNotFound) {
		return errMessageNotFound()
	}
	if err != nil {
		return fmt.Errorf("api: reload message: %w", err)
	}
	return writeJSON(w, status, msg)
}

// checkSpeaker applies the rules the room owner applies to senders to other ways of
// speaking in a room (reactions): not muted, and in a direct room not blocked by the
// other member.
func (s *Server) checkSpeaker(ctx context.Context, room *chat.Room, member *chat.Member, user chat.ID) error {
	if mutedNow(member, s.cfg.Now()) {
		return chat.Errorf(chat.CodeMuted, "you are muted in this room")
	}
	if room.Type != chat.RoomDirect {
		return nil
	}
	refs, err := s.store.MemberIDs(ctx, room.ID)
	if err != nil {
		return fmt.Errorf("api: direct room members: %w", err)
	}
	for _, ref := range refs {
		if ref.UserID == user {
			continue
		}
		blocked, err := s.store.Blocked(ctx, ref.UserID, user)
		if err != nil {
			return fmt.Errorf("api: block check: %w", err)
		}
		if blocked {
			return chat.Errorf(chat.CodeBlocked, "this user does not accept your messages")
		}
	}
	return nil
}

// mutedNow reports whether a member's moderation mute is in force at now.
func mutedNow(m *chat.Member, now chat.Time) bool {
	if !m.Muted {
		return false
	}
	return m.MutedUntil == nil || now < *m.MutedUntil
}

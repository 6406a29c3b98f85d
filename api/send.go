package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// SendInput is a message to send: the body of POST /rooms/:id/messages and the data
// of the WebSocket send_message frame (whose room_id travels beside it). IDs are
// strings so that a malformed one is a validation error naming its field.
type SendInput struct {
	Content     string   `json:"content"`
	ParentID    *string  `json:"parent_id,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
	ClientMsgID *string  `json:"client_msg_id,omitempty"`
}

// validate checks what needs no store: content up to 10,000 code points and not
// blank (it may be empty when attachments are given), client_msg_id 1-100 printable
// characters, parent_id a UUID, and at most chat.MaxAttachments distinct attachment
// UUIDs.
func (in *SendInput) validate() (parent *chat.ID, attachments []chat.ID, err error) {
	if len(in.Attachments) == 0 || in.Content != "" {
		if err := chat.ValidateContent(in.Content); err != nil {
			return nil, nil, err
		}
	}
	if in.ClientMsgID != nil {
		if err := chat.ValidateClientMsgID(*in.ClientMsgID); err != nil {
			return nil, nil, err
		}
	}
	if in.ParentID != nil {
		id, err := chat.ParseID(*in.ParentID)
		if err != nil {
			return nil, nil, chat.FieldError("parent_id", "parent_id must be a UUID")
		}
		parent = &id
	}
	if attachments, err = attachmentIDs(in.Attachments); err != nil {
		return nil, nil, err
	}
	return parent, attachments, nil
}

// attachmentIDs parses the attachment list: UUIDs, no repeats, at most
// chat.MaxAttachments.
func attachmentIDs(raw []string) ([]chat.ID, error) {
	if len(raw) > chat.MaxAttachments {
		return nil, chat.FieldError("attachments", "at most %d attachments per message", chat.MaxAttachments)
	}
	ids := make([]chat.ID, 0, len(raw))
	for _, r := range raw {
		id, err := chat.ParseID(r)
		if err != nil {
			return nil, chat.FieldError("attachments", "attachments must be UUIDs")
		}
		if slices.Contains(ids, id) {
			return nil, chat.FieldError("attachments", "attachment %s is listed twice", id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// loadAttachments returns the attachments to put on a new message: each must be the
// sender's own upload and on no message yet. One answer for every refusal (unknown,
// someone else's, already posted), so that IDs cannot be probed. The owner checks
// again when it commits (persist.ErrAttachmentTaken): two sends may race.
func (s *Server) loadAttachments(ctx context.Context, sender chat.ID, ids []chat.ID) ([]chat.Attachment, error) {
	out := make([]chat.Attachment, 0, len(ids))
	for _, id := range ids {
		rec, err := s.store.AttachmentByID(ctx, id)
		if err != nil && !errors.Is(err, chat.ErrNotFound) {
			return nil, fmt.Errorf("api: load attachment: %w", err)
		}
		if err != nil || rec.UploaderID != sender || rec.MessageID != nil || rec.RoomID != nil {
			return nil, chat.FieldError("attachments", "attachment %s is not an upload of yours that is free to attach", id)
		}
		out = append(out, rec.Attachment)
	}
	return out, nil
}

// messageType is the type of a message carrying attachments (chat.MessageTypeFor).
func messageType(atts []chat.Attachment) chat.MessageType {
	mts := make([]string, len(atts))
	for i, a := range atts {
		mts[i] = a.MimeType
	}
	return chat.MessageTypeFor(mts)
}

// notifyTimeout bounds the work done after a message is durable (notifications),
// which must not depend on the sender's connection staying open.
const notifyTimeout = 5 * time.Second

// sendMessage is the one send path of the API, shared by REST and WebSocket. In order:
//
//  1. validate the input (no store);
//  2. idempotency: a message of this sender with this client_msg_id is returned as it
//     is (created=false), whatever room and content the resend names, and resending
//     a stored message never counts against the rate limit. No read is spent on it
//     up front: the owner's commit refuses a reused id and answers with the
//     original, any refusal of steps 3-5 is looked up before it is reported
//     (node.OriginalOr), and a send that stored nothing is refunded to the limiter;
//  3. a reply's parent must be a message of the same room (unknown, elsewhere or a
//     system message: 400 validation_failed on parent_id, one answer for all, so
//     message IDs cannot be probed). The caller's membership is checked first (the
//     room's visibility rules), so a non-member cannot use parent_id as an oracle.
//     Replying to a deleted message is allowed: a deleted message keeps its replies,
//     and its thread may go on;
//  4. the attachments must be the sender's uploads on no message yet
//     (loadAttachments); they decide the message's type (image or file);
//  5. the owner's rules where they are cheap (node.CheckSender: a member, not muted,
//     not blocked in a DM, checked on the room's owner; elsewhere the owner checks
//     them on Send and a refusal is refunded), then the rate limit (chat.SendLimit
//     per chat.SendWindow per user, shared with the WebSocket): refused is 429
//     rate_limited with retry_after_ms. It is checked as late as possible so that
//     refused sends never count. A limiter that cannot decide (Redis down) lets the
//     send through, logged: chat stays up without Redis;
//  6. render content_html once and hand the message to the room's owner (node.Send),
//     which checks membership, mute and block, sequences, group-commits and fans out;
//  7. once durable, record and publish notifications (notify.go); failures there are
//     logged, never reported to the sender, whose message is stored.
//
// Errors are *chat.Error for the client's mistakes. node.ErrUnknownOutcome (the
// commit may or may not have happened) is returned as is: the caller must not answer
// with an error then (the REST handler aborts the response, see handleSend), because
// the contract promises that an error means "not stored".
func (s *Server) sendMessage(ctx context.Context, sess *Session, roomID chat.ID, in *SendInput) (*chat.Message, bool, error) {
	start := time.Now()
	parentID, attachmentIDs, err := in.validate()
	if err != nil {
		return nil, false, err
	}
	parent, atts, sender, err := s.admitSend(ctx, sess, roomID, parentID, attachmentIDs)
	if err != nil {
		// A resend of a stored message is answered with it, whatever refused it here.
		return s.node.OriginalOr(ctx, sess.UserID, in.ClientMsgID, err)
	}
	// The owner answers a reused client_msg_id, and its own refusals of a resend,
	// with the original.
	msg, created, err := s.node.Send(ctx, &node.SendRequest{
		RoomID:      roomID,
		Sender:      *sender,
		Type:        messageType(atts),
		Content:     in.Content,
		ContentHTML: s.md.Render(in.Content),
		ParentID:    parentID,
		Attachments: atts,
		ClientMsgID: in.ClientMsgID,
	})
	if !created && (err == nil || chat.AsError(err) != nil) {
		// Not stored by this attempt (a resend answered with the original, or the
		// owner refused it): it does not count against the rate limit.
		s.refundSend(ctx, sess.UserID)
	}
	if err != nil {
		return nil, false, err
	}
	if created {
		s.m.send.Observe(time.Since(start).Seconds())
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
		s.notifyMessage(nctx, msg, parent)
		cancel()
	}
	return msg, created, nil
}

// admitSend is steps 3-5 of sendMessage: the reply's parent, the attachments, the
// sender, the owner's rules where they are cheap, and last the rate limit.
func (s *Server) admitSend(ctx context.Context, sess *Session, roomID chat.ID, parentID *chat.ID, attachmentIDs []chat.ID) (parent *chat.Message, atts []chat.Attachment, sender *chat.User, err error) {
	if parentID != nil {
		if parent, err = s.replyParent(ctx, sess.UserID, roomID, *parentID); err != nil {
			return nil, nil, nil, err
		}
	}
	if atts, err = s.loadAttachments(ctx, sess.UserID, attachmentIDs); err != nil {
		return nil, nil, nil, err
	}
	if sender, err = s.users.get(ctx, s, sess); err != nil {
		return nil, nil, nil, err
	}
	// The owner's rules first, so that a send it would refuse never counts against
	// the rate limit (refused sends do not count, the contract says).
	if err = s.node.CheckSender(ctx, roomID, sess.UserID); err != nil {
		return nil, nil, nil, err
	}
	if err = s.allowSend(ctx, sess.UserID); err != nil {
		return nil, nil, nil, err
	}
	return parent, atts, sender, nil
}

// replyParent loads the parent of a reply after checking the caller may see the room.
func (s *Server) replyParent(ctx context.Context, user, roomID, parentID chat.ID) (*chat.Message, error) {
	if _, _, err := s.memberOf(ctx, roomID, user); err != nil {
		return nil, err
	}
	parent, err := s.store.MessageByID(ctx, parentID, user)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return nil, errBadParent()
	case err != nil:
		return nil, fmt.Errorf("api: load parent: %w", err)
	case parent.RoomID != roomID || parent.Type == chat.MessageSystem:
		return nil, errBadParent()
	}
	return parent, nil
}

func errBadParent() error {
	return chat.FieldError("parent_id", "parent_id must be a message of this room")
}

// refundSend takes back a send that allowSend counted but that stored nothing.
func (s *Server) refundSend(ctx context.Context, user chat.ID) {
	if err := s.limiter.Refund(context.WithoutCancel(ctx), "send:"+user.String()); err != nil {
		s.m.redisErrors.Inc()
		s.log.Warn("send rate limit refund failed", "user", user, "err", err)
	}
}

// allowSend counts one send against the user's sliding window.
func (s *Server) allowSend(ctx context.Context, user chat.ID) error {
	ok, retry, err := s.limiter.Allow(ctx, "send:"+user.String(), chat.SendLimit, chat.SendWindow)
	if err != nil {
		if ctx.Err() != nil {
			return chat.Errorf(chat.CodeUnavailable, "request cancelled")
		}
		s.m.redisErrors.Inc()
		s.log.Warn("send rate limiter unavailable; send allowed", "user", user, "err", err)
		return nil
	}
	if !ok {
		s.m.rateLimited.Inc()
		ms := max(retry.Milliseconds(), 1)
		if retry > time.Duration(ms)*time.Millisecond {
			ms++ // round up: retrying at retry_after_ms must succeed
		}
		return &chat.Error{Code: chat.CodeRateLimited, RetryAfterMs: ms,
			Message: fmt.Sprintf("at most %d messages per %d seconds", chat.SendLimit, int(chat.SendWindow/time.Second))}
	}
	return nil
}

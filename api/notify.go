package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// NotificationEvent is the payload of the `notification` event, sent to every
// connection of its recipient.
type NotificationEvent struct {
	Notification *chat.Notification `json:"notification"`
}

// notificationSnippet is how many code points of a message a notification carries.
const notificationSnippet = 200

// notifyMessage records and publishes the notifications a new message causes:
//
//   - mention: members named as @username in the content;
//   - reply: the sender of the parent message;
//   - direct_message: the other member of a direct room.
//
// A recipient gets at most one notification per message, the most specific one
// (mention, then reply, then direct_message), and only if their level in the room
// records that type (chat.NotificationLevel.Records). The sender is never notified,
// nor is a non-member (a mention of an outsider is plain text), nor a user who blocks
// the sender. Failures are logged: the message is already durable and stays sent.
func (s *Server) notifyMessage(ctx context.Context, msg, parent *chat.Message) {
	ns, err := s.messageNotifications(ctx, msg, parent)
	if err == nil && len(ns) > 0 {
		err = s.notify(ctx, ns)
	}
	if err != nil {
		s.log.Warn("notifications not recorded", "room", msg.RoomID, "message", msg.ID, "err", err)
	}
}

// messageNotifications works out the notifications of msg (see notifyMessage).
func (s *Server) messageNotifications(ctx context.Context, msg, parent *chat.Message) ([]chat.Notification, error) {
	typ, err := s.roomTypes.get(ctx, s, msg.RoomID)
	if err != nil {
		return nil, err
	}
	sender := msg.Sender.ID
	want := make(map[chat.ID]chat.NotificationType)
	if parent != nil && parent.Sender.ID != sender {
		want[parent.Sender.ID] = chat.NotifyReply
	}
	if names := chat.Mentions(msg.Content); len(names) > 0 {
		users, err := s.store.UsersByUsernames(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("api: mentioned users: %w", err)
		}
		for _, u := range users {
			if u.ID != sender {
				want[u.ID] = chat.NotifyMention // takes precedence over reply
			}
		}
	}
	if len(want) == 0 && typ != chat.RoomDirect {
		return nil, nil
	}
	refs, err := s.store.MemberIDs(ctx, msg.RoomID)
	if err != nil {
		return nil, fmt.Errorf("api: room members: %w", err)
	}
	now := s.cfg.Now()
	var ns []chat.Notification
	for _, ref := range refs {
		t, ok := want[ref.UserID]
		if !ok && typ == chat.RoomDirect {
			t, ok = chat.NotifyDirectMessage, true
		}
		if !ok || ref.UserID == sender || !ref.Level.Records(t) {
			continue
		}
		blocked, err := s.store.Blocked(ctx, ref.UserID, sender)
		if err != nil {
			return nil, fmt.Errorf("api: block check: %w", err)
		}
		if blocked {
			continue
		}
		id := msg.ID
		ns = append(ns, chat.Notification{
			ID: chat.NewID(), UserID: ref.UserID, Type: t, RoomID: msg.RoomID, MessageID: &id,
			Actor: msg.Sender, Content: snippet(msg.Content, notificationSnippet), CreatedAt: now,
		})
	}
	return ns, nil
}

// notify records notifications in one store call and publishes a `notification`
// event to each recipient. Callers that create other kinds (room_invite) use it too.
func (s *Server) notify(ctx context.Context, ns []chat.Notification) error {
	if err := s.store.CreateNotifications(ctx, ns); err != nil {
		return fmt.Errorf("api: create notifications: %w", err)
	}
	for i := range ns {
		n := ns[i]
		s.publish(&node.Event{Type: node.EventNotification, UserID: n.UserID, Data: &NotificationEvent{Notification: &n}})
	}
	return nil
}

// snippet returns the first n code points of s.
func snippet(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// roomTypeCache remembers room types, which never change, so the send path learns
// whether a room is direct without a store round trip per message. The zero value
// is ready; it forgets everything when it grows past roomTypeCacheMax.
type roomTypeCache struct {
	mu sync.Mutex
	m  map[chat.ID]chat.RoomType
}

const roomTypeCacheMax = 100000

func (c *roomTypeCache) get(ctx context.Context, s *Server, id chat.ID) (chat.RoomType, error) {
	c.mu.Lock()
	t, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	room, err := s.store.RoomByID(ctx, id, chat.NilID)
	if errors.Is(err, chat.ErrNotFound) {
		return "", errRoomNotFound()
	}
	if err != nil {
		return "", fmt.Errorf("api: load room type: %w", err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= roomTypeCacheMax {
		c.m = make(map[chat.ID]chat.RoomType)
	}
	c.m[id] = room.Type
	c.mu.Unlock()
	return room.Type, nil
}

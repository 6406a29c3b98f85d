package node

import (
	"encoding/json"

	"github.com/chatd/chatd/chat"
)

// EventType names a server event of the wire contract.
type EventType string

// The server events of the contract that rooms and users emit.
const (
	EventMessageCreated  EventType = "message_created"
	EventMessageUpdated  EventType = "message_updated"
	EventMessageDeleted  EventType = "message_deleted"
	EventReactionAdded   EventType = "reaction_added"
	EventReactionRemoved EventType = "reaction_removed"
	EventUserTyping      EventType = "user_typing"
	EventUserJoined      EventType = "user_joined"
	EventUserLeft        EventType = "user_left"
	EventReadReceipt     EventType = "read_receipt"
	EventRoomUpdated     EventType = "room_updated"
	EventRoomDeleted     EventType = "room_deleted"
	EventPresence        EventType = "presence_updated"
	EventNotification    EventType = "notification"

	// EventKick is internal, never sent to clients: the edges drop the sockets of
	// KickEvent.UserID (all sockets when zero) from the room, after the user_left or
	// room_deleted event that precedes it in the room's order.
	EventKick EventType = "_kick"
	// EventTokenRevoked is internal: every node closes the sockets of the token
	// (TokenRevokedEvent), as logout promises.
	EventTokenRevoked EventType = "_token_revoked"
	// EventPresenceBatch is internal: several presence_updated payloads for one
	// user, published together so that the edge queues them as one burst; each goes
	// to the client as a presence_updated frame of its own.
	EventPresenceBatch EventType = "_presence_batch"
	// EventUserChanged is internal: the user (UserID) changed their profile, and
	// every node drops its cached copy, so that the sender shown in new messages is
	// the new profile on every node at once, not after a cache's lifetime.
	EventUserChanged EventType = "_user_changed"
)

// KickEvent is the payload of EventKick.
type KickEvent struct {
	UserID chat.ID `json:"user_id"`
}

// TokenRevokedEvent is the payload of EventTokenRevoked.
type TokenRevokedEvent struct {
	TokenID string `json:"token_id"`
	// ExpiresAt is when the token expires anyway: nodes keep the revocation in
	// memory until then. Zero (from an older node): a full token lifetime.
	ExpiresAt chat.Time `json:"expires_at,omitempty"`
}

// Event is a domain event of one room (RoomID set) or one user (UserID set). Data is
// the event's payload, the `data` object of the wire frame; the API encodes it once
// per node. Events are immutable once published: receivers may keep them.
type Event struct {
	Type   EventType
	RoomID chat.ID
	UserID chat.ID
	// Seq is the message's seq for message_created (0 otherwise): edges use it to
	// detect gaps and to skip what a resume already replayed.
	Seq  int64
	Data any
	// Message is the message's new state for message_updated and message_deleted, so
	// the owner's recent buffer (replayed on resume) stays current.
	Message *chat.Message
}

// Sink receives a room's events on this node; the API implements it (one sink per
// local connection or per room fan-out group).
//
// Deliver is called from the room's fan-out path, for one room in event order and
// never concurrently for the same sink and room. It must not block: it enqueues
// and returns. It may keep ev.
type Sink interface {
	Deliver(ev *Event)
}

// MessageEvent is the payload of message_created and message_updated.
type MessageEvent struct {
	RoomID  chat.ID       `json:"room_id"`
	Message *chat.Message `json:"message"`
}

// MessageDeletedEvent is the payload of message_deleted.
type MessageDeletedEvent struct {
	RoomID    chat.ID `json:"room_id"`
	MessageID chat.ID `json:"message_id"`
}

// DecodeData returns an event's payload as *T, whether the event was made on this
// node (Data is *T) or arrived from another (Data is its JSON).
func DecodeData[T any](ev *Event) (*T, bool) {
	switch d := ev.Data.(type) {
	case *T:
		return d, true
	case json.RawMessage:
		var v T
		if json.Unmarshal(d, &v) != nil {
			return nil, false
		}
		return &v, true
	}
	return nil, false
}

package node

import (
	"encoding/json"

	"github.com/chatd/chatd/chat"
)

// Kinds of peer-link frames (kind 0 is the transport's heartbeat). Payloads are
// JSON: small, versionable, and encoded once per frame however many rooms' subscribers
// it serves on the receiving node.
const (
	kindSendReq     uint8 = 10 // edge -> owner: append a message
	kindSendResp    uint8 = 11 // owner -> edge: the stored message or why not
	kindSub         uint8 = 12 // edge -> owner: this node has subscribers in the room
	kindSubAck      uint8 = 13 // owner -> edge: the room's last seq at registration
	kindUnsub       uint8 = 14 // edge -> owner: no more subscribers here
	kindEvent       uint8 = 15 // owner -> edge: one room event, in the room's order
	kindPublish     uint8 = 16 // any -> owner: a room event to order and fan out
	kindUserEvent   uint8 = 17 // any -> all: an event for a user's connections
	kindRoomChanged uint8 = 18 // any -> all: reload the room's members
	kindResync      uint8 = 19 // owner -> edge: frames to you may have been lost; resubscribe
	kindMemberReq   uint8 = 20 // edge -> owner: may this user follow the room?
	kindMemberResp  uint8 = 21 // owner -> edge: yes, or why not
)

type wireSendReq struct {
	ID  uint64       `json:"id"`
	Req *SendRequest `json:"req"`
}

type wireSendResp struct {
	ID      uint64        `json:"id"`
	Message *chat.Message `json:"message,omitempty"`
	Created bool          `json:"created,omitempty"`
	Err     *chat.Error   `json:"err,omitempty"`
	Unknown bool          `json:"unknown,omitempty"`
}

type wireSub struct {
	ID   uint64  `json:"id"`
	Room chat.ID `json:"room"`
}

type wireSubAck struct {
	ID      uint64      `json:"id"`
	Room    chat.ID     `json:"room"`
	LastSeq int64       `json:"last_seq"`
	Err     *chat.Error `json:"err,omitempty"`
}

// wireEvent carries an Event between nodes; Data travels as the JSON the API would
// have encoded from it.
type wireEvent struct {
	Room    chat.ID         `json:"room,omitempty"`
	User    chat.ID         `json:"user,omitempty"`
	Seq     int64           `json:"seq,omitempty"`
	Type    EventType       `json:"type"`
	Data    json.RawMessage `json:"data,omitempty"`
	Message *chat.Message   `json:"message,omitempty"`
}

func encodeWire(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("node: encode wire frame: " + err.Error()) // only our own types: a bug
	}
	return b
}

// wireOf encodes an event for other nodes.
func wireOf(ev *Event) []byte {
	w := wireEvent{Room: ev.RoomID, User: ev.UserID, Seq: ev.Seq, Type: ev.Type, Message: ev.Message}
	switch d := ev.Data.(type) {
	case nil:
	case json.RawMessage:
		w.Data = d
	default:
		raw, err := json.Marshal(d)
		if err != nil {
			panic("node: encode event data: " + err.Error())
		}
		w.Data = raw
	}
	return encodeWire(&w)
}

// eventOf decodes an event from another node; Data stays json.RawMessage.
func eventOf(payload []byte) (*Event, error) {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, err
	}
	ev := &Event{Type: w.Type, RoomID: w.Room, UserID: w.User, Seq: w.Seq, Message: w.Message}
	if len(w.Data) > 0 {
		ev.Data = w.Data
	}
	return ev, nil
}

package api

import (
	"encoding/json"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/wsconn"
)

// wsCode is a WebSocket close code.
type wsCode = ws.StatusCode

// inFrame is a client frame: {"type", "id"?, "data"}. The id is echoed back as sent.
type inFrame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// outFrame is a server frame.
type outFrame struct {
	Type  string          `json:"type"`
	ID    json.RawMessage `json:"id,omitempty"`
	Data  any             `json:"data,omitempty"`
	Error *chat.Error     `json:"error,omitempty"`
}

func encodeFrame(f outFrame) *wsconn.Frame {
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	return wsconn.NewTextFrame(b)
}

// encodeEvent encodes a node event once for every local receiver.
func encodeEvent(ev *node.Event) *wsconn.Frame {
	return encodeFrame(outFrame{Type: string(ev.Type), Data: ev.Data})
}

func ackFrame(id json.RawMessage, data any) *wsconn.Frame {
	if data == nil {
		data = struct{}{}
	}
	return encodeFrame(outFrame{Type: "ack", ID: id, Data: data})
}

func errorFrame(id json.RawMessage, e *chat.Error) *wsconn.Frame {
	return encodeFrame(outFrame{Type: "error", ID: id, Error: e})
}

func messageFrame(room chat.ID, m *chat.Message) *wsconn.Frame {
	return encodeFrame(outFrame{Type: string(node.EventMessageCreated), Data: &node.MessageEvent{RoomID: room, Message: m}})
}

// joinAck is join_room's ack, sent after any since_seq replay.
type joinAck struct {
	RoomID  chat.ID `json:"room_id"`
	LastSeq int64   `json:"last_seq"`
}

// typingEvent is the payload of user_typing.
type typingEvent struct {
	RoomID chat.ID `json:"room_id"`
	UserID chat.ID `json:"user_id"`
	Typing bool    `json:"typing"`
}

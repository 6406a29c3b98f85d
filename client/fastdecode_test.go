package client

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/chat"
)

// The server's layout, field for field (api.outFrame and node.MessageEvent).
type serverFrame struct {
	Type  string          `json:"type"`
	ID    json.RawMessage `json:"id,omitempty"`
	Data  any             `json:"data,omitempty"`
	Error *chat.Error     `json:"error,omitempty"`
}

type serverMessageEvent struct {
	RoomID  chat.ID       `json:"room_id"`
	Message *chat.Message `json:"message"`
}

// TestFastDecodeAgrees: on frames laid out as the server writes them, the fast
// paths give what encoding/json gives; on anything else they step aside.
func TestFastDecodeAgrees(t *testing.T) {
	room := chat.NewID()
	var frames [][]byte
	for i, content := range []string{"hi", `quote " and \ and }} and {"seq":1}`, "日本語 ✓", ""} {
		m := &chat.Message{ID: chat.NewID(), RoomID: room, Seq: int64(1 + i*1000000007), Content: content,
			Sender: chat.User{ID: chat.NewID(), Username: "u"}, Reactions: []chat.ReactionGroup{}}
		b, err := json.Marshal(serverFrame{Type: "message_created", Data: serverMessageEvent{RoomID: room, Message: m}})
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b)
	}
	b, _ := json.Marshal(serverFrame{Type: "presence_updated", Data: map[string]any{"user_id": chat.NewID(), "status": "online"}})
	frames = append(frames, b)
	for _, f := range frames {
		got, ok := fastEvent(f)
		if !ok {
			t.Fatalf("fastEvent refused a server frame: %s", f)
		}
		var want Event
		if err := json.Unmarshal(f, &want); err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || !bytes.Equal(got.Data, want.Data) || got.ID != "" || got.Error != nil {
			t.Fatalf("fastEvent(%s) = %+v, want %+v", f, got, want)
		}
		if got.Type != "message_created" {
			continue
		}
		r, seq, ok := fastMessageSeq(got.Data)
		var m struct {
			RoomID  chat.ID `json:"room_id"`
			Message struct {
				Seq int64 `json:"seq"`
			} `json:"message"`
		}
		if err := json.Unmarshal(got.Data, &m); err != nil || !ok || r != m.RoomID || seq != m.Message.Seq {
			t.Fatalf("fastMessageSeq(%s) = %v %d %v, want %v %d", got.Data, r, seq, ok, m.RoomID, m.Message.Seq)
		}
	}
	for _, f := range []string{
		`{"type":"ack","id":"1","data":{}}`,
		`{"type":"error","id":"2","error":{"code":"x","message":"y"}}`,
		`{"id":"3","type":"ack"}`,
		`{"type":"message_created"}`,
		`{"type":"Weird","data":{}}`,
		` {"type":"x","data":{}}`,
		`{"type":"x","data":[1]}`,
	} {
		if ev, ok := fastEvent([]byte(f)); ok {
			t.Errorf("fastEvent(%s) took the fast path: %+v", f, ev)
		}
	}
	for _, d := range []string{
		`{"message":{"seq":1},"room_id":"` + room.String() + `"}`,
		`{"room_id":"` + room.String() + `","message":{"id":"x"}}`,
		`{"room_id":"not-a-uuid-not-a-uuid-not-a-uuid-abcd","message":{}}`,
	} {
		if _, _, ok := fastMessageSeq([]byte(d)); ok {
			t.Errorf("fastMessageSeq(%s) took the fast path", d)
		}
	}
}

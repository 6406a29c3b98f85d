package loadtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func encodedCreated(t testing.TB, room chat.ID, seq int64, content string) []byte {
	t.Helper()
	cm := "c1"
	m := chat.Message{ID: chat.NewID(), RoomID: room, Seq: seq, Content: content, ContentHTML: "<p>" + content + "</p>",
		Sender: chat.User{ID: chat.NewID(), Username: "seq", DisplayName: `"seq":99,"content":"lt1 5 "`},
		Type:   chat.MessageText, ClientMsgID: &cm}
	raw, err := json.Marshal(map[string]any{"room_id": room, "message": m})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestScanCreated(t *testing.T) {
	room := chat.NewID()
	due := time.Unix(1_700_000_000, 42)
	for _, tc := range []struct {
		content string
		stamped bool
	}{
		{makeContent(due, 3, 64), true},
		{"alice joined", false},
		{`"seq":7 <b>&</b> \ "content":"lt1 9 "`, false},
	} {
		raw := encodedCreated(t, room, 12345, tc.content)
		fast, ok := scanCreatedFast(raw)
		if !ok {
			t.Fatalf("%q: fast path refused %s", tc.content, raw)
		}
		full, ok := scanCreated([]byte(" " + string(raw))) // same answer either way
		if !ok || fast != full {
			t.Fatalf("%q: fast %+v, full %+v", tc.content, fast, full)
		}
		if fast.room != room.String() || fast.seq != 12345 || fast.stamped != tc.stamped || (tc.stamped && !fast.due.Equal(due)) {
			t.Fatalf("%q: got %+v", tc.content, fast)
		}
	}
}

func TestScanCreatedFallsBack(t *testing.T) {
	room := chat.NewID()
	// Keys in another order and spacing: the fast path gives up, the decoder does not.
	raw := []byte(`{"message": {"content": "lt1 1700000000000000042 0 x", "seq": 7}, "room_id": "` + room.String() + `"}`)
	m, ok := scanCreated(raw)
	if !ok || m.seq != 7 || m.room != room.String() || !m.stamped {
		t.Fatalf("got %+v %v", m, ok)
	}
	for _, bad := range []string{`{}`, `{"room_id":"x","message":{}}`, `not json`} {
		if _, ok := scanCreated([]byte(bad)); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}

func BenchmarkScanCreated(b *testing.B) {
	raw := encodedCreated(b, chat.NewID(), 42, makeContent(time.Now(), 1, 64))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := scanCreated(raw); !ok {
			b.Fatal("refused")
		}
	}
}

package client

import (
	"bytes"
	"encoding/json"

	"github.com/chatd/chatd/chat"
)

// A client reads every event frame, so decoding is its hot path: with
// encoding/json, the envelope and then the message's room and seq cost two
// validating passes over each frame, and a load generator holding thousands of
// sockets spent most of its CPU there. The server writes events in one fixed
// layout; fastEvent and fastMessageSeq read exactly that layout by hand and give
// up (the caller falls back to encoding/json) on anything else, so they are an
// optimisation, never a second definition of the protocol. Data is not validated
// on the fast path: it stays raw JSON, decoded by whoever needs its fields.

var (
	prefixType  = []byte(`{"type":"`)
	infixData   = []byte(`","data":`)
	prefixRoom  = []byte(`{"room_id":"`)
	infixMsgID  = []byte(`","message":{"id":"`)
	infixMsgRID = []byte(`","room_id":"`)
	infixSeq    = []byte(`","seq":`)
)

const uuidLen = 36

// fastEvent reads {"type":"T","data":D} (an event with no id or error).
func fastEvent(p []byte) (Event, bool) {
	rest, ok := bytes.CutPrefix(p, prefixType)
	if !ok {
		return Event{}, false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return Event{}, false
	}
	for _, ch := range rest[:end] {
		if (ch < 'a' || ch > 'z') && ch != '_' {
			return Event{}, false
		}
	}
	typ := rest[:end]
	switch string(typ) {
	case "ack", "error", "pong":
		return Event{}, false // replies carry an id and maybe an error: the full decoder
	}
	data, ok := bytes.CutPrefix(rest[end:], infixData)
	if !ok || len(data) < 3 || data[0] != '{' || data[len(data)-1] != '}' || data[len(data)-2] != '}' {
		return Event{}, false
	}
	return Event{Type: string(typ), Data: json.RawMessage(data[:len(data)-1])}, true
}

// fastMessageSeq reads the room and seq of a message_created payload:
// {"room_id":R,"message":{"id":I,"room_id":R,"seq":N,...}}.
func fastMessageSeq(d []byte) (chat.ID, int64, bool) {
	rest, ok := bytes.CutPrefix(d, prefixRoom)
	if !ok || len(rest) < uuidLen {
		return chat.ID{}, 0, false
	}
	room, err := chat.ParseID(string(rest[:uuidLen]))
	if err != nil {
		return chat.ID{}, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest[uuidLen:], infixMsgID); !ok || len(rest) < uuidLen {
		return chat.ID{}, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest[uuidLen:], infixMsgRID); !ok || len(rest) < uuidLen {
		return chat.ID{}, 0, false
	}
	if rest, ok = bytes.CutPrefix(rest[uuidLen:], infixSeq); !ok {
		return chat.ID{}, 0, false
	}
	var seq int64
	n := 0
	for n < len(rest) && n < 18 && rest[n] >= '0' && rest[n] <= '9' {
		seq = seq*10 + int64(rest[n]-'0')
		n++
	}
	if n == 0 || n == len(rest) || rest[n] != ',' && rest[n] != '}' {
		return chat.ID{}, 0, false
	}
	return room, seq, true
}

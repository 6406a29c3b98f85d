package loadtest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/chatd/chatd/chat"
)

// created is what the checker needs of a message_created event.
type created struct {
	room    string // the room's canonical UUID text
	seq     int64
	due     time.Time // from the content's stamp
	stamped bool
	sender  int // the sending connection's index, from the stamp; -1 if unknown
}

// Every delivery of a run is parsed, and the client has already decoded each frame
// twice by then (envelope, then seq): a full third decode was a fifth of the
// generator's CPU in a fanout profile. scanCreated reads the three fields straight
// from the encoded bytes and falls back to a full decode whenever the bytes are not
// as expected.
//
// The scan is sound on valid JSON: a key such as "seq": can only appear as a key,
// since a quote inside a string is always escaped; and a message_created holds one
// "seq" and one "content" key (in its message), and "room_id" twice with the same
// value (the event's and the message's).
var (
	keyRoom    = []byte(`"room_id":"`)
	keySeq     = []byte(`"seq":`)
	keyContent = []byte(`"content":"`)
)

// scanCreated parses a message_created event's data.
func scanCreated(data []byte) (created, bool) {
	if m, ok := scanCreatedFast(data); ok {
		return m, true
	}
	var full struct {
		RoomID  chat.ID `json:"room_id"`
		Message struct {
			Seq     *int64 `json:"seq"`
			Content string `json:"content"`
		} `json:"message"`
	}
	if err := json.Unmarshal(data, &full); err != nil || full.Message.Seq == nil {
		return created{}, false
	}
	m := created{room: full.RoomID.String(), seq: *full.Message.Seq}
	m.due, m.stamped = parseStamp(full.Message.Content)
	m.sender = stampSender(full.Message.Content)
	return m, true
}

func scanCreatedFast(data []byte) (created, bool) {
	m := created{sender: -1}
	i := bytes.Index(data, keyRoom)
	if i < 0 || len(data) < i+len(keyRoom)+37 || data[i+len(keyRoom)+36] != '"' {
		return m, false
	}
	m.room = string(data[i+len(keyRoom) : i+len(keyRoom)+36])
	i = bytes.Index(data, keySeq)
	if i < 0 {
		return m, false
	}
	rest := data[i+len(keySeq):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 || end > 18 || end == len(rest) || (rest[end] != ',' && rest[end] != '}') {
		return m, false
	}
	seq, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return m, false
	}
	m.seq = seq
	if i = bytes.Index(data, keyContent); i >= 0 {
		content := data[i+len(keyContent):]
		if len(content) > 64 {
			content = content[:64] // the stamp is at the start
		}
		m.due, m.stamped = parseStamp(string(content))
		m.sender = stampSender(string(content))
	}
	return m, true
}

package api

import (
	"testing"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
)

// FuzzWSCommand feeds arbitrary frames to the WebSocket command decoder: it never
// panics, and a refusal is always a 4xx protocol error (bad_request or
// validation_failed), which is what the client receives in an error frame.
func FuzzWSCommand(f *testing.F) {
	seeds := []string{
		`{"type":"ping","id":"1","data":{}}`,
		`{"type":"join_room","id":"2","data":{"room_id":"0190f5c4-6a2e-7cc0-8a8e-3f0d9c9e0f11","since_seq":0}}`,
		`{"type":"send_message","id":3,"data":{"room_id":"0190f5c4-6a2e-7cc0-8a8e-3f0d9c9e0f11","content":"hi","client_msg_id":"a"}}`,
		`{"type":"read_message","data":{"message_id":"x"}}`,
		`{"type":"typing_start","data":{"room_id":null}}`,
		`{"type":"leave_room","data":[]}`,
		`{"type":"fly"}`, `[]`, `{}`, `"x"`, `{"type":1}`, `{"type":"ping"} {"type":"ping"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr, perr := parseFrame(raw)
		if fr == nil {
			t.Fatal("parseFrame returned no frame")
		}
		if perr != nil {
			checkWSError(t, perr)
			return
		}
		targets := map[string]any{
			"join_room": &roomRef{}, "leave_room": &roomRef{}, "typing_start": &roomRef{},
			"typing_stop": &roomRef{}, "send_message": &sendData{}, "read_message": &readData{},
		}
		if dst, ok := targets[fr.Type]; ok {
			if err := decodeData(fr, dst); err != nil {
				checkWSError(t, err)
				return
			}
			switch d := dst.(type) {
			case *roomRef:
				if _, err := d.id(); err != nil {
					checkWSError(t, err)
				}
			case *sendData:
				if _, _, err := d.SendInput.validate(); err != nil {
					checkWSError(t, err)
				} else if !utf8.ValidString(d.Content) {
					t.Fatalf("invalid UTF-8 content passed validation: %q", d.Content)
				}
			}
		}
	})
}

func checkWSError(t *testing.T, err error) {
	t.Helper()
	e := chat.AsError(err)
	if e == nil {
		t.Fatalf("decoder returned a non-protocol error: %v", err)
	}
	if s := e.Code.Status(); s < 400 || s >= 500 {
		t.Fatalf("decoder returned %s (%d), want a 4xx", e.Code, s)
	}
}

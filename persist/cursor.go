package persist

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/chatd/chatd/chat"
	"github.com/google/uuid"
)

// cursor is the sort key of the last item of a page, which the next page starts
// after (keyset pagination: stable under inserts, no OFFSET scans). On the wire it
// is opaque: base64url of this JSON. K names the list it belongs to, so a cursor
// of one list given to another is refused rather than misread.
type cursor struct {
	K string `json:"k"`
	N int64  `json:"n,omitempty"` // a time, a count or a seq
	I string `json:"i,omitempty"` // an ID
	S string `json:"s,omitempty"` // a string key
}

// The lists that take cursors.
const (
	curUsers         = "users"
	curRooms         = "rooms"
	curPublicRooms   = "public"
	curMembers       = "members"
	curThread        = "thread"
	curBlocks        = "blocks"
	curReports       = "reports"
	curNotifications = "notifications"
)

func (c cursor) String() string {
	b, _ := json.Marshal(c) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// errBadCursor is what every malformed, foreign or tampered cursor gets.
func errBadCursor() error { return chat.FieldError("cursor", "invalid cursor") }

// decodeCursor parses s as a cursor of list kind. ok is false for "" (first page).
func decodeCursor(s, kind string) (c cursor, ok bool, err error) {
	if s == "" {
		return cursor{}, false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 1024 {
		return cursor{}, false, errBadCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.K != kind {
		return cursor{}, false, errBadCursor()
	}
	return c, true, nil
}

// id parses the cursor's ID.
func (c cursor) id() (chat.ID, error) {
	id, err := uuid.Parse(c.I)
	if err != nil || len(c.I) != 36 {
		return chat.NilID, errBadCursor()
	}
	return id, nil
}

// timeID decodes a cursor of (time or count, ID).
func timeIDCursor(s, kind string) (n int64, id chat.ID, ok bool, err error) {
	c, ok, err := decodeCursor(s, kind)
	if !ok || err != nil {
		return 0, chat.NilID, false, err
	}
	id, err = c.id()
	if err != nil {
		return 0, chat.NilID, false, err
	}
	return c.N, id, true, nil
}

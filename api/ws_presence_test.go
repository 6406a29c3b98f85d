package api

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

// TestPresenceFrameCache: an update equal to the cached one reuses its frame (one
// encode per node, not per receiver); any difference, or a new tick, encodes anew.
func TestPresenceFrameCache(t *testing.T) {
	var c presenceFrameCache
	user, room := chat.NewID(), chat.NewID()
	seen := chat.Now()
	ev := PresenceEvent{UserID: user, Status: chat.StatusOnline, LastSeen: &seen, CurrentRoom: &room}
	f := c.frame(&ev)
	if f == nil {
		t.Fatal("no frame")
	}
	seen2, room2 := seen, room // equal values behind other pointers
	same := PresenceEvent{UserID: user, Status: chat.StatusOnline, LastSeen: &seen2, CurrentRoom: &room2}
	if c.frame(&same) != f {
		t.Fatal("an equal update was encoded again")
	}
	for name, other := range map[string]PresenceEvent{
		"status":  {UserID: user, Status: chat.StatusOffline, LastSeen: &seen, CurrentRoom: &room},
		"no room": {UserID: user, Status: chat.StatusOnline, LastSeen: &seen},
	} {
		if c.frame(&other) == f {
			t.Fatalf("%s: a different update reused the frame", name)
		}
		c.frame(&ev) // back to the first state
	}
	f = c.frame(&ev)
	c.reset()
	if c.frame(&ev) == f {
		t.Fatal("the frame survived a reset")
	}
}

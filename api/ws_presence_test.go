package api

import (
	"testing"
	"time"

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

func TestPresenceAnnouncer(t *testing.T) {
	var a presenceAnnouncer
	u := chat.NewID()
	p, announce := a.add(u)
	if !announce {
		t.Fatal("first connection: want an announcement")
	}
	// The announcement failed (Redis down): the next connection tries again.
	if _, announce = a.add(u); !announce {
		t.Fatal("second connection after a failed announcement: want a retry")
	}
	p.announced = true
	if _, announce = a.add(u); announce {
		t.Fatal("third connection of an announced user: want none")
	}
	for i, want := range []bool{false, false, true} {
		if got := a.remove(u); got != want {
			t.Fatalf("close %d of 3: retract %v, want %v", i+1, got, want)
		}
	}
	if a.remove(u) {
		t.Fatal("a close of an unknown user retracted presence")
	}
	if len(a.users) != 0 {
		t.Fatalf("users left after the last close: %d", len(a.users))
	}
}

// A user who came online is announced after onlineGrace, once, with whatever
// changed meanwhile (the join that follows a connect).
func TestPresenceOnlineGrace(t *testing.T) {
	p := presenceCoalescer{last: make(map[chat.ID]time.Time), pending: make(map[chat.ID]bool)}
	u := chat.NewID()
	t0 := time.Now()
	p.cameOnline(u, t0)
	if due := p.due(t0.Add(onlineGrace / 2)); len(due) != 0 {
		t.Fatalf("announced %v within the grace", due)
	}
	p.pending[u] = true // the join right after the connect
	if due := p.due(t0.Add(onlineGrace)); len(due) != 1 || due[0] != u {
		t.Fatalf("after the grace: due %v, want the user once", due)
	}
	if due := p.due(t0.Add(onlineGrace + presenceEvery/2)); len(due) != 0 {
		t.Fatalf("a second announcement: %v", due)
	}
}

package api

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
	"github.com/chatd/chatd/persist"
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

// The announcer follows the hub's count of a user's connections, whatever order a
// connection's open and close reach it in.
func TestPresenceAnnouncer(t *testing.T) {
	e := newEnv(t, "embedded")
	h := e.api.hub
	u := chat.NewID()
	online := func() bool {
		t.Helper()
		on, err := e.api.presence.Connected(ctx5(t), []chat.ID{u})
		if err != nil {
			t.Fatal(err)
		}
		return on[u]
	}
	c1 := &wsClient{hub: h, sess: &Session{UserID: u, TokenID: "t1"}, ip: "192.0.2.1"}
	c2 := &wsClient{hub: h, sess: &Session{UserID: u, TokenID: "t2"}, ip: "192.0.2.1"}
	for _, c := range []*wsClient{c1, c2} {
		if err := h.admit(c); err != nil {
			t.Fatal(err)
		}
		h.connected(c)
	}
	if !online() || !h.announcer.isAnnounced(u) {
		t.Fatal("two connections: want the user announced")
	}
	h.release(c1)
	if !online() {
		t.Fatal("one of two connections closed: want the user still online")
	}
	h.release(c2)
	if online() || h.announcer.isAnnounced(u) {
		t.Fatal("both closed: want the user retracted")
	}
	// A connection that closes before its open is announced (the close wins the
	// stripe lock): the late open must not announce a user with no connection.
	c3 := &wsClient{hub: h, sess: &Session{UserID: u, TokenID: "t3"}, ip: "192.0.2.1"}
	if err := h.admit(c3); err != nil {
		t.Fatal(err)
	}
	h.release(c3)
	h.connected(c3)
	if online() || h.announcer.isAnnounced(u) {
		t.Fatal("a late open of a closed connection announced the user")
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

// A user whose entry Redis lost (restarted empty) is written back by the heartbeat
// and announced again, since peers may meanwhile have been told the user left.
func TestPresenceRestoredIsAnnounced(t *testing.T) {
	opts, err := redis.ParseURL(testsvc.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	e := newEnvWith(t, "embedded", func(c *Config) { c.Presence = persist.NewRedisPresence(rc) })
	h := e.api.hub
	u := chat.NewID()
	c := &wsClient{hub: h, sess: &Session{UserID: u, TokenID: "t1"}, ip: "192.0.2.1"}
	if err := h.admit(c); err != nil {
		t.Fatal(err)
	}
	h.connected(c)
	defer h.release(c)
	published := func(after time.Time) bool {
		p := &h.presence
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.pending[u] && p.last[u].After(after)
	}
	waitFor(t, "the user's first announcement", 5*time.Second, func() bool { return published(time.Time{}) })
	before := time.Now()
	if err := rc.FlushDB(ctx5(t)).Err(); err != nil { // Redis restarted empty
		t.Fatal(err)
	}
	h.refreshAnnounced(ctx5(t), []chat.ID{u})
	if on, err := e.api.presence.Connected(ctx5(t), []chat.ID{u}); err != nil || !on[u] {
		t.Fatalf("after the heartbeat: connected %v (%v), want the user back", on, err)
	}
	waitFor(t, "the restored user announced again", 5*time.Second, func() bool { return published(before) })
}

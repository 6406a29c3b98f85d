package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/history"
	"github.com/chatd/chatd/internal/testsvc"
)

// TestFaultRedisRestart: Redis SIGKILLed while traffic flows, then started again
// empty (RELIABILITY.md fault 9). Messages are unaffected: zero anomalies and no
// send refused. Presence recovers within one heartbeat: every connected user's
// entry is back, with the field of the node holding them. The rate limiter lets
// sends through while Redis is down (docs/operations.md) and limits again once it
// is back.
func TestFaultRedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	const beat = 2 * time.Second // --presence-heartbeat: how soon presence recovers
	rd := testsvc.NewRedis(t)
	c := startFaultClusterWith(t, Options{Nodes: 3, RedisURL: rd.URL,
		ExtraArgs: []string{"--presence-heartbeat", beat.String()}})
	w := startWorkload(t, c, workloadOptions{})
	opts, err := redis.ParseURL(rd.URL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	present := func() bool { return w.presenceComplete(rc) }
	waitUntil(t, "every user's presence entry before the fault", 10*time.Second, present)

	w.start()
	runFor(3 * time.Second)
	w.h.Fault("kill", "redis", "SIGKILL")
	t.Log("fault: kill redis")
	rd.Kill()
	runFor(2 * time.Second)
	// While Redis cannot answer, the limiter cannot count: sends go through.
	if n := burst(t, c.URL(0), 12); n != 12 {
		t.Errorf("with Redis down: %d of a burst of 12 sends accepted, want all", n)
	}
	runFor(2 * time.Second)
	restartedAt := time.Now()
	rd.Restart(t)
	w.h.Fault("start", "redis", "restarted empty")
	t.Log("fault: start redis, empty")
	waitUntil(t, "every user's presence entry back", 2*beat+10*time.Second, present)
	t.Logf("presence whole again %v after Redis restarted empty (heartbeat %v)", time.Since(restartedAt).Round(time.Millisecond), beat)
	// Counting again: a fresh user gets 10 sends in 10 s, then 429. A pooled
	// connection from before the restart may fail one call (let through): one more try.
	limited := false
	for try := 0; try < 2 && !limited; try++ {
		n := burst(t, c.URL(try%c.Len()), 15)
		limited = n == 10
		t.Logf("after the restart, try %d: %d sends accepted before a 429", try+1, n)
	}
	if !limited {
		t.Error("after Redis came back, the rate limit of 10 per 10 s did not hold")
	}
	runFor(3 * time.Second)
	rep := w.finish(history.Options{MinFaults: 2})
	t.Logf("redis restart: longest send %v; p99 send-to-delivery %v", longestSend(w.h.Events()), rep.Latency.P99)
	if rep.Failed != 0 || rep.Info != 0 {
		t.Errorf("messages affected by the Redis restart: %d sends failed, %d unknown (of %d)", rep.Failed, rep.Info, rep.Invoked)
	}
}

// presenceComplete says every workload user has a presence entry in Redis with the
// field of its home node, whose listener holds a connection of the user.
func (w *workload) presenceComplete(rc *redis.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, u := range w.users {
		ok, err := rc.HExists(ctx, "chatd:presence:"+u.id.String(), w.c.Name(u.home)).Result()
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// burst registers a user on base, creates a room and sends up to n messages at
// once over REST; it returns how many were accepted before the first 429. Any
// other answer fails the test.
func burst(t *testing.T, base string, n int) int {
	t.Helper()
	u := register(t, base, "burst")
	var room chat.Room
	call(t, base, u.token, "POST", "/rooms", map[string]any{"name": "burst " + u.name, "type": "private"}, &room, http.StatusCreated)
	for i := range n {
		status, raw := request(t, base, u.token, "POST", "/rooms/"+room.ID.String()+"/messages",
			map[string]string{"content": fmt.Sprintf("burst %d", i)})
		switch status {
		case http.StatusCreated:
		case http.StatusTooManyRequests:
			return i
		default:
			t.Fatalf("burst send %d on %s: %d: %s", i, base, status, raw)
		}
	}
	return n
}

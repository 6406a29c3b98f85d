package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultPauseOwner: SIGSTOP of the busiest room's owner for longer than the
// suspicion timeout, then SIGCONT. While it is frozen the others declare it dead and
// take the room over (a new epoch in the store); when it wakes up it still believes
// it owns the room (its own ring never changed), and the store must refuse every
// batch of its stale epoch. The run is void unless the frozen node did try (its
// chatd_fenced_writes_total grew). Zero commits from the stale epoch: no two
// messages at one (room, seq), no duplicate, the store's seqs exactly 1..max in every
// room (the checker's store-seq-gap), every acked message stored where its ack said,
// and no other anomaly.
//
// The frozen node's own clients must get an answer (an ack through the new owner,
// or an error), never silence: the client resends unanswered commands after a
// reconnect, byte-identical, with their client_msg_id.
func TestFaultPauseOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	const (
		// minPause exceeds the suspicion timeout (up to 6 s without confirmations,
		// see node/membership.go), so the pause outlasts suspicion whoever observes.
		minPause    = 7 * time.Second
		takeoverMax = 20 * time.Second
	)
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	busy := w.rooms[0]
	w.start()
	runFor(4 * time.Second)
	victim := w.ringOwner(0, busy)
	fencedBefore, err := c.metric(victim, "chatd_fenced_writes_total")
	if err != nil {
		t.Fatal(err)
	}
	_, epoch := w.storeOwner(busy)
	w.fault("pause", victim, "SIGSTOP of the busiest room's owner")
	pausedAt := time.Now()
	c.Pause(victim)
	var took time.Duration
	waitUntil(t, "another node to take the busiest room over in the store", takeoverMax, func() bool {
		owner, e := w.storeOwner(busy)
		took = time.Since(pausedAt)
		return e > epoch && owner != c.Name(victim)
	})
	runFor(max(minPause-time.Since(pausedAt), time.Second))
	c.Resume(victim)
	w.fault("resume", victim, "SIGCONT after "+time.Since(pausedAt).Round(time.Millisecond).String())
	c.WaitForMembers(t, 3, 60*time.Second)
	runFor(10 * time.Second)
	rep := w.finish(history.Options{MinFaults: 2, RequireOwnershipChange: true})
	fencedAfter, err := c.metric(victim, "chatd_fenced_writes_total")
	if err != nil {
		t.Fatal(err)
	}
	if fencedAfter <= fencedBefore {
		t.Fatalf("result unknown: the frozen node %s never tried to write with its stale epoch (chatd_fenced_writes_total %v -> %v)",
			c.Name(victim), fencedBefore, fencedAfter)
	}
	// The frozen node's own clients: every send answered (ack or error).
	unanswered := 0
	for _, e := range w.h.Events() {
		if e.Kind == history.KindInfo && e.Node == c.Name(victim) {
			unanswered++
		}
	}
	t.Logf("pause owner: the room moved %v after SIGSTOP; %s refused %v stale batches after SIGCONT; %d acked, %d failed, %d unknown (%d of them through the frozen node); longest acked send %v; p99 send-to-delivery %v",
		took.Round(time.Millisecond), c.Name(victim), fencedAfter-fencedBefore, rep.OK, rep.Failed, rep.Info, unanswered,
		longestSend(w.h.Events()), rep.Latency.P99)
	if unanswered > 0 {
		t.Errorf("%d sends through the frozen node %s were never answered", unanswered, c.Name(victim))
	}
}

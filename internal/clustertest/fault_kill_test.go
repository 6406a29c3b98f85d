package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultKillOwner: SIGKILL of the busiest room's owner while traffic flows,
// restarted 5 s later (under CHATD_SOAK=1: every 10 s for 5 minutes). Zero
// anomalies; the room takes writes again within seconds (the time to recover, from
// the kill to the first new commit in the room, is logged and bounded).
func TestFaultKillOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	const (
		restartAfter = 5 * time.Second
		// maxRecovery bounds the time from the kill to the room's next commit:
		// gossip declares the node dead in about 3 s, then the next owner acquires
		// the room on the first send it gets.
		maxRecovery = 10 * time.Second
	)
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	busy := w.rooms[0].String()
	w.start()
	runFor(4 * time.Second)
	var recoveries []time.Duration
	cycles := 1
	if soak() {
		cycles = int(5 * time.Minute / (2 * restartAfter))
	}
	for cycle := range cycles {
		victim := w.ringOwner((cycle+1)%c.Len(), w.rooms[0])
		w.fault("kill", victim, "owner of the busiest room")
		killedAt := time.Now()
		c.Kill(victim)
		runFor(restartAfter - time.Since(killedAt))
		c.Start(victim)
		w.fault("start", victim, "restarted on its ports")
		c.WaitForMembers(t, 3, 30*time.Second)
		runFor(restartAfter) // traffic with the node back (and the room moving back to it)
		rec, ok := recovery(w.h.Events(), busy, killedAt)
		if !ok {
			t.Fatalf("cycle %d: no commit in the busiest room after %s was killed", cycle, c.Name(victim))
		}
		recoveries = append(recoveries, rec)
	}
	rep := w.finish(history.Options{MinFaults: 2 * cycles, RequireOwnershipChange: true})
	worst := time.Duration(0)
	for _, r := range recoveries {
		worst = max(worst, r)
	}
	t.Logf("kill owner: %d cycles; time to recover (kill to the busiest room's next commit) %v, worst %v; longest send %v; %d acked, %d failed, %d unknown; p99 send-to-delivery %v",
		cycles, recoveries, worst, longestSend(w.h.Events()), rep.OK, rep.Failed, rep.Info, rep.Latency.P99)
	if worst > maxRecovery {
		t.Errorf("the busiest room took %v to take writes again after its owner died, want under %v", worst, maxRecovery)
	}
}

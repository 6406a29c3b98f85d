package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultPartition: the busiest room's owner is cut off from the other two nodes
// for 20 s (partitionRun; 90 s behind -tags faultlong), then healed, traffic
// flowing throughout. Each node runs in its own network namespace; the partition
// drops everything between the victim and the others while the test's clients and
// the store still reach it (see network in netns.go), so both sides keep taking
// sends for the room: the majority takes it over with a new epoch, the victim,
// alone in its ring, takes it back, and the store must refuse every batch of a
// superseded epoch. No two commits at one (room, seq), nothing acked lost,
// duplicated or reordered (the history checker), and all nodes see all members again
// within 60 s of the heal without anyone acting (the test only watches).
func TestFaultPartition(t *testing.T) {
	partitionRun(t, 20*time.Second)
}

// partitionRun runs the partition fault for d (see TestFaultPartition).
func partitionRun(t *testing.T, d time.Duration) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	const healMax = 60 * time.Second
	c := startFaultClusterWith(t, Options{Nodes: 3, Netns: true})
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
	w.fault("partition", victim, "cut off from the other nodes for "+d.String())
	cut := time.Now()
	c.Partition(victim)
	waitUntil(t, "the majority to take the busiest room over in the store", d, func() bool {
		owner, e := w.storeOwner(busy)
		return e > epoch && owner != c.Name(victim)
	})
	t.Logf("the majority took the busiest room over %v after the partition", time.Since(cut).Round(time.Millisecond))
	runFor(d - time.Since(cut))
	c.Heal(victim)
	w.fault("heal", victim, "partition healed")
	healed := time.Now()
	c.WaitForMembers(t, 3, healMax)
	t.Logf("every node sees 3 alive members %v after the heal", time.Since(healed).Round(time.Millisecond))
	runFor(8 * time.Second)
	fencedAfter, err := c.metric(victim, "chatd_fenced_writes_total")
	if err != nil {
		t.Fatal(err)
	}
	rep := w.finish(history.Options{MinFaults: 2, RequireOwnershipChange: true})
	_, epochAfter := w.storeOwner(busy)
	t.Logf("partition %v: the busiest room went from epoch %d to %d; the store refused %v batches of %s's stale epochs; %d acked, %d failed, %d unknown; longest send %v",
		d, epoch, epochAfter, fencedAfter-fencedBefore, c.Name(victim), rep.OK, rep.Failed, rep.Info, longestSend(w.h.Events()))
}

package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/history"
	"github.com/chatd/chatd/ring"
)

// TestFaultScaleUpDown: a 2-node cluster under steady traffic gets a third node
// (scale up: rooms move to it, their new owner takes a new epoch before its first
// write), then the third node drains on SIGTERM (scale down: its rooms move back).
// The busiest room is one the third node owns, so its ownership moves both ways.
// Zero anomalies, and no send is left ambiguous.
func TestFaultScaleUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := startFaultClusterWith(t, Options{Nodes: 2})
	w := startWorkload(t, c, workloadOptions{Rooms: 6, BusyRing: []string{"n1", "n2", "n3"}, BusyOwner: "n3"})
	busy := w.rooms[0].String()
	w.start()
	runFor(4 * time.Second)
	w.h.Fault("start", "n3", "scale up to 3 nodes")
	added := c.Add()
	c.WaitForMembers(t, 3, 30*time.Second)
	waitUntil(t, "n3 to take the busiest room", 30*time.Second, func() bool {
		owner, _ := w.storeOwner(w.rooms[0])
		return owner == "n3"
	})
	runFor(6 * time.Second)
	w.fault("stop", added, "scale down to 2 nodes: SIGTERM drain")
	c.Stop(added)
	c.WaitForMembers(t, 2, 30*time.Second)
	runFor(6 * time.Second)
	rep := w.finish(history.Options{MinFaults: 2, RequireOwnershipChange: true})
	owners := map[string]bool{}
	for _, e := range w.h.Events() {
		if e.Kind == history.KindOwner && e.Room == busy {
			owners[e.Node] = true
		}
	}
	t.Logf("scale up and down: the busiest room was owned by %v; %d acked, %d failed, %d unknown; longest send %v",
		owners, rep.OK, rep.Failed, rep.Info, longestSend(w.h.Events()))
	if rep.Info > 0 {
		t.Errorf("%d sends left ambiguous (unknown outcome) by a scale up or a drain", rep.Info)
	}
}

// TestFaultDrain: SIGTERM of the busiest room's owner, not restarted (a node taken
// out). Its clients move to another node (the load balancer stops sending to it);
// its WebSocket clients are closed with 1012 and resume there with no gap, its
// rooms are handed over, nothing acked is lost and no send is left ambiguous.
func TestFaultDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	w.start()
	runFor(4 * time.Second)
	victim := w.ringOwner(0, w.rooms[0])
	other := (victim + 1) % c.Len()
	w.fault("stop", victim, "SIGTERM drain, not restarted; its clients go to "+c.Name(other))
	w.setURL(victim, c.URL(other))
	c.Stop(victim)
	c.WaitForMembers(t, 2, 30*time.Second)
	runFor(8 * time.Second)
	rep := w.finish(history.Options{MinFaults: 1, RequireOwnershipChange: true})
	closes, listeners := 0, 0
	for _, u := range w.users {
		if u.home == victim {
			listeners++
			if w.restartCloses(u.lis) > 0 {
				closes++
			}
		}
	}
	t.Logf("drain: %d of %s's %d listeners got 1012; %d acked, %d failed, %d unknown; longest send %v",
		closes, c.Name(victim), listeners, rep.OK, rep.Failed, rep.Info, longestSend(w.h.Events()))
	if closes != listeners {
		t.Errorf("%d of %s's %d listeners got a 1012 close frame, want all", closes, c.Name(victim), listeners)
	}
	if rep.Info > 0 {
		t.Errorf("%d sends left ambiguous (unknown outcome) by the drain", rep.Info)
	}
}

// makeBusy makes the busiest room (rooms[0]) one that node owner owns in a ring of
// members, and reports whether the workload has such a room. The ring is computed
// as the nodes compute it (package ring, default configuration).
func makeBusy(rooms []chat.ID, members []string, owner string) bool {
	r := ring.New(ring.Config{}, 1, members)
	for i, id := range rooms {
		if r.RoomOwner(id) == owner {
			rooms[0], rooms[i] = rooms[i], rooms[0]
			return true
		}
	}
	return false
}

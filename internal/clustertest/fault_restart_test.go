package clustertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultRestartOnNewAddress: a node crashes and comes back under its old name on
// new ports (a rescheduled pod), and its clients move to the new address as soon as
// its /readyz answers, as a load balancer would send them. The node must not say it
// is ready before the others accept it at its new address (memberlist takes about 8 s:
// its old address must be dead for DeadNodeReclaimTime first): once ready, every
// node sees it alive at the new address, the busiest room's ownership does not
// thrash, and traffic works through it: its senders' sends are acked and its
// listeners catch up with no gap (they would miss every event if the node kept the
// subscriptions it made before the others accepted it).
func TestFaultRestartOnNewAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	// maxEpochs bounds the busiest room's new epochs after the restart: one when the
	// victim dies, one when the room moves back to it, one spare for a send racing
	// the ring change. Thrash (two nodes taking the room in turns) makes many more.
	const maxEpochs = 3
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	w.start()
	runFor(3 * time.Second)
	moved := w.ringOwner(0, w.rooms[0]) // the busiest room's owner: ownership must move
	w.hold(moved)                       // its senders' clients know only its old address
	w.fault("kill", moved, "to be rescheduled on new ports")
	_, epochBefore := w.storeOwner(w.rooms[0])
	c.Kill(moved)
	oldGossip := c.GossipAddr(moved)
	killed := time.Now()
	c.StartOnNewPorts(moved)
	ready := time.Now()
	w.setURL(moved, c.URL(moved)) // at once, as a load balancer would
	w.release(moved)
	w.fault("start", moved, "on new ports "+c.URL(moved)+", gossip "+c.GossipAddr(moved)+"; clients moved at once")
	// At readiness the others know the new address: allow only the time for GET
	// /cluster to be asked of each node on a loaded machine.
	waitForAddress(t, c, moved, 5*time.Second)
	t.Logf("%s ready at its new gossip address %s (was %s) %v after the kill; every node saw it there %v after it was ready",
		c.Name(moved), c.GossipAddr(moved), oldGossip, ready.Sub(killed).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	runFor(10 * time.Second)
	_, epochAfter := w.storeOwner(w.rooms[0])
	w.finish(history.Options{MinFaults: 2, RequireOwnershipChange: true})
	through := 0
	for _, e := range w.h.Events() {
		if e.Kind == history.KindOK && e.Node == c.Name(moved) && e.Time.After(ready) {
			through++
		}
	}
	if through == 0 {
		t.Errorf("no send through %s was acked after it came back on new ports", c.Name(moved))
	}
	t.Logf("restart on new address: %d sends through %s acked after; the busiest room went from epoch %d to %d; longest send %v",
		through, c.Name(moved), epochBefore, epochAfter, longestSend(w.h.Events()))
	if epochAfter-epochBefore > maxEpochs {
		t.Errorf("the busiest room's ownership thrashed: epoch %d to %d after the restart, want at most %d new epochs",
			epochBefore, epochAfter, maxEpochs)
	}
}

// waitForAddress polls GET /cluster on every node until each sees node i alive at
// its current gossip address. (WaitForMembers alone passes at once after a restart
// on new ports: the others still see the old address alive.)
func waitForAddress(t *testing.T, c *Cluster, i int, d time.Duration) {
	t.Helper()
	name, addr := c.Name(i), c.GossipAddr(i)
	last := ""
	deadline := time.Now().Add(d)
	for {
		ok := true
		for j := range c.Len() {
			v, err := c.View(j)
			if err != nil {
				ok, last = false, err.Error()
				break
			}
			seen := false
			for _, m := range v.Members {
				if m.Name == name && m.GossipAddr == addr && m.State == "alive" {
					seen = true
				}
			}
			if !seen {
				ok, last = false, fmt.Sprintf("%s sees %+v", c.Name(j), v.Members)
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for every node to see %s alive at %s; last: %s", d, name, addr, last)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

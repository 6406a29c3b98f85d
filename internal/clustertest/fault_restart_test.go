package clustertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultRestartOnNewAddress: a node crashes and comes back under its old name on
// new ports (a rescheduled pod). The cluster accepts it (every node sees it alive at
// its new gossip address, which takes memberlist's DeadNodeReclaimTime after the old
// address is declared dead) and traffic works through it: its senders' sends are
// acked and its listeners catch up with no gap.
//
// The node's clients move to its new address once the cluster accepted it. (Moving
// them as soon as its /readyz answers, as a load balancer would, loses deliveries:
// see the fault tests' report.)
func TestFaultRestartOnNewAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	w.start()
	runFor(3 * time.Second)
	moved := w.ringOwner(0, w.rooms[0]) // the busiest room's owner: ownership must move
	w.hold(moved)                       // its senders' clients know only its old address
	w.fault("kill", moved, "to be rescheduled on new ports")
	c.Kill(moved)
	oldGossip := c.GossipAddr(moved)
	c.StartOnNewPorts(moved)
	w.fault("start", moved, "on new ports "+c.URL(moved)+", gossip "+c.GossipAddr(moved))
	started := time.Now()
	waitForAddress(t, c, moved, 60*time.Second)
	c.WaitForMembers(t, 3, 30*time.Second)
	t.Logf("%s accepted at its new gossip address %s (was %s) %v after it was ready",
		c.Name(moved), c.GossipAddr(moved), oldGossip, time.Since(started).Round(time.Millisecond))
	accepted := time.Now()
	w.setURL(moved, c.URL(moved))
	w.release(moved)
	runFor(8 * time.Second)
	rep := w.finish(history.Options{MinFaults: 2, RequireOwnershipChange: true})
	through := 0
	for _, e := range w.h.Events() {
		if e.Kind == history.KindOK && e.Node == c.Name(moved) && e.Time.After(accepted) {
			through++
		}
	}
	if through == 0 {
		t.Errorf("no send through %s was acked after it came back on new ports", c.Name(moved))
	}
	t.Logf("restart on new address: %d sends through %s acked after; %d acked, %d failed, %d unknown; longest send %v",
		through, c.Name(moved), rep.OK, rep.Failed, rep.Info, longestSend(w.h.Events()))
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

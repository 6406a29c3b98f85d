package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultRollingRestart: every node in turn drains on SIGTERM (it leaves, hands its
// rooms over, closes its sockets with 1012) and starts again, traffic flowing. Every
// listener resumes with no gap and no duplicate (the checker's receiver checks), and
// nothing acked is lost.
//
// No send stays ambiguous either (unknown outcome): a send in flight when its node
// closes the socket is resent after the reconnect, byte-identical, with its
// client_msg_id, and answered.
func TestFaultRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	w.start()
	runFor(3 * time.Second)
	rounds := 1
	if soak() {
		rounds = 5
	}
	for range rounds {
		for i := range c.Len() {
			w.fault("stop", i, "SIGTERM")
			c.Stop(i)
			c.Start(i)
			w.fault("start", i, "restarted on its ports")
			c.WaitForMembers(t, 3, 30*time.Second)
			runFor(3 * time.Second)
		}
	}
	rep := w.finish(history.Options{MinFaults: 2 * c.Len() * rounds, RequireOwnershipChange: true})
	t.Logf("rolling restart: %d acked, %d failed, %d unknown; longest send %v; p99 send-to-delivery %v",
		rep.OK, rep.Failed, rep.Info, longestSend(w.h.Events()), rep.Latency.P99)
	if rep.Info > 0 {
		t.Errorf("%d sends left ambiguous (unknown outcome) by the rolling restart", rep.Info)
	}
}

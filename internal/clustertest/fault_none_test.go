package clustertest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/history"
)

// TestFaultNone: a healthy cluster under steady traffic, 20 s (5 min with
// CHATD_SOAK=1). Jepsen found lost and duplicated writes in healthy clusters too:
// zero anomalies, no failed or unknown send; the send-to-delivery latency is logged.
func TestFaultNone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := startFaultCluster(t)
	w := startWorkload(t, c, workloadOptions{})
	w.start()
	runFor(soakOr(20*time.Second, 5*time.Minute))
	rep := w.finish(history.Options{})
	if rep.Failed > 0 || rep.Info > 0 {
		t.Errorf("%d sends failed and %d have unknown outcomes in a healthy cluster", rep.Failed, rep.Info)
	}
	t.Logf("no faults: %d sends acked, %d deliveries; send-to-delivery p50 %v, p99 %v, max %v",
		rep.OK, rep.Deliveries, rep.Latency.P50, rep.Latency.P99, rep.Latency.Max)
}

// runFor lets the traffic run for d: the length of a phase of the test, not a wait
// for an outcome (outcomes are polled).
func runFor(d time.Duration) { time.Sleep(d) }

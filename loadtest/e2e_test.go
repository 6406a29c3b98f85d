package loadtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chatd/chatd/api"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
)

// startNode serves one real chatd node (embedded store, in-memory rate limits) on a
// loopback port, built as cmd/chatd builds it, and returns its target.
func startNode(t *testing.T) []Target {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persist.OpenEmbedded(ctx, t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	nd, err := node.New(node.Config{Name: "loadtest", Registerer: reg}, store, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{JWTSecret: []byte("loadtest-secret-loadtest-secret-!!"), Gatherer: reg, Registerer: reg},
		store, nd, persist.NewMemoryRateLimiter(), log)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = nd.Close()
		_ = store.Close()
	})
	ts, err := ParseTargets(ctx, hs.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestEndToEnd runs fanout and mixed for a few seconds with 50 connections against
// a real node and requires exact delivery. Mixed runs split over three in-process
// workers, which exercises the worker protocol and the merge of their results.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	targets := startNode(t)
	for _, tc := range []struct {
		scenario string
		perProc  int
		workers  int
		twice    bool // the node listed as two targets: the latency splits by target
	}{
		{Fanout, 0, 1, false},
		{Mixed, 20, 3, true},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			ts := targets
			if tc.twice {
				ts = append(append([]Target(nil), targets...), targets...)
			}
			var progress bytes.Buffer
			rep, err := Run(context.Background(), Config{
				Scenario: tc.scenario, Targets: ts, Conns: 50, Rate: 20, Duration: 3 * time.Second, Warmup: time.Second,
				MaxConnsPerProcess: tc.perProc, Spawn: InProcess(nil), Progress: &progress,
			})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			t.Logf("%s\n%s", progress.String(), text.String())
			checkRun(t, rep, tc.workers)
			same, cross := rep.Deliveries.SameNode, rep.Deliveries.CrossNode
			switch {
			case !tc.twice && same != nil:
				t.Errorf("one target, yet a same-node split: %+v", same)
			case tc.twice && (same == nil || cross == nil || same.Count == 0 || cross.Count == 0 ||
				same.Count+cross.Count != rep.Deliveries.Latency.Count):
				t.Errorf("latency split %+v / %+v, want both parts summing to %d", same, cross, rep.Deliveries.Latency.Count)
			}
		})
	}
}

func checkRun(t *testing.T, rep *Report, workers int) {
	t.Helper()
	if rep.Settings.Workers != workers || rep.Client.Processes != 1 {
		t.Errorf("workers %d processes %d, want %d and 1 (in-process)", rep.Settings.Workers, rep.Client.Processes, workers)
	}
	if rep.Connections.Established != 50 || rep.Connections.Failed != 0 {
		t.Errorf("connections %+v", rep.Connections)
	}
	// 20/s for 3 s: 60, unless a loaded machine wakes the pacer after the time bound.
	if rep.Messages.Sent < 54 || rep.Messages.Sent > 60 || rep.Messages.Acked != rep.Messages.Sent {
		t.Errorf("messages %+v, want 60 sent (20/s for 3 s) and all acked", rep.Messages)
	}
	d := rep.Delivery
	if !d.OK() || d.Streams != 50 || d.Lost != 0 || d.Expected < rep.Messages.Acked || d.Received != d.Expected {
		t.Errorf("delivery %+v", d)
	}
	if rep.Deliveries.Latency.Count == 0 || rep.Deliveries.Latency.P99 <= 0 {
		t.Errorf("no latency: %+v", rep.Deliveries)
	}
	// The steady part leaves out the first second of the load (one of three).
	if st := rep.Deliveries.Steady; st == nil || st.Count == 0 || st.Count >= rep.Deliveries.Latency.Count {
		t.Errorf("steady latency %+v, want some but not all of the %d deliveries", st, rep.Deliveries.Latency.Count)
	}
	if rep.Failures != 0 {
		t.Errorf("failures: %v", rep.Errors)
	}
	if rep.Client.SendLagMax <= 0 || rep.Client.SendLagP99 > rep.Client.SendLagMax {
		t.Errorf("send lateness p99 %v max %v, want measured", rep.Client.SendLagP99, rep.Client.SendLagMax)
	}
	if !rep.Server.Sampled || rep.Server.Committed < float64(rep.Messages.Acked) {
		t.Errorf("server %+v", rep.Server)
	}
	if len(rep.Series) < 3 {
		t.Errorf("%d seconds of series", len(rep.Series))
	}
	if rep.Scenario == Mixed {
		others := int64(0)
		for _, k := range []string{"user_typing", "reaction_added", "message_updated", "read_receipt", "user_left"} {
			others += rep.Events[k]
		}
		if others == 0 {
			t.Errorf("mixed made no typing, reactions, edits, reads or leaves: %v", rep.Events)
		}
	}
}

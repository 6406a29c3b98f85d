package loadtest

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestCompareVerdicts(t *testing.T) {
	old := &Report{Scenario: Fanout, Settings: Settings{Conns: 500, Rooms: 1, Rate: 50, DurationSeconds: 10}}
	old.Deliveries.PerSecond = 1000
	old.Deliveries.Latency.P99 = 10
	old.Messages.PerSecond = 50
	old.Server.NetBytesPerConn = 4096
	old.Server.AfterGC = true
	cur := *old
	cur.Deliveries.PerSecond = 1500 // higher is better: better
	cur.Deliveries.Latency.P99 = 20 // lower is better: worse
	cur.Messages.PerSecond = 50.5   // within noise: same
	cur.Delivery.Lost = 3           // was 0: worse, no percentage
	byName := map[string]Change{}
	for _, c := range Compare(old, &cur) {
		byName[c.Name] = c
	}
	check := func(name, verdict string, pct float64) {
		t.Helper()
		c, ok := byName[name]
		if !ok {
			t.Fatalf("%s missing from %v", name, byName)
		}
		if c.Verdict != verdict || (!math.IsNaN(pct) && math.Abs(c.Percent-pct) > 1e-9) || (math.IsNaN(pct) != math.IsNaN(c.Percent)) {
			t.Errorf("%s: %+v, want %s %v%%", name, c, verdict, pct)
		}
	}
	check("deliveries", "better", 50)
	check("latency p99", "worse", 100)
	check("messages acked", "same", 1)
	check("lost", "worse", math.NaN())
	check("server net RSS per conn", "same", 0)
	if _, ok := byName["connect rate"]; ok {
		t.Error("a figure both runs lack is not listed")
	}
}

func TestWriteComparison(t *testing.T) {
	old := &Report{Scenario: Idle, Settings: Settings{Conns: 2000, Rooms: 2}}
	old.Connections.Established = 2000
	cur := &Report{Scenario: Idle, Settings: Settings{Conns: 4000, Rooms: 4}}
	cur.Connections.Established = 4000
	var b bytes.Buffer
	WriteComparison(&b, old, cur)
	out := b.String()
	for _, want := range []string{"note: different scenario or size", "connections established", "+100.0%", "better"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}
}

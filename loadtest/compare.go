package loadtest

import (
	"fmt"
	"io"
	"math"
)

// Change is one headline figure of two runs.
type Change struct {
	Name         string  `json:"name"`
	Unit         string  `json:"unit"`
	Old          float64 `json:"old"`
	New          float64 `json:"new"`
	Percent      float64 `json:"percent"` // (new-old)/old; NaN when old is 0
	HigherBetter bool    `json:"higher_better"`
	Verdict      string  `json:"verdict"` // better, worse, same (within Noise)
}

// Noise is the relative change under which a figure is reported as the same: runs
// on a shared 2-core machine differ by a few percent with nothing changed.
const Noise = 0.03

// headlines are the figures --compare prints, with the direction that is better.
var headlines = []struct {
	name, unit string
	higher     bool
	get        func(*Report) float64
}{
	{"connections established", "", true, func(r *Report) float64 { return float64(r.Connections.Established) }},
	{"connect rate", "/s", true, func(r *Report) float64 { return r.Connections.PerSecond }},
	{"handshake p99", "ms", false, func(r *Report) float64 { return r.Connections.Handshake.P99 }},
	{"messages acked", "/s", true, func(r *Report) float64 { return r.Messages.PerSecond }},
	{"ack p99", "ms", false, func(r *Report) float64 { return r.Messages.AckLatency.P99 }},
	{"deliveries", "/s", true, func(r *Report) float64 { return r.Deliveries.PerSecond }},
	{"latency p50", "ms", false, func(r *Report) float64 { return r.Deliveries.Latency.P50 }},
	{"latency p90", "ms", false, func(r *Report) float64 { return r.Deliveries.Latency.P90 }},
	{"latency p99", "ms", false, func(r *Report) float64 { return r.Deliveries.Latency.P99 }},
	{"latency p99.9", "ms", false, func(r *Report) float64 { return r.Deliveries.Latency.P999 }},
	{"latency max", "ms", false, func(r *Report) float64 { return r.Deliveries.Latency.Max }},
	{"steady latency p99", "ms", false, steadyP99},
	{"lost", "", false, func(r *Report) float64 { return float64(r.Delivery.Lost) }},
	{"undelivered at the end", "", false, func(r *Report) float64 { return float64(r.Delivery.Undelivered) }},
	{"duplicates", "", false, func(r *Report) float64 { return float64(r.Delivery.Dups) }},
	{"reordered", "", false, func(r *Report) float64 { return float64(r.Delivery.Reorders) }},
	{"failures", "", false, func(r *Report) float64 { return float64(r.Failures) }},
	{"server net RSS per conn", "B", false, func(r *Report) float64 { return afterGC(r, r.Server.NetBytesPerConn) }},
	{"server live heap per conn", "B", false, func(r *Report) float64 { return afterGC(r, r.Server.LiveHeapPerConn) }},
	{"server Go memory per conn", "B", false, func(r *Report) float64 { return afterGC(r, r.Server.GoMemPerConn) }},
	{"server goroutines per conn", "", false, func(r *Report) float64 { return r.Server.GoroutinesPerConn }},
	{"deliveries per server CPU-s", "", true, func(r *Report) float64 { return r.Server.DeliveriesPerCPU }},
	{"upgrades per server CPU-s", "", true, func(r *Report) float64 { return r.Server.UpgradesPerCPU }},
	{"client CPU share", "%", false, func(r *Report) float64 { return r.Client.Utilization * 100 }},
}

// steadyP99 is the p99 after the warm-up, or NaN for a run without one.
func steadyP99(r *Report) float64 {
	if r.Deliveries.Steady == nil {
		return math.NaN()
	}
	return r.Deliveries.Steady.P99
}

// positive passes a per-connection memory figure, or NaN when it is not one (the
// server freed setup memory during the run and the difference went negative).
func positive(v float64) float64 {
	if v <= 0 {
		return math.NaN()
	}
	return v
}

// afterGC passes a per-connection memory figure sampled after GCs (idle), else NaN.
func afterGC(r *Report, v float64) float64 {
	if !r.Server.AfterGC {
		return math.NaN()
	}
	return positive(v)
}

// Compare lists the headline figures of old and cur that both runs measured and
// that are not zero in both.
func Compare(old, cur *Report) []Change {
	var out []Change
	for _, h := range headlines {
		o, n := h.get(old), h.get(cur)
		if (o == 0 && n == 0) || math.IsNaN(o) || math.IsNaN(n) {
			continue
		}
		c := Change{Name: h.name, Unit: h.unit, Old: o, New: n, HigherBetter: h.higher, Percent: math.NaN()}
		if o != 0 {
			c.Percent = (n - o) / math.Abs(o) * 100
		}
		switch {
		case o != 0 && math.Abs(n-o) <= Noise*math.Abs(o):
			c.Verdict = "same"
		case (n > o) == h.higher:
			c.Verdict = "better"
		default:
			c.Verdict = "worse"
		}
		out = append(out, c)
	}
	return out
}

// WriteComparison prints the change of each headline figure from old to cur.
func WriteComparison(w io.Writer, old, cur *Report) {
	fmt.Fprintf(w, "compared with %s run of %s (%s):\n", old.Scenario, old.Started.Format("2006-01-02 15:04:05Z"), settingsText(old.Settings))
	if old.Scenario != cur.Scenario || !sameSize(old.Settings, cur.Settings) {
		fmt.Fprintf(w, "  note: different scenario or size (now %s, %s): figures may not be comparable\n", cur.Scenario, settingsText(cur.Settings))
	}
	for _, c := range Compare(old, cur) {
		pct := "   new"
		if !math.IsNaN(c.Percent) {
			pct = fmt.Sprintf("%+6.1f%%", c.Percent)
		}
		fmt.Fprintf(w, "  %-28s %12s -> %-12s %s  %s\n", c.Name, figure(c.Old, c.Unit), figure(c.New, c.Unit), pct, c.Verdict)
	}
}

func settingsText(s Settings) string {
	return fmt.Sprintf("%d conns, %d rooms, %s msgs/s, %gs", s.Conns, s.Rooms, human(s.Rate), s.DurationSeconds)
}

func sameSize(a, b Settings) bool {
	return a.Conns == b.Conns && a.Rooms == b.Rooms && a.Rate == b.Rate && a.DurationSeconds == b.DurationSeconds &&
		len(a.Targets) == len(b.Targets)
}

// figure prints a value with its unit.
func figure(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmtMs(v)
	case "B":
		return bytesText(v)
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "/s":
		return human(v) + "/s"
	}
	return human(v)
}

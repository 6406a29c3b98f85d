package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// ReportVersion is bumped when a field of the JSON report changes meaning, so that
// --compare can refuse what it cannot read.
const ReportVersion = 1

// Report is the outcome of a run: the plain-text summary, the JSON file and the HTML
// page are all views of it.
type Report struct {
	Version      int              `json:"version"`
	Scenario     string           `json:"scenario"`
	Started      time.Time        `json:"started"`
	Settings     Settings         `json:"settings"`
	Phases       phases           `json:"phases"` // seconds since the connect phase began
	Connections  Connections      `json:"connections"`
	Messages     Messages         `json:"messages"`
	Deliveries   Deliveries       `json:"deliveries"`
	Delivery     Delivery         `json:"delivery"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	Failures     int64            `json:"failures"` // errors that are not expected outcomes
	Events       map[string]int64 `json:"events,omitempty"`
	Client       Client           `json:"client"`
	Server       Server           `json:"server"`
	Series       []Point          `json:"series,omitempty"`
	ServerSeries []ServerPoint    `json:"server_series,omitempty"`
	Interrupted  bool             `json:"interrupted,omitempty"`
	Warnings     []string         `json:"warnings,omitempty"`
}

// Settings are the effective sizes of the run (presets filled in).
type Settings struct {
	Targets         []string `json:"targets"`
	Conns           int      `json:"conns"`
	Rooms           int      `json:"rooms"`
	Members         int      `json:"conns_per_room"`
	Users           int      `json:"users"`
	Publishers      int      `json:"publishers"`
	Rate            float64  `json:"rate"`
	DurationSeconds float64  `json:"duration_seconds"`
	WarmupSeconds   float64  `json:"warmup_seconds,omitempty"`
	DrainSeconds    float64  `json:"drain_seconds,omitempty"`
	MaxMessages     int64    `json:"max_messages"`
	MessageSize     int      `json:"message_size"`
	Sources         int      `json:"source_addresses"`
	Workers         int      `json:"workers"`
}

// Connections is the connect phase.
type Connections struct {
	Target      int64            `json:"target"`
	Established int64            `json:"established"`
	Failed      int64            `json:"failed"`
	FailureKind map[string]int64 `json:"failure_kinds,omitempty"` // from a sample of failed ones
	Reconnects  int64            `json:"reconnects"`
	PerSecond   float64          `json:"per_second"` // established / time to the last one
	Seconds     float64          `json:"seconds"`
	Handshake   Latency          `json:"handshake"` // start of dial to first Connected
}

// Messages are the sends: acknowledged means durable (the server acks after commit).
type Messages struct {
	Sent       int64   `json:"sent"`
	Acked      int64   `json:"acked"`
	PerSecond  float64 `json:"per_second"` // acked per second of the load phase
	AckLatency Latency `json:"ack_latency"`
}

// Deliveries are message_created events received, and their end-to-end latency.
type Deliveries struct {
	Count     int64   `json:"count"`
	PerSecond float64 `json:"per_second"`
	Latency   Latency `json:"latency"`
	// SameNode and CrossNode split Latency, with several targets, by whether the
	// sender was connected to the receiver's target or to another one (the message
	// then crossed nodes: to the room's owner, or from it, or both).
	SameNode  *Latency `json:"latency_same_node,omitempty"`
	CrossNode *Latency `json:"latency_cross_node,omitempty"`
	// Steady is Latency without the warm-up (--warmup): the deliveries of the whole
	// seconds that began at least WarmupSeconds into the load phase.
	Steady *Latency `json:"latency_steady,omitempty"`
}

// Server is read from the targets' /metrics (all targets summed).
type Server struct {
	Sampled      bool    `json:"sampled"`
	RSSBefore    float64 `json:"rss_before_bytes"` // before the connections
	RSSConnected float64 `json:"rss_connected_bytes"`
	RSSAfter     float64 `json:"rss_after_bytes"`
	BytesPerConn float64 `json:"rss_bytes_per_conn"`
	// NetBytesPerConn is the RSS difference less the free heap the Go runtime still
	// held (not yet returned to the system) at each sample.
	NetBytesPerConn   float64 `json:"rss_net_bytes_per_conn"`
	GoMemPerConn      float64 `json:"go_inuse_bytes_per_conn"`  // heap and stacks in use
	LiveHeapPerConn   float64 `json:"live_heap_bytes_per_conn"` // marked live by a GC
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
	AfterGC           bool    `json:"after_gc"`            // both samples followed a GC (idle)
	Connections       float64 `json:"connections"`         // chatd_connections once connected
	ConnectCPUSeconds float64 `json:"connect_cpu_seconds"` // while connecting and joining
	UpgradesPerCPU    float64 `json:"upgrades_per_cpu_second"`
	CPUSeconds        float64 `json:"cpu_seconds"` // during load and drain
	DeliveriesPerCPU  float64 `json:"deliveries_per_cpu_second"`
	Committed         float64 `json:"messages_committed"`
	RateLimited       float64 `json:"rate_limited"`              // connect to drain
	SlowConsumers     float64 `json:"slow_consumer_disconnects"` // connect to drain
}

// ServerPoint is a sample of the servers over time.
type ServerPoint struct {
	T           float64 `json:"t"`
	RSS         float64 `json:"rss_bytes"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	Goroutines  float64 `json:"goroutines"`
	Connections float64 `json:"connections"`
}

func newReport(c *Config, l *layout, sources, workers int) *Report {
	r := &Report{Version: ReportVersion, Scenario: c.Scenario, Started: time.Now().UTC()}
	var targets []string
	for _, t := range c.Targets {
		targets = append(targets, t.URL)
	}
	r.Settings = Settings{
		Targets: targets, Conns: c.Conns, Rooms: l.Rooms, Members: l.Members, Users: l.Users,
		Publishers: l.Publishers, Rate: c.Rate, DurationSeconds: c.Duration.Seconds(), WarmupSeconds: c.Warmup.Seconds(),
		DrainSeconds: c.DrainTimeout.Seconds(),
		MaxMessages:  c.MaxMessages, MessageSize: c.MessageSize, Sources: sources, Workers: workers,
	}
	r.Connections.Target = int64(c.Conns)
	if c.Scenario == Fanout && l.Publishers > 0 && c.Rate/float64(l.Publishers) > PerUserRate {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"%d publishers at %.4g/s is %.2f msgs/s per user, over the %.1f/s that keeps under the server's 10 per 10 s: expect rate_limited",
			l.Publishers, c.Rate, c.Rate/float64(l.Publishers), PerUserRate))
	}
	return r
}

// headline is the first line of the summary: what was run.
func (r *Report) headline() string {
	s := r.Settings
	line := fmt.Sprintf("chatload %s: %d connections to %d target(s), %d room(s) of %d, %d users",
		r.Scenario, s.Conns, len(s.Targets), s.Rooms, s.Members, s.Users)
	if s.Rate > 0 {
		line += fmt.Sprintf(", %s msgs/s from %d publishers", human(s.Rate), s.Publishers)
	}
	if s.DurationSeconds > 0 {
		line += fmt.Sprintf(", %s", time.Duration(s.DurationSeconds*float64(time.Second)))
	}
	if s.Workers > 1 {
		line += fmt.Sprintf(", %d workers", s.Workers)
	}
	return line
}

// isExpected says an error kind ("op:code") is an outcome the server is right to
// give, not a failure.
func isExpected(kind string) bool {
	i := strings.LastIndexByte(kind, ':')
	return expectedKinds[kind[i+1:]]
}

// WriteText writes the plain-text summary.
func (r *Report) WriteText(w io.Writer) {
	p := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, r.headline())
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the load phase was cut short")
	}
	c := r.Connections
	p("connections", "%d/%d established, %d failed%s, %d reconnects; %s/s over %.2fs",
		c.Established, c.Target, c.Failed, kindsText(c.FailureKind), c.Reconnects, human(c.PerSecond), c.Seconds)
	p("handshake", "%s", c.Handshake)
	m, d := r.Messages, r.Deliveries
	if publishes(r.Scenario) {
		p("messages", "%d sent, %d acked (durable), %s/s", m.Sent, m.Acked, human(m.PerSecond))
		p("ack", "%s", m.AckLatency)
		p("deliveries", "%d, %s/s", d.Count, human(d.PerSecond))
	} else {
		p("probe", "%d messages sent (one per room), %d acked, %d deliveries to the held connections", m.Sent, m.Acked, d.Count)
	}
	p("latency", "%s", d.Latency)
	if d.SameNode != nil {
		p("  same node", "%s", *d.SameNode)
		p("  cross node", "%s", *d.CrossNode)
	}
	if d.Steady != nil {
		p("  steady", "%s  (after the first %gs of load)", *d.Steady, r.Settings.WarmupSeconds)
	}
	v := r.Delivery
	verdict := "OK"
	if !v.OK() {
		verdict = "FAILED"
	}
	p("delivery", "%s: %d streams, %d expected, %d received, %d lost, %d duplicates, %d reordered%s%s",
		verdict, v.Streams, v.Expected, v.Received, v.Lost, v.Dups, v.Reorders,
		undeliveredText(v.Undelivered, r.Settings.DrainSeconds), unjoinedText(v.Unjoined))
	p("errors", "%s", errorsText(r.Errors, r.Failures))
	if len(r.Events) > 0 {
		p("events", "%s", kindsText(r.Events)[2:])
	}
	if s := r.Server; s.Sampled {
		perConn := fmt.Sprintf("%s/conn, net of free heap held %s/conn (Go heap+stacks %s/conn, live heap %s/conn, %.2f goroutines/conn), sampled after GCs",
			bytesText(s.BytesPerConn), bytesText(s.NetBytesPerConn), bytesText(s.GoMemPerConn),
			bytesText(s.LiveHeapPerConn), s.GoroutinesPerConn)
		if !s.AfterGC {
			// Before the connections, the server still holds the setup's garbage
			// (argon2 hashing); only idle samples after GCs.
			perConn = fmt.Sprintf("%.2f goroutines/conn (memory per connection: run idle, which samples after GCs)",
				s.GoroutinesPerConn)
		}
		p("server", "RSS %s -> %s connected: %s; %s at the end",
			bytesText(s.RSSBefore), bytesText(s.RSSConnected), perConn, bytesText(s.RSSAfter))
		p("server cpu", "%.2fs connecting and joining (%s upgrades per CPU-second); %.2fs during load and drain (%s deliveries per CPU-second)",
			s.ConnectCPUSeconds, human(s.UpgradesPerCPU), s.CPUSeconds, human(s.DeliveriesPerCPU))
		p("server", "%d messages committed during load and drain; %d sends rate limited and %d slow-consumer closes in the whole run",
			int64(s.Committed), int64(s.RateLimited), int64(s.SlowConsumers))
	} else {
		p("server", "not sampled (/metrics unreadable)")
	}
	if t := r.trend(); t != "" {
		p("server trend", "%s", t)
	}
	cl := r.Client
	sat := "not saturated"
	if cl.Saturated {
		sat = "SATURATED: latencies include the generator's own delay"
	}
	sendLag := ""
	if publishes(r.Scenario) {
		sendLag = fmt.Sprintf("; sends late p99 %s max %s", fmtMs(cl.SendLagP99), fmtMs(cl.SendLagMax))
	}
	p("client", "CPU %.2fs over %.1fs on %d cores (%.0f%% of the machine, %d process(es)); timer lag p99 %s max %s%s; %s",
		cl.CPUSeconds, cl.WallSeconds, cl.Cores, cl.Utilization*100, cl.Processes, fmtMs(cl.LagP99), fmtMs(cl.LagMax), sendLag, sat)
	for _, wn := range r.Warnings {
		p("warning", "%s", wn)
	}
}

func undeliveredText(n int64, drain float64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d not delivered by the end of the drain (%gs: late or lost; a longer --drain-timeout tells which)", n, drain)
}

func unjoinedText(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d subscriptions never joined: their connections failed)", n)
}

// kindsText prints counts by kind, largest first, as ", kind n, kind n".
func kindsText(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range sortedKinds(m) {
		fmt.Fprintf(&b, ", %s %d", k, m[k])
	}
	return b.String()
}

func sortedKinds(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func errorsText(m map[string]int64, failures int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKinds(m) {
		tag := ""
		if isExpected(k) {
			tag = " (expected)"
		}
		parts = append(parts, fmt.Sprintf("%s %d%s", k, m[k], tag))
	}
	return fmt.Sprintf("%d failures; %s", failures, strings.Join(parts, ", "))
}

// bytesText prints a byte count in binary units.
func bytesText(b float64) string {
	neg := ""
	if b < 0 {
		neg, b = "-", -b
	}
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%s%.2f GiB", neg, b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", neg, b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%s%.1f KiB", neg, b/(1<<10))
	}
	return fmt.Sprintf("%s%.0f B", neg, b)
}

// WriteJSON writes the report to path, indented.
func (r *Report) WriteJSON(path string) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("loadtest: encode report: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("loadtest: write report: %w", err)
	}
	return nil
}

// ReadReport reads a JSON report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadtest: read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("loadtest: decode report %s: %w", path, err)
	}
	if r.Version != ReportVersion {
		return nil, fmt.Errorf("loadtest: report %s has version %d, this chatload reads %d", path, r.Version, ReportVersion)
	}
	return &r, nil
}

// trend describes the servers' memory and goroutines from the start of the load to
// the end of the drain: in a soak, growth that does not level off is a leak.
func (r *Report) trend() string {
	var in []ServerPoint
	for _, p := range r.ServerSeries {
		if p.T >= r.Phases.LoadStart && p.T <= r.Phases.Drained+1 {
			in = append(in, p)
		}
	}
	if len(in) < 3 {
		return ""
	}
	a, b := in[0], in[len(in)-1]
	mid := in[len(in)/2]
	return fmt.Sprintf("over %.0fs of load: RSS %s -> %s -> %s, goroutines %.0f -> %.0f -> %.0f (start, middle, end)",
		b.T-a.T, bytesText(a.RSS), bytesText(mid.RSS), bytesText(b.RSS), a.Goroutines, mid.Goroutines, b.Goroutines)
}

package loadtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleReport merges two synthetic workers, as a run would.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	cfg := &Config{Scenario: Fanout, Targets: oneTarget, Conns: 4, Rate: 2, Duration: 2 * time.Second}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	l := buildLayout(cfg, 0)
	rep := newReport(cfg, l, 0, 2)
	lat, conn := newHist(), newHist()
	for i := 1; i <= 100; i++ {
		recordInto(lat, time.Duration(i)*100*time.Microsecond)
	}
	recordInto(conn, 3*time.Millisecond)
	s1, s2 := &tally{}, &tally{}
	s1.add(feed(0, 1, 2, 3, 4))
	s1.add(feed(0, 1, 2, 3, 4))
	s2.add(feed(0, 1, 2, 4))
	w := func(i int, tl *tally) *workerResult {
		return &workerResult{
			Index: i, Established: 2, ConnectSeconds: 0.5, ConnLat: encodeHist(conn), Lat: encodeHist(lat),
			AckLat: encodeHist(lat), Sent: 2, Acked: 2, Delivered: tl.Received, Tallies: []tally{*tl},
			Errors: map[string]int64{"send:rate_limited": 1, "reaction:internal": 2}, Events: map[string]int64{"user_typing": 3},
			Phases: phases{Connected: 0.5, Joined: 0.6, LoadStart: 0.6, LoadEnd: 2.6, Drained: 3}, ReportsCPU: true,
			CPUSeconds: 0.3, WallSeconds: 3,
			Series: []Point{{T: 1, Conns: 2, Sent: 1, Delivered: 4, Hist: encodeHist(lat)}, {T: 2, Conns: 2, Sent: 1, Delivered: 4}},
		}
	}
	if err := rep.merge([]*workerResult{w(0, s1), w(1, s2)}); err != nil {
		t.Fatal(err)
	}
	base := serverSample{OK: true, RSS: 100 << 20, GoInuse: 10 << 20, Goroutines: 20, CPUSeconds: 1}
	ready := serverSample{OK: true, RSS: 100<<20 + 4*8192, GoInuse: 10<<20 + 4*4096, Goroutines: 24, CPUSeconds: 2, Connections: 4}
	end := serverSample{OK: true, RSS: 101 << 20, CPUSeconds: 3, Committed: 4}
	rep.server(base, ready, end)
	rep.Server.AfterGC = true
	rep.ServerSeries = []ServerPoint{{T: 0, RSS: 100 << 20}, {T: 5, RSS: 101 << 20, CPUSeconds: 1}}
	return rep
}

func TestReportMerge(t *testing.T) {
	r := sampleReport(t)
	if r.Connections.Established != 4 || r.Connections.PerSecond != 8 || r.Messages.Acked != 4 || r.Messages.PerSecond != 2 {
		t.Fatalf("counts: %+v %+v", r.Connections, r.Messages)
	}
	if d := r.Delivery; d.Streams != 3 || d.Expected != 12 || d.Lost != 1 || d.OK() {
		t.Fatalf("delivery %+v", d)
	}
	if r.Failures != 4 || r.Errors["send:rate_limited"] != 2 {
		t.Fatalf("failures %d errors %v: rate_limited is expected, internal is not", r.Failures, r.Errors)
	}
	if r.Deliveries.Latency.Count != 200 || r.Deliveries.Latency.P50 < 4.9 || r.Deliveries.Latency.P50 > 5.1 {
		t.Fatalf("latency %+v", r.Deliveries.Latency)
	}
	s := r.Server
	if s.BytesPerConn != 8192 || s.GoMemPerConn != 4096 || s.GoroutinesPerConn != 1 || s.CPUSeconds != 1 || s.DeliveriesPerCPU != 11 {
		t.Fatalf("server %+v", s)
	}
	if c := r.Client; c.CPUSeconds != 0.6 || c.Processes != 2 || c.WallSeconds != 3 {
		t.Fatalf("client %+v", c)
	}
	if len(r.Series) != 2 || r.Series[0].Sent != 2 || r.Series[0].Delivered != 8 {
		t.Fatalf("series %+v", r.Series)
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	sampleReport(t).WriteText(&b)
	out := b.String()
	for _, want := range []string{"chatload fanout: 4 connections", "delivery     FAILED: 3 streams, 12 expected", "1 lost",
		"send:rate_limited 2 (expected)", "4 failures", "8.0 KiB/conn", "(11 deliveries per CPU-second)", "(4 upgrades per CPU-second)", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := sampleReport(t)
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Delivery != r.Delivery || back.Deliveries.Latency != r.Deliveries.Latency || back.Server != r.Server {
		t.Fatalf("round trip changed the report:\n%+v\n%+v", back, r)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(`"hist"`)) {
		t.Error("the report must not carry the workers' per-second histograms")
	}
	r.Version = 99
	_ = r.WriteJSON(path)
	if _, err := ReadReport(path); err == nil {
		t.Fatal("a report of another version must be refused")
	}
}

func TestReportHTMLIsSelfContained(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.html")
	if err := sampleReport(t).WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	if n := strings.Count(page, "<svg"); n != 5 {
		t.Errorf("%d charts, want 5 (messages, deliveries, latency, connections, server)", n)
	}
	for _, bad := range []string{"<script", "src=", "href=", "url(", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must load nothing", bad)
		}
	}
	if !strings.Contains(page, "FAILED") || !strings.Contains(page, "<polyline") {
		t.Error("page lacks the verdict or the chart lines")
	}
}

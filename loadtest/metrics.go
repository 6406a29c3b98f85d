package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverSample is what the load tester reads from a node's /metrics: the process
// figures the Prometheus process collector takes from /proc/PID/stat, so the node's
// own CPU and memory are measured, never the generator's that shares the machine.
type serverSample struct {
	At         time.Time `json:"at"`
	RSS        float64   `json:"rss_bytes"`
	CPUSeconds float64   `json:"cpu_seconds"`
	Goroutines float64   `json:"goroutines"`
	GoInuse    float64   `json:"go_inuse_bytes"` // heap and stacks in use
	// LiveHeap is the heap marked live by the last GC: its goal next_gc divided by
	// 1 + GOGC/100. Unlike RSS or heap in use, it holds no garbage.
	LiveHeap float64 `json:"live_heap_bytes"`
	// LastGC is when the last GC ended (unix seconds; across targets, the oldest).
	LastGC float64 `json:"last_gc"`
	// FreeHeld is heap memory freed by the GC but not yet returned to the system
	// (heap_idle - heap_released): resident, yet no longer in use.
	FreeHeld float64 `json:"free_held_bytes"`
	nextGC   float64
	gogc     float64
	idle     float64
	released float64

	Connections float64 `json:"connections"`
	Committed   float64 `json:"messages_committed"`
	Deliveries  float64 `json:"fanout_deliveries"`
	RateLimited float64 `json:"rate_limited"`
	SlowCloses  float64 `json:"slow_consumer_disconnects"`
	OK          bool    `json:"ok"` // false when /metrics could not be read
}

// metricFields maps the metric families read to the sample's fields.
var metricFields = map[string]func(*serverSample) *float64{
	"process_resident_memory_bytes":         func(s *serverSample) *float64 { return &s.RSS },
	"process_cpu_seconds_total":             func(s *serverSample) *float64 { return &s.CPUSeconds },
	"go_goroutines":                         func(s *serverSample) *float64 { return &s.Goroutines },
	"go_memstats_heap_inuse_bytes":          func(s *serverSample) *float64 { return &s.GoInuse },
	"go_memstats_stack_inuse_bytes":         func(s *serverSample) *float64 { return &s.GoInuse },
	"go_memstats_heap_idle_bytes":           func(s *serverSample) *float64 { return &s.idle },
	"go_memstats_heap_released_bytes":       func(s *serverSample) *float64 { return &s.released },
	"go_memstats_next_gc_bytes":             func(s *serverSample) *float64 { return &s.nextGC },
	"go_gc_gogc_percent":                    func(s *serverSample) *float64 { return &s.gogc },
	"go_memstats_last_gc_time_seconds":      func(s *serverSample) *float64 { return &s.LastGC },
	"chatd_connections":                     func(s *serverSample) *float64 { return &s.Connections },
	"chatd_messages_committed_total":        func(s *serverSample) *float64 { return &s.Committed },
	"chatd_fanout_deliveries_total":         func(s *serverSample) *float64 { return &s.Deliveries },
	"chatd_rate_limited_total":              func(s *serverSample) *float64 { return &s.RateLimited },
	"chatd_slow_consumer_disconnects_total": func(s *serverSample) *float64 { return &s.SlowCloses },
}

// parseMetrics reads the families of metricFields from Prometheus text exposition,
// summing the series of a family (labels aside).
func parseMetrics(r io.Reader) (serverSample, error) {
	var s serverSample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name = line[:i]
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			rest, ok = strings.TrimSpace(line[j+1:]), true
		}
		field := metricFields[name]
		if field == nil || !ok {
			continue
		}
		valText, _, _ := strings.Cut(strings.TrimSpace(rest), " ") // drop a timestamp
		v, err := strconv.ParseFloat(valText, 64)
		if err != nil {
			continue
		}
		*field(&s) += v
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("loadtest: read metrics: %w", err)
	}
	if s.gogc > 0 {
		s.LiveHeap = s.nextGC / (1 + s.gogc/100)
	}
	s.FreeHeld = max(0, s.idle-s.released)
	s.OK = true
	return s, nil
}

// scrape reads one target's /metrics.
func scrape(ctx context.Context, hc *http.Client, t Target) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+"/metrics", nil)
	if err != nil {
		return serverSample{}, fmt.Errorf("loadtest: metrics request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return serverSample{}, fmt.Errorf("loadtest: GET %s/metrics: %w", t.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverSample{}, fmt.Errorf("loadtest: GET %s/metrics: status %d", t.URL, resp.StatusCode)
	}
	s, err := parseMetrics(resp.Body)
	s.At = time.Now()
	return s, err
}

// scrapeAll reads every target and sums the samples (the cluster as one); OK is
// false if any target could not be read.
func scrapeAll(ctx context.Context, hc *http.Client, ts []Target) serverSample {
	sum := serverSample{At: time.Now(), OK: true}
	for _, t := range ts {
		s, err := scrape(ctx, hc, t)
		if err != nil {
			sum.OK = false
			continue
		}
		sum.RSS += s.RSS
		sum.CPUSeconds += s.CPUSeconds
		sum.Goroutines += s.Goroutines
		sum.GoInuse += s.GoInuse
		sum.LiveHeap += s.LiveHeap
		sum.FreeHeld += s.FreeHeld
		if sum.LastGC == 0 || s.LastGC < sum.LastGC {
			sum.LastGC = s.LastGC
		}
		sum.Connections += s.Connections
		sum.Committed += s.Committed
		sum.Deliveries += s.Deliveries
		sum.RateLimited += s.RateLimited
		sum.SlowCloses += s.SlowCloses
	}
	return sum
}

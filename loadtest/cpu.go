package loadtest

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// cpuTime returns this process's user and system CPU time (getrusage), so the report
// can say how busy the generator itself was: a saturated generator inflates the
// latencies it measures, and must be reported rather than hidden.
func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// Client is the generator's own cost.
type Client struct {
	CPUSeconds  float64 `json:"cpu_seconds"`  // user + system, all processes
	WallSeconds float64 `json:"wall_seconds"` // of the longest process
	Cores       int     `json:"cores"`
	Processes   int     `json:"processes"`
	// Utilization is CPU / (wall * cores): the share of the machine the generator used.
	Utilization float64 `json:"utilization"`
	// LagP99 is the 99th percentile of how late a 10 ms timer fired: when the
	// generator (or the machine) is overloaded its goroutines run late, and every
	// latency it measures carries that delay.
	LagP99 float64 `json:"sched_lag_p99_ms"`
	LagMax float64 `json:"sched_lag_max_ms"`
	// SendLagP99 and SendLagMax are how late sends started against their schedule
	// (the pacer's due time to the moment the send is written): a generator that
	// falls behind sends in catch-up bursts, and the latency it reports, counted
	// from the due time, carries the delay.
	SendLagP99 float64 `json:"send_lag_p99_ms,omitempty"`
	SendLagMax float64 `json:"send_lag_max_ms,omitempty"`
	// Saturated flags a generator whose measurements are suspect: over 80% of the
	// machine's cores, timers more than 10 ms late at p99, or sends more than 10 ms
	// late at p99.
	Saturated bool `json:"saturated"`
}

// judge computes Utilization and applies the thresholds of Client.Saturated.
func (c *Client) judge() {
	if c.WallSeconds > 0 && c.Cores > 0 {
		c.Utilization = c.CPUSeconds / (c.WallSeconds * float64(c.Cores))
	}
	c.Saturated = c.Utilization > 0.8 || c.LagP99 > 10 || c.SendLagP99 > 10
}

// lagProbe measures scheduling delay: a goroutine asks to wake every 10 ms and
// records how late it was.
type lagProbe struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

func startLagProbe(ctx context.Context) *lagProbe {
	p := &lagProbe{hist: newHist()}
	go func() {
		const every = 10 * time.Millisecond
		t := time.NewTimer(every)
		defer t.Stop()
		want := time.Now().Add(every)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// The time the goroutine runs, not the channel's value (when the timer
				// fired): a goroutine that waits for a thread is what delays the
				// generator's sends and readings.
				now := time.Now()
				p.mu.Lock()
				recordInto(p.hist, now.Sub(want))
				p.mu.Unlock()
				want = time.Now().Add(every)
				t.Reset(every)
			}
		}
	}()
	return p
}

func (p *lagProbe) snapshot() *hdrhistogram.Histogram {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hist.Clone()
}

// connsPerProcess is how many connections one process may hold: the open-file limit
// (Go raises the soft limit to the hard one at start) less 2,000 for REST calls,
// the runtime and the worker pipes, at most 18,000 (on this project's machines the
// limit is 20,000).
func connsPerProcess() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 4000 {
		return 1000
	}
	return int(min(rl.Cur-2000, 18_000))
}

// cores is the machine's CPU count, the denominator of Client.Utilization.
func cores() int { return runtime.NumCPU() }

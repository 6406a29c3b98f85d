package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"time"
)

// Run runs one scenario against the targets and returns its report. It prepares the
// users and rooms over REST, hands the connections to workers (in this process, or
// in child processes when one process cannot hold them all), starts the load once
// every worker has connected and joined, and merges what they measured.
//
// Cancelling ctx (Ctrl-C) ends the load early: the workers still drain and report,
// and the report is marked interrupted. Run is bounded in time by the connect
// timeout, the duration and the drain timeout, whatever the server does.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	co := &coordinator{cfg: &cfg, rest: newRESTClient(cfg.Targets), events: make(chan workerEvent, 64)}
	co.prog = newProgressPrinter(cfg.Progress)
	defer co.rest.close()
	return co.run(ctx)
}

// coordinator is the parent side of a run.
type coordinator struct {
	cfg     *Config
	rest    *restClient
	prog    *progressPrinter
	workers []*workerLink
	events  chan workerEvent
	stopped bool
	start   time.Time

	samples   []ServerPoint // the servers' /metrics over time
	nextScrap time.Time
}

// workerLink is the coordinator's view of one worker.
type workerLink struct {
	h      *WorkerHandle
	mu     sync.Mutex // serialises commands
	enc    *json.Encoder
	last   progress
	ready  bool
	result *workerResult
}

// workerEvent is a line from worker i, or the end of its output (err set).
type workerEvent struct {
	i   int
	msg workerMsg
	err error
}

func (co *coordinator) run(ctx context.Context) (*Report, error) {
	cfg := co.cfg
	sources := sourceAddrs(cfg.Targets, cfg.Sources)
	lay := buildLayout(cfg, len(sources))
	nw := workersFor(cfg.Conns, cfg.MaxConnsPerProcess)
	rep := newReport(cfg, lay, len(sources), nw)
	co.say(rep.headline())
	world, err := setupWorld(ctx, co.rest, lay, co.say)
	if err != nil {
		return nil, err
	}
	base, baseGC := scrapeAll(ctx, co.rest.hc, cfg.Targets), false
	if cfg.Scenario == Idle { // memory per connection is the point (memory.go)
		base, baseGC = co.memorySample(ctx, time.Now())
	}
	co.start = time.Now()
	co.sampleServers(ctx, true)
	defer co.closeInputs() // also the workers started before a failed spawn
	if err := co.spawn(ctx, co.plans(lay, world, sources, nw)); err != nil {
		return nil, err
	}
	if err := co.loop(ctx, "ready"); err != nil {
		return nil, err
	}
	ready, readyGC := scrapeAll(ctx, co.rest.hc, cfg.Targets), false
	if cfg.Scenario == Idle && !co.stopped {
		ready, readyGC = co.memorySample(ctx, time.Now())
	}
	if !co.stopped {
		co.command("go")
	}
	if err := co.loop(ctx, "result"); err != nil {
		return nil, err
	}
	end := scrapeAll(context.WithoutCancel(ctx), co.rest.hc, cfg.Targets)
	co.sampleServers(context.WithoutCancel(ctx), true)
	co.prog.clear()
	results := make([]*workerResult, len(co.workers))
	for i, w := range co.workers {
		results[i] = w.result
	}
	if err := rep.merge(results); err != nil {
		return nil, err
	}
	rep.server(base, ready, end)
	rep.Server.AfterGC = baseGC && readyGC
	rep.ServerSeries = co.samples
	rep.Interrupted = co.stopped
	return rep, nil
}

// plans cuts the layout into one plan per worker. Each worker's rate is its share of
// the publishers, so every publisher sends at the same pace wherever it runs; the
// message bound is shared out exactly (largest shares first for the remainder).
func (co *coordinator) plans(l *layout, wd *world, sources []net.IP, n int) []*workerPlan {
	cfg := co.cfg
	src := make([]string, len(sources))
	for i, ip := range sources {
		src[i] = ip.String()
	}
	shares := split(l.Conns, n)
	pubs := make([]int, len(shares))
	for i, conns := range shares {
		for _, c := range conns {
			if c.Publish {
				pubs[i]++
			}
		}
	}
	bounds := apportion(cfg.MaxMessages, pubs)
	var out []*workerPlan
	for i, conns := range shares {
		users := map[int]user{}
		for _, c := range conns {
			users[c.User] = wd.Users[c.User]
		}
		share := 0.0
		if l.Publishers > 0 {
			share = float64(pubs[i]) / float64(l.Publishers)
		}
		out = append(out, &workerPlan{
			Index: i, Scenario: cfg.Scenario, Targets: cfg.Targets, Sources: src, Rooms: wd.Rooms,
			Users: users, Conns: conns, Members: l.Members, Rate: cfg.Rate * share,
			MaxMessages: bounds[i], Duration: cfg.Duration,
			MessageSize: cfg.MessageSize, DialConcurrency: max(1, cfg.DialConcurrency/n),
			ConnectTimeout: cfg.ConnectTimeout, DrainTimeout: cfg.DrainTimeout,
		})
	}
	return out
}

// apportion divides total in proportion to weights, exactly: floors first, then one
// more each to the largest remainders.
func apportion(total int64, weights []int) []int64 {
	out := make([]int64, len(weights))
	sum := 0
	for _, w := range weights {
		sum += w
	}
	if sum == 0 {
		return out
	}
	rem := total
	frac := make([]int64, len(weights)) // remainders, in units of 1/sum
	for i, w := range weights {
		out[i] = total * int64(w) / int64(sum)
		frac[i] = total * int64(w) % int64(sum)
		rem -= out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return frac[order[a]] > frac[order[b]] })
	for k := 0; rem > 0; k++ {
		out[order[k%len(order)]]++
		rem--
	}
	return out
}

// spawn starts the workers and hands each its plan.
func (co *coordinator) spawn(ctx context.Context, plans []*workerPlan) error {
	spawn := co.cfg.Spawn
	if spawn == nil && len(plans) == 1 {
		spawn = InProcess(co.cfg.Log)
	}
	if spawn == nil {
		var err error
		if spawn, err = SelfExec(); err != nil {
			return err
		}
	}
	for i, p := range plans {
		h, err := spawn(ctx, i)
		if err != nil {
			return err
		}
		p.SharedProcess = h.InProcess
		w := &workerLink{h: h, enc: json.NewEncoder(h.In)}
		co.workers = append(co.workers, w)
		go co.read(i, h.Out)
		if err := w.send(control{Plan: p}); err != nil {
			return fmt.Errorf("loadtest: plan to worker %d: %w", i, err)
		}
	}
	if len(plans) > 1 {
		co.say(fmt.Sprintf("split over %d worker processes (%d connections each at most)", len(plans), co.cfg.MaxConnsPerProcess))
	}
	return nil
}

// read forwards worker i's output lines as events.
func (co *coordinator) read(i int, out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var m workerMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			co.events <- workerEvent{i: i, err: fmt.Errorf("loadtest: worker %d: bad output line: %w", i, err)}
			return
		}
		co.events <- workerEvent{i: i, msg: m}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	co.events <- workerEvent{i: i, err: err}
}

func (w *workerLink) send(c control) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(c)
}

// command sends cmd to every worker (a worker that is gone is skipped).
func (co *coordinator) command(cmd string) {
	for _, w := range co.workers {
		_ = w.send(control{Cmd: cmd})
	}
}

// loop handles worker events until every worker is ready (want "ready") or has
// reported (want "result"), drawing the progress line every second. The first end
// of ctx tells every worker to stop; a worker that dies fails the run.
func (co *coordinator) loop(ctx context.Context, want string) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	watchdog := time.NewTimer(co.bound())
	defer watchdog.Stop()
	done := ctx.Done()
	if co.stopped {
		done = nil // already told to stop
	}
	for !co.all(want) {
		select {
		case ev := <-co.events:
			if err := co.handle(ev); err != nil {
				return err
			}
		case <-tick.C:
			co.prog.draw(co.totals())
			co.sampleServers(ctx, false)
		case <-done:
			done = nil
			co.stopped = true
			co.say("stopping: draining and reporting (Ctrl-C again to quit at once)")
			co.command("stop")
		case <-watchdog.C:
			return errors.New("loadtest: the workers overran the run's time bound")
		}
	}
	return nil
}

// bound is the longest a run may take from the spawn of the workers on.
func (co *coordinator) bound() time.Duration {
	c := co.cfg
	return c.ConnectTimeout + c.Duration + c.DrainTimeout + 3*time.Minute
}

func (co *coordinator) handle(ev workerEvent) error {
	w := co.workers[ev.i]
	if ev.err != nil {
		if w.result != nil {
			return nil
		}
		werr := w.h.Wait()
		return fmt.Errorf("loadtest: worker %d ended without a result (%v): %w", ev.i, werr, ev.err)
	}
	m := ev.msg
	if m.Progress != nil {
		w.last = *m.Progress
	}
	switch m.Type {
	case "ready":
		w.ready = true
	case "result":
		w.result = m.Result
		if w.result == nil {
			return fmt.Errorf("loadtest: worker %d: empty result", ev.i)
		}
	case "error":
		return fmt.Errorf("loadtest: worker %d: %s", ev.i, m.Error)
	}
	return nil
}

func (co *coordinator) all(want string) bool {
	for _, w := range co.workers {
		if w.result == nil && (want == "result" || !w.ready) {
			return false
		}
	}
	return true
}

// totals adds up the workers' latest progress (p99: the worst worker's).
func (co *coordinator) totals() progress {
	var t progress
	for _, w := range co.workers {
		p := w.last
		t.Phase = p.Phase
		t.Conns += p.Conns
		t.Established += p.Established
		t.Sent += p.Sent
		t.Acked += p.Acked
		t.Delivered += p.Delivered
		t.Errors += p.Errors
		t.P99 = max(t.P99, p.P99)
	}
	if t.Phase == "" {
		t.Phase = "connect" // no worker has reported yet
	}
	return t
}

// closeInputs ends every worker's input (a stop, if they still run) and waits for
// the workers to exit, reading what they still write so that none blocks on it.
func (co *coordinator) closeInputs() {
	for _, w := range co.workers {
		_ = w.h.In.Close()
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		for i, w := range co.workers {
			if err := w.h.Wait(); err != nil && w.result == nil {
				co.cfg.Log.Warn("worker exit", "worker", i, "err", err)
			}
		}
	}()
	for {
		select {
		case <-co.events:
		case <-waited:
			return
		}
	}
}

// say prints a status line above the progress line.
func (co *coordinator) say(s string) { co.prog.say(s) }

// sampleServers reads the targets' /metrics every 2 s (or now, when force) for the
// report's server charts.
func (co *coordinator) sampleServers(ctx context.Context, force bool) {
	now := time.Now()
	if !force && now.Before(co.nextScrap) {
		return
	}
	co.nextScrap = now.Add(2 * time.Second)
	s := scrapeAll(ctx, co.rest.hc, co.cfg.Targets)
	if !s.OK {
		return
	}
	co.samples = append(co.samples, ServerPoint{
		T: now.Sub(co.start).Seconds(), RSS: s.RSS, CPUSeconds: s.CPUSeconds,
		Goroutines: s.Goroutines, Connections: s.Connections,
	})
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

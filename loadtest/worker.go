package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
)

// workerPlan is a worker's share of the run: the first line of its input.
type workerPlan struct {
	Index           int           `json:"index"`
	Scenario        string        `json:"scenario"`
	Targets         []Target      `json:"targets"`
	Sources         []string      `json:"sources,omitempty"`
	Rooms           []chat.ID     `json:"rooms"`
	Users           map[int]user  `json:"users"`
	Conns           []connSpec    `json:"conns"`
	Members         int           `json:"members"`
	Rate            float64       `json:"rate"` // this worker's share of the send rate
	MaxMessages     int64         `json:"max_messages"`
	Duration        time.Duration `json:"duration"`
	MessageSize     int           `json:"message_size"`
	DialConcurrency int           `json:"dial_concurrency"`
	ConnectTimeout  time.Duration `json:"connect_timeout"`
	DrainTimeout    time.Duration `json:"drain_timeout"`
	// SharedProcess marks in-process workers: the process's CPU is theirs together,
	// so only worker 0 reports it.
	SharedProcess bool `json:"shared_process,omitempty"`
}

// control is a line of a worker's input: the plan first, then "go" (start the load
// once every worker is ready) and "stop" (end it early). End of input means stop.
type control struct {
	Plan *workerPlan `json:"plan,omitempty"`
	Cmd  string      `json:"cmd,omitempty"`
}

// workerMsg is a line of a worker's output.
type workerMsg struct {
	Type     string        `json:"type"` // ready, progress, result, error
	Progress *progress     `json:"progress,omitempty"`
	Result   *workerResult `json:"result,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// progress is a worker's running totals, sent every second.
type progress struct {
	Phase       string  `json:"phase"`
	Conns       int64   `json:"conns"`
	Established int64   `json:"established"`
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Delivered   int64   `json:"delivered"`
	Errors      int64   `json:"errors"`
	P99         float64 `json:"p99_ms"` // of every delivery so far
}

// phases are the moments a worker passed, in seconds since it started.
type phases struct {
	Connected float64 `json:"connected"`
	Joined    float64 `json:"joined"`
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	Drained   float64 `json:"drained"`
}

// Point is one second of the run.
type Point struct {
	T           float64 `json:"t"` // seconds since the start of the connect phase
	Conns       int64   `json:"conns"`
	Established int64   `json:"established"`
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Delivered   int64   `json:"delivered"`
	Errors      int64   `json:"errors"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	Hist        []byte  `json:"hist,omitempty"` // the second's latencies, worker to coordinator
}

// workerResult is what a worker measured; the coordinator merges them.
type workerResult struct {
	Index          int              `json:"index"`
	Established    int64            `json:"established"`
	Failed         int64            `json:"failed"`
	FailureKinds   map[string]int64 `json:"failure_kinds,omitempty"`
	Reconnects     int64            `json:"reconnects"`
	ConnectSeconds float64          `json:"connect_seconds"` // start to the last first handshake
	ConnLat        []byte           `json:"conn_lat,omitempty"`
	Lat            []byte           `json:"lat,omitempty"`
	LatSame        []byte           `json:"lat_same,omitempty"`  // sender and receiver on one target
	LatCross       []byte           `json:"lat_cross,omitempty"` // on different targets
	AckLat         []byte           `json:"ack_lat,omitempty"`
	Lag            []byte           `json:"lag,omitempty"`
	SendLag        []byte           `json:"send_lag,omitempty"`
	Sent           int64            `json:"sent"`
	Acked          int64            `json:"acked"`
	Delivered      int64            `json:"delivered"`
	Errors         map[string]int64 `json:"errors,omitempty"`
	Events         map[string]int64 `json:"events,omitempty"`
	Tallies        []tally          `json:"tallies,omitempty"`
	Phases         phases           `json:"phases"`
	ReportsCPU     bool             `json:"reports_cpu"`
	CPUSeconds     float64          `json:"cpu_seconds"`
	WallSeconds    float64          `json:"wall_seconds"`
	Series         []Point          `json:"series,omitempty"`
}

// kindCounter counts by name, lock-free once a name is known: event types are
// counted on every reader goroutine.
type kindCounter struct {
	m     sync.Map // string -> *atomic.Int64
	total atomic.Int64
}

func (k *kindCounter) add(kind string) {
	k.total.Add(1)
	if v, ok := k.m.Load(kind); ok {
		v.(*atomic.Int64).Add(1)
		return
	}
	v, _ := k.m.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (k *kindCounter) snapshot() map[string]int64 {
	out := map[string]int64{}
	k.m.Range(func(key, v any) bool {
		out[key.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// worker drives its share of the connections.
type worker struct {
	plan  *workerPlan
	log   *slog.Logger
	out   *json.Encoder
	outMu sync.Mutex
	rest  *restClient

	conns     []*conn
	roomConns map[int][]*conn // this worker's connections by room
	pubs      []*conn         // publishing connections
	roomMax   []atomic.Int64  // highest seq seen per room (acks and deliveries)
	recent    recentMessages
	slots     chan struct{} // bounds the actions in flight (maxInflight)
	nextPub   int           // the pacer's round-robin position

	lat, ackLat, connLat *recorder
	sendLag              *recorder // how late each send started against its due time
	// latSame and latCross split lat by whether the sender's target is the
	// receiver's (only with several targets).
	latSame, latCross *recorder
	connected         atomic.Int64
	established       atomic.Int64
	lastUp            atomic.Int64 // unix ns of the latest first handshake
	reconnects        atomic.Int64
	sent, acked       atomic.Int64
	delivered         atomic.Int64
	errs, events      kindCounter
	inflight          sync.WaitGroup

	start  time.Time
	phase  atomic.Value // string
	phases phases
	series []Point
}

// RunWorker runs one worker process's share of a run: it reads the plan and the
// commands from in and writes JSON lines (progress every second, then the result)
// to out. The coordinator runs it in-process, or in a child started with --worker
// when one process cannot hold every connection. Cancelling ctx ends the load
// early, as a stop command does: the worker still drains and reports.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 1<<20), 256<<20)
	if !lines.Scan() {
		return errors.New("loadtest: worker: no plan on input")
	}
	var first control
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil {
		return fmt.Errorf("loadtest: worker: bad plan: %w", err)
	}
	if first.Plan == nil {
		return errors.New("loadtest: worker: the first line holds no plan")
	}
	goCh, stopCh := make(chan struct{}), make(chan struct{})
	go readCommands(lines, goCh, stopCh)
	w, err := newWorker(first.Plan, out, log)
	if err != nil {
		w.emit(workerMsg{Type: "error", Error: err.Error()})
		return err
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stopCh:
			cancel()
		case <-stop.Done():
		}
	}()
	return w.run(stop, goCh)
}

// readCommands turns input lines into the closing of goCh ("go") and stopCh ("stop",
// or the end of input), each at most once. It reads to the end of input whatever
// comes, so that a writer on a synchronous pipe never blocks.
func readCommands(lines *bufio.Scanner, goCh, stopCh chan struct{}) {
	var goOnce, stopOnce sync.Once
	defer stopOnce.Do(func() { close(stopCh) })
	for lines.Scan() {
		var c control
		if json.Unmarshal(lines.Bytes(), &c) != nil {
			continue
		}
		switch c.Cmd {
		case "go":
			goOnce.Do(func() { close(goCh) })
		case "stop":
			stopOnce.Do(func() { close(stopCh) })
		}
	}
}

func newWorker(p *workerPlan, out io.Writer, log *slog.Logger) (*worker, error) {
	w := &worker{
		plan: p, log: log.With("worker", p.Index), out: json.NewEncoder(out), rest: newRESTClient(p.Targets),
		roomConns: map[int][]*conn{}, roomMax: make([]atomic.Int64, len(p.Rooms)),
		lat: newRecorder(), latSame: newRecorder(), latCross: newRecorder(), ackLat: newRecorder(), connLat: newRecorder(), sendLag: newRecorder(), start: time.Now(),
		slots: make(chan struct{}, maxInflight),
	}
	w.phase.Store("connect")
	for _, s := range p.Conns {
		u, ok := p.Users[s.User]
		if !ok || s.Room < 0 || s.Room >= len(p.Rooms) || s.Target < 0 || s.Target >= len(p.Targets) {
			return w, fmt.Errorf("loadtest: worker: connection %d refers outside the plan", s.Index)
		}
		room := p.Rooms[s.Room]
		c := &conn{spec: s, w: w, room: room, roomText: room.String(), user: u, url: p.Targets[s.Target].URL,
			up: make(chan struct{})}
		if s.Source >= 0 && s.Source < len(p.Sources) {
			c.local = &net.TCPAddr{IP: net.ParseIP(p.Sources[s.Source])}
		}
		w.conns = append(w.conns, c)
		w.roomConns[s.Room] = append(w.roomConns[s.Room], c)
		if s.Publish {
			w.pubs = append(w.pubs, c)
		}
	}
	return w, nil
}

// emit writes one line of output; the coordinator reads them in order.
func (w *worker) emit(m workerMsg) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	if err := w.out.Encode(m); err != nil {
		w.log.Debug("worker output", "err", err)
	}
}

func (w *worker) since() float64 { return time.Since(w.start).Seconds() }

// run goes through the phases: connect, join, ready, (go) load, probe, drain, report.
func (w *worker) run(stop context.Context, goCh <-chan struct{}) error {
	user0, sys0 := cpuTime()
	sampling, stopSampling := context.WithCancel(context.Background())
	lag := startLagProbe(sampling)
	samplerDone := make(chan struct{})
	go func() { defer close(samplerDone); w.sample(sampling) }()

	w.connectAll(stop)
	w.phases.Connected = w.since()
	w.phase.Store("join")
	w.joinAll(stop)
	w.phases.Joined = w.since()
	w.phase.Store("ready")
	w.emit(workerMsg{Type: "ready", Progress: w.progress()})
	select {
	case <-goCh:
	case <-stop.Done():
	}
	w.phase.Store("load")
	w.phases.LoadStart = w.since()
	if stop.Err() == nil {
		w.load(stop)
	}
	w.phases.LoadEnd = w.since()
	w.phase.Store("drain")
	if !publishes(w.plan.Scenario) && stop.Err() == nil {
		w.probe(context.Background())
	}
	w.drain()
	w.phases.Drained = w.since()
	stopSampling()
	<-samplerDone

	res := w.result()
	res.Lag = encodeHist(lag.snapshot())
	res.FailureKinds = w.diagnoseFailures(context.Background())
	w.closeAll()
	w.rest.close()
	if !w.plan.SharedProcess || w.plan.Index == 0 {
		user1, sys1 := cpuTime()
		res.ReportsCPU = true
		res.CPUSeconds = (user1 - user0 + sys1 - sys0).Seconds()
	}
	res.WallSeconds = w.since()
	w.emit(workerMsg{Type: "result", Result: res})
	return nil
}

// sample cuts the histograms every second into a Point and reports progress.
func (w *worker) sample(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var prev Point
	for {
		select {
		case <-ctx.Done():
			w.cutPoint(&prev)
			return
		case <-t.C:
			w.cutPoint(&prev)
			w.emit(workerMsg{Type: "progress", Progress: w.progress()})
		}
	}
}

// cutPoint appends the interval since prev as a Point.
func (w *worker) cutPoint(prev *Point) {
	h := w.lat.cut()
	w.ackLat.cut()
	w.sendLag.cut()
	w.connLat.cut()
	w.latSame.cut()
	w.latCross.cut()
	cur := Point{
		T: w.since(), Conns: w.connected.Load(), Established: w.established.Load(),
		Sent: w.sent.Load(), Acked: w.acked.Load(), Delivered: w.delivered.Load(), Errors: w.errs.total.Load(),
	}
	p := cur
	p.Established -= prev.Established
	p.Sent -= prev.Sent
	p.Acked -= prev.Acked
	p.Delivered -= prev.Delivered
	p.Errors -= prev.Errors
	p.Hist = encodeHist(h)
	*prev = cur
	w.series = append(w.series, p)
}

func (w *worker) progress() *progress {
	return &progress{
		Phase: w.phase.Load().(string), Conns: w.connected.Load(), Established: w.established.Load(),
		Sent: w.sent.Load(), Acked: w.acked.Load(), Delivered: w.delivered.Load(), Errors: w.errs.total.Load(),
		P99: summarize(w.lat.total()).P99,
	}
}

// bumpRoomMax raises the highest seq known for a room.
func (w *worker) bumpRoomMax(room int, seq int64) {
	m := &w.roomMax[room]
	for {
		cur := m.Load()
		if seq <= cur || m.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// result gathers the worker's measurements (after the sampler stopped).
func (w *worker) result() *workerResult {
	res := &workerResult{
		Index: w.plan.Index, Established: w.established.Load(), Reconnects: w.reconnects.Load(),
		ConnLat: encodeHist(w.connLat.total()), Lat: encodeHist(w.lat.total()), AckLat: encodeHist(w.ackLat.total()),
		SendLag: encodeHist(w.sendLag.total()),
		LatSame: encodeHist(w.latSame.total()), LatCross: encodeHist(w.latCross.total()),
		Sent: w.sent.Load(), Acked: w.acked.Load(), Delivered: w.delivered.Load(),
		Errors: w.errs.snapshot(), Events: w.events.snapshot(), Phases: w.phases, Series: w.series,
	}
	res.Failed = int64(len(w.conns)) - res.Established
	if up := w.lastUp.Load(); up > 0 {
		res.ConnectSeconds = time.Unix(0, up).Sub(w.start).Seconds()
	}
	rooms := make([]int, 0, len(w.roomConns))
	for r := range w.roomConns {
		rooms = append(rooms, r)
	}
	sort.Ints(rooms)
	for _, r := range rooms {
		t := tally{Room: r}
		for _, c := range w.roomConns[r] {
			t.add(&c.st)
		}
		t.MaxSeq = max(t.MaxSeq, w.roomMax[r].Load())
		res.Tallies = append(res.Tallies, t)
	}
	return res
}

// Command chatload is the load tester of a chatd cluster: it runs a named scenario
// against one or more nodes and reports throughput, latency, errors and delivery
// (see package loadtest, and `chatload --help`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/chatd/chatd/loadtest"
)

// Exit codes: a run whose delivery check fails exits 3, so scripts can tell a
// broken cluster from a broken command line (2) or a run that could not run (1).
const (
	exitError    = 1
	exitUsage    = 2
	exitDelivery = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--worker" {
		return runWorker(stderr)
	}
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C quits at once
	}()
	cfg, err := opts.config(ctx, stderr)
	if err == nil {
		err = cfg.Normalize() // sizes that cannot work are usage errors, found before any request
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		return exitUsage
	}
	var old *loadtest.Report
	if opts.compare != "" {
		if old, err = loadtest.ReadReport(opts.compare); err != nil {
			fmt.Fprintln(stderr, "chatload:", err)
			return exitUsage
		}
	}
	if opts.cpuProfile != "" {
		stopProfile, err := startProfile(opts.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "chatload:", err)
			return exitUsage
		}
		defer stopProfile()
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "chatload:", err)
		return exitError
	}
	return opts.output(rep, old, stdout, stderr)
}

// output prints the summary and writes the files asked for.
func (o *options) output(rep *loadtest.Report, old *loadtest.Report, stdout, stderr io.Writer) int {
	rep.WriteText(stdout)
	if old != nil {
		fmt.Fprintln(stdout)
		loadtest.WriteComparison(stdout, old, rep)
	}
	code := 0
	if o.json != "" {
		if err := rep.WriteJSON(o.json); err != nil {
			fmt.Fprintln(stderr, "chatload:", err)
			code = exitError
		}
	}
	if o.html != "" {
		if err := rep.WriteHTML(o.html); err != nil {
			fmt.Fprintln(stderr, "chatload:", err)
			code = exitError
		}
	}
	if code == 0 && !rep.Delivery.OK() {
		code = exitDelivery
	}
	return code
}

// runWorker is the hidden mode in which the coordinator re-executes this binary:
// the plan and commands on stdin, JSON lines on stdout. A signal (the terminal's
// Ctrl-C reaches the whole process group) ends the load early, as "stop" does.
func runWorker(stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := loadtest.RunWorker(ctx, os.Stdin, os.Stdout, log); err != nil {
		log.Error("worker failed", "err", err)
		return exitError
	}
	return 0
}

// options is the command line.
type options struct {
	scenario     string
	targets      string
	allowRemote  bool
	duration     time.Duration
	durationSet  bool
	conns, rooms int
	rate         float64
	publishers   int
	connsPerUser int
	maxMessages  int64
	warmup       time.Duration
	size         int
	dialConc     int
	connectTO    time.Duration
	drainTO      time.Duration
	sources      int
	perProcess   int
	pprof        string
	gcWait       time.Duration
	json, html   string
	compare      string
	quiet, debug bool
	cpuProfile   string
	progressTo   io.Writer
	logTo        io.Writer
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	o := &options{progressTo: stderr, logTo: stderr}
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs, stderr) }
	fs.StringVar(&o.targets, "target", "http://127.0.0.1:8080", "comma-separated base URLs of the nodes")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow targets outside loopback")
	fs.DurationVar(&o.duration, "duration", 0, "load phase (hold for idle and connect-storm); default: the scenario's")
	fs.IntVar(&o.conns, "conns", 0, "WebSocket connections; default: the scenario's")
	fs.IntVar(&o.rooms, "rooms", 0, "rooms the connections are spread over; default: the scenario's")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second, all publishers together; default: the scenario's")
	fs.IntVar(&o.publishers, "publishers", 0, "fanout: publishing users (default rate/0.8, under the 10 per 10 s limit)")
	fs.IntVar(&o.connsPerUser, "conns-per-user", 50, "connections per user (the server allows 100 per node)")
	fs.DurationVar(&o.warmup, "warmup", 0, "leave the first part of the load phase out of a steady-state latency, reported beside the whole run's")
	fs.Int64Var(&o.maxMessages, "max-messages", 0, "stop after this many sends (default rate*duration)")
	fs.IntVar(&o.size, "size", 64, "message content bytes (32-10000)")
	fs.IntVar(&o.dialConc, "dial-concurrency", 512, "WebSocket handshakes in flight")
	fs.DurationVar(&o.connectTO, "connect-timeout", 60*time.Second, "bound of the connect phase")
	fs.DurationVar(&o.drainTO, "drain-timeout", 10*time.Second, "wait for the last deliveries after the load")
	fs.IntVar(&o.sources, "sources", 0, "source addresses 127.0.0.1..N on loopback (default one per 5,000 conns)")
	fs.IntVar(&o.perProcess, "max-conns-per-process", 0, "split into worker processes above this (default from the open-file limit)")
	fs.StringVar(&o.pprof, "pprof", "", "idle: the nodes' pprof base URLs (operator listeners), to force a GC before reading memory")
	fs.DurationVar(&o.gcWait, "gc-wait", 130*time.Second, "idle without --pprof: wait this long at most for a server GC before reading memory (0: no wait)")
	fs.StringVar(&o.json, "json", "", "write the JSON report to this file")
	fs.StringVar(&o.html, "html", "", "write the self-contained HTML report to this file")
	fs.StringVar(&o.compare, "compare", "", "print the change of each headline figure against this earlier JSON report")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.BoolVar(&o.debug, "debug", false, "debug logging")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's CPU profile to this file (is the generator the bound?)")
	if len(args) == 0 {
		usage(fs, stderr)
		return nil, errors.New("no scenario given")
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags first is allowed as long as --help is among them; a scenario is required.
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return nil, errors.New("the scenario comes first: chatload SCENARIO [flags]")
	}
	o.scenario = args[0]
	if _, ok := loadtest.LookupScenario(o.scenario); !ok {
		return nil, fmt.Errorf("unknown scenario %q (one of %s)", o.scenario, loadtest.ScenarioNames())
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { o.durationSet = o.durationSet || f.Name == "duration" })
	return o, nil
}

// config turns the options into a loadtest.Config, resolving and guarding the targets.
func (o *options) config(ctx context.Context, stderr io.Writer) (loadtest.Config, error) {
	targets, err := loadtest.ParseTargets(ctx, o.targets, o.allowRemote)
	if err != nil {
		return loadtest.Config{}, err
	}
	level := slog.LevelWarn
	if o.debug {
		level = slog.LevelDebug
	}
	cfg := loadtest.Config{
		Scenario: o.scenario, Targets: targets, Duration: o.duration, Conns: o.conns, Rooms: o.rooms,
		Rate: o.rate, Publishers: o.publishers, ConnsPerUser: o.connsPerUser, MaxMessages: o.maxMessages, Warmup: o.warmup,
		MessageSize: o.size, DialConcurrency: o.dialConc, ConnectTimeout: o.connectTO, DrainTimeout: o.drainTO,
		Sources: o.sources, MaxConnsPerProcess: o.perProcess,
		Log: slog.New(slog.NewTextHandler(o.logTo, &slog.HandlerOptions{Level: level})),
	}
	if o.pprof != "" {
		if cfg.Pprof, err = loadtest.ParseTargets(ctx, o.pprof, o.allowRemote); err != nil {
			return loadtest.Config{}, fmt.Errorf("--pprof: %w", err)
		}
	}
	cfg.GCWait = o.gcWait
	if o.gcWait == 0 {
		cfg.GCWait = -1 // an explicit 0: no wait
	}
	if o.durationSet && o.duration == 0 {
		cfg.Duration = -1 // an explicit 0: no hold at all
	}
	if !o.quiet {
		cfg.Progress = o.progressTo
	}
	return cfg, nil
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `chatload: the load tester of a chatd cluster.

Usage: chatload SCENARIO [--target http://HOST:PORT[,http://HOST:PORT...]] [flags]

Scenarios (defaults in brackets; flags change the size):
`)
	for _, s := range loadtest.Scenarios {
		def := fmt.Sprintf("%d conns", s.Conns)
		if s.Rate > 0 {
			def += fmt.Sprintf(", %g msgs/s", s.Rate)
		}
		if s.Duration > 0 {
			def += ", " + s.Duration.String()
		}
		fmt.Fprintf(w, "  %-14s %s [%s]\n", s.Name, s.Summary, def)
	}
	fmt.Fprint(w, `
Every scenario checks delivery (every message reaches every subscriber once, in
order), is bounded in count and time, and stops by itself or on Ctrl-C (a second
Ctrl-C quits at once). Targets outside loopback need --allow-remote.
Output: a progress line on stderr, a summary on stdout, --json and --html files.
Exit status: 0 ok, 1 the run failed, 2 bad usage, 3 the delivery check failed.

Flags:
`)
	fs.PrintDefaults()
}

// startProfile writes this process's CPU profile to path until the returned func.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"
)

// The scenarios, by name.
const (
	ConnectStorm = "connect-storm"
	Idle         = "idle"
	Fanout       = "fanout"
	Rooms        = "rooms"
	Mixed        = "mixed"
	Soak         = "soak"
)

// Scenario describes a named preset: what it measures and its default size.
type Scenario struct {
	Name     string
	Summary  string
	Conns    int
	Rooms    func(conns int) int // 0: one room per 1,000 connections
	Rate     float64
	Duration time.Duration
}

// Scenarios lists the presets in the order `chatload --help` shows them.
var Scenarios = []Scenario{
	{ConnectStorm, "open N connections as fast as possible: upgrade rate, connect latency, failures",
		2000, perRoom(1000), 0, 0},
	{Idle, "hold N connections: server memory and goroutines per connection (from /metrics)",
		2000, perRoom(1000), 0, 30 * time.Second},
	{Fanout, "one room, N subscribers, publishers at --rate: deliveries per second and latency",
		500, func(int) int { return 1 }, 50, 10 * time.Second},
	{Rooms, "many small DM-like rooms (2 connections each by default): throughput and latency",
		1000, perRoom(2), 100, 10 * time.Second},
	{Mixed, "rooms of 20 with sends, typing, reactions and edits (REST), reads, leaves and re-joins",
		500, perRoom(20), 50, 15 * time.Second},
	{Soak, "mixed for a long, bounded time, sampling server memory and goroutines for leaks",
		500, perRoom(20), 30, 10 * time.Minute},
}

func perRoom(n int) func(int) int {
	return func(conns int) int { return max(1, (conns+n-1)/n) }
}

// LookupScenario returns the preset called name.
func LookupScenario(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios[i], true
}

// ScenarioNames returns the preset names, comma-separated.
func ScenarioNames() string {
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// PerUserRate is the sustained send rate one user is given, in messages per second.
// The server allows 10 sends per sliding 10 s window per user, cluster-wide (1/s on
// average); 0.8/s leaves a fifth of the window as margin for pacing jitter and for
// resends, so that a correctly sized run never meets rate_limited.
const PerUserRate = 0.8

// Config is one run. Zero values take the scenario's preset; see Scenarios.
type Config struct {
	// Scenario is one of the names in Scenarios.
	Scenario string
	// Targets are the nodes; connections and REST calls go round-robin over them.
	Targets []Target
	// Duration is the load phase (the hold for idle and connect-storm).
	// Zero: the preset; negative: none (connect-storm's default).
	Duration time.Duration
	// Conns is the number of WebSocket connections (0: the preset).
	Conns int
	// Rooms is the number of rooms the connections are spread over (0: the preset).
	Rooms int
	// Rate is the total send rate in messages per second (0: the preset).
	Rate float64
	// Publishers is the number of publishing users in fanout (0: Rate/PerUserRate).
	Publishers int
	// ConnsPerUser bounds the connections of one user (0: 50). The server caps a user
	// at 100 per node by default (--max-conns-per-user); fewer users means fewer
	// (slow, argon2-hashed) registrations.
	ConnsPerUser int
	// Warmup is the start of the load phase left out of the steady-state latency,
	// reported beside the whole run's (0: none). The first seconds carry one-off
	// costs (connections' first commands, rooms' first commits, presence of the
	// users who just joined) that a steady rate does not.
	Warmup time.Duration
	// MaxMessages bounds the sends (0: Rate*Duration, so the time bound decides).
	MaxMessages int64
	// MessageSize is the length of each message's content in bytes (0: 64).
	MessageSize int
	// DialConcurrency bounds the handshakes in flight (0: 512).
	DialConcurrency int
	// ConnectTimeout bounds the connect phase (0: 60 s).
	ConnectTimeout time.Duration
	// DrainTimeout bounds the wait for the last deliveries after the load (0: 10 s).
	DrainTimeout time.Duration
	// Sources is the number of source addresses 127.0.0.x on loopback (0: one per
	// 5,000 connections).
	Sources int
	// MaxConnsPerProcess is the connections one process may hold (0: the open-file
	// limit less 2,000 for REST calls and the runtime, at most 18,000). Above it the
	// run is split over worker processes.
	MaxConnsPerProcess int
	// Pprof are the nodes' pprof endpoints (operator listeners), used by idle to
	// force a GC before each memory sample (nil: wait for one, see GCWait).
	Pprof []Target
	// GCWait bounds idle's wait for a server GC before each memory sample when no
	// Pprof is given (0: 130 s, past the runtime's forced GC every 2 minutes;
	// negative: do not wait).
	GCWait time.Duration
	// Spawn starts a worker (nil: in-process for one worker, re-executing this
	// binary with --worker for more).
	Spawn Spawner
	// Progress receives the live progress line (nil: none).
	Progress io.Writer
	// Log receives warnings and debug detail (nil: discarded).
	Log *slog.Logger

	normalized bool // presets filled in (Normalize is idempotent)
}

// Normalize fills the preset's values and validates the whole configuration; Run
// calls it, and a command line may call it first to tell usage errors apart. It may
// be called again: the second call changes nothing.
func (c *Config) Normalize() error {
	if c.normalized {
		return c.validate()
	}
	if err := c.normalize(); err != nil {
		return err
	}
	c.normalized = true
	return nil
}

func (c *Config) normalize() error {
	sc, ok := LookupScenario(c.Scenario)
	if !ok {
		return fmt.Errorf("loadtest: unknown scenario %q (one of %s)", c.Scenario, ScenarioNames())
	}
	if len(c.Targets) == 0 {
		return errors.New("loadtest: no targets")
	}
	if c.Conns == 0 {
		c.Conns = sc.Conns
	}
	if c.Rooms == 0 {
		c.Rooms = sc.Rooms(c.Conns)
	}
	if c.Rate == 0 {
		c.Rate = sc.Rate
	}
	switch {
	case c.Duration == 0:
		c.Duration = sc.Duration
	case c.Duration < 0:
		c.Duration = 0
	}
	setDefault(&c.ConnsPerUser, 50)
	setDefault(&c.MessageSize, 64)
	setDefault(&c.DialConcurrency, 512)
	setDefault(&c.ConnectTimeout, 60*time.Second)
	setDefault(&c.DrainTimeout, 10*time.Second)
	setDefault(&c.Sources, (c.Conns+4999)/5000)
	setDefault(&c.MaxConnsPerProcess, connsPerProcess())
	switch {
	case c.GCWait == 0:
		c.GCWait = 130 * time.Second
	case c.GCWait < 0:
		c.GCWait = 0
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Scenario == Fanout {
		c.Rooms = 1
	}
	if c.MaxMessages == 0 && c.Rate > 0 {
		c.MaxMessages = int64(math.Ceil(c.Rate * c.Duration.Seconds()))
	}
	return c.validate()
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Hard bounds: a typo must not turn into a load that takes the machine down.
const (
	maxConns    = 500_000
	maxDuration = 24 * time.Hour
	maxRate     = 1_000_000
)

func (c *Config) validate() error {
	switch {
	case c.Conns < 1 || c.Conns > maxConns:
		return fmt.Errorf("loadtest: --conns %d outside 1..%d", c.Conns, maxConns)
	case c.Rooms < 1 || c.Rooms > c.Conns:
		return fmt.Errorf("loadtest: --rooms %d outside 1..conns (%d)", c.Rooms, c.Conns)
	case c.Rate < 0 || c.Rate > maxRate:
		return fmt.Errorf("loadtest: --rate %g outside 0..%d", c.Rate, maxRate)
	case c.Duration > maxDuration:
		return fmt.Errorf("loadtest: --duration %s over %s", c.Duration, maxDuration)
	case c.Warmup < 0 || (c.Warmup > 0 && c.Warmup >= c.Duration):
		return fmt.Errorf("loadtest: --warmup %s outside 0..duration (%s)", c.Warmup, c.Duration)
	case c.ConnsPerUser < 1 || c.ConnsPerUser > 100:
		return fmt.Errorf("loadtest: conns per user %d outside 1..100 (the server's per-user cap)", c.ConnsPerUser)
	case c.MessageSize < 32 || c.MessageSize > 10_000:
		return fmt.Errorf("loadtest: message size %d outside 32..10000", c.MessageSize)
	case c.Publishers < 0 || c.Publishers > c.Conns:
		return fmt.Errorf("loadtest: --publishers %d outside 0..conns", c.Publishers)
	case c.MaxMessages < 0:
		return errors.New("loadtest: max messages must be >= 0")
	case c.DialConcurrency < 1:
		return errors.New("loadtest: dial concurrency must be >= 1")
	case c.MaxConnsPerProcess < 1:
		return errors.New("loadtest: max conns per process must be >= 1")
	}
	if c.publishes() && c.Rate == 0 {
		return fmt.Errorf("loadtest: %s needs --rate > 0", c.Scenario)
	}
	if c.publishes() && c.Duration == 0 {
		return fmt.Errorf("loadtest: %s needs --duration > 0", c.Scenario)
	}
	// Each publishing user may send PerUserRate: the rate needs that many publishers
	// (an explicit --publishers may go lower, to exercise the server's limit).
	if need := int(math.Ceil(c.Rate / PerUserRate)); c.publishes() && c.Publishers == 0 && need > c.Conns {
		return fmt.Errorf("loadtest: --rate %g needs at least %d publishing connections (%.1f msgs/s per user, under the server's 10 per 10 s); raise --conns or lower --rate",
			c.Rate, need, PerUserRate)
	}
	return nil
}

func (c *Config) publishes() bool { return publishes(c.Scenario) }

// publishes says the scenario sends messages during its load phase (the others only
// send one probe message per room at the end).
func publishes(scenario string) bool {
	switch scenario {
	case Fanout, Rooms, Mixed, Soak:
		return true
	}
	return false
}

// mixes says the scenario runs the mixed blend of actions besides sends.
func mixes(scenario string) bool { return scenario == Mixed || scenario == Soak }

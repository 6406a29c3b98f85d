package node

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bounds the tests wait for, derived from memberlistConfig's tuning (see its doc).
const (
	// deathBound: first probe (~1 s) + failed probe (0.5 s) + the longest suspicion,
	// without any confirmation (SuspicionMaxTimeoutMult x 1.5 s = 6 s).
	deathBound = 7500 * time.Millisecond
	// leaveBound: two broadcasts of a few gossip rounds, with room for a slow machine.
	leaveBound = 3 * time.Second
	// restartBound: the old address's death, DeadNodeReclaimTime (5 s), then the next
	// push/pull (every 5 s) of the restarted node.
	restartBound = deathBound + 10*time.Second + 2*time.Second
)

func TestMembershipFormsCluster(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	addrs := []string{freeGossipAddr(t), freeGossipAddr(t), freeGossipAddr(t)}
	var ms []*Membership
	for i, name := range []string{"a", "b", "c"} {
		ms = append(ms, startMember(t, MembershipConfig{
			Name: name, Bind: addrs[i], Key: key, Join: addrs, // each finds itself among the seeds
			Meta: NodeMeta{PeerAddr: ":" + strconv.Itoa(7001+i), HTTPAddr: "127.0.0.1:" + strconv.Itoa(8081+i)},
		}))
	}
	waitAlive(t, ms, []string{"a", "b", "c"}, 5*time.Second)

	for _, m := range ms {
		select {
		case <-m.Changes():
		default:
			t.Errorf("%s: no change signalled", m.cfg.Name)
		}
	}
	// A new name is accepted at once: ready when StartMembership returns, or a
	// confirm round later when a seed answered the second sync before it had merged
	// the first.
	waitFor(t, 3*time.Second, "every member ready", func() error {
		for _, m := range ms {
			if !m.Ready() {
				return fmt.Errorf("%s: not ready", m.cfg.Name)
			}
		}
		return nil
	})
	meta, ok := ms[0].Meta("b")
	if want := (NodeMeta{PeerAddr: "127.0.0.1:7002", HTTPAddr: "127.0.0.1:8082"}); !ok || meta != want {
		t.Errorf("a sees b's meta %+v (%v), want %+v: the peer address's empty host completed with the advertise IP", meta, ok, want)
	}
	for i, mi := range ms[2].Members() {
		if mi.GossipAddr != addrs[i] || mi.State != MemberAlive {
			t.Errorf("c sees %+v, want %s alive at %s", mi, []string{"a", "b", "c"}[i], addrs[i])
		}
	}
}

func TestMembershipRefusesStrangers(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 2, newKey(t))
	a, b := ms[0], ms[1]
	stranger := startMember(t, MembershipConfig{Name: "stranger", Key: newKey(t), Join: []string{a.LocalAddr(), b.LocalAddr()}})
	keyless := startMember(t, MembershipConfig{Name: "keyless", Join: []string{a.LocalAddr()}})

	// Let both try several times (the rejoin loop retries every 100 ms here).
	waitFor(t, 5*time.Second, "strangers retried their joins", func() error {
		if s, k := stranger.joinFailures.Load(), keyless.joinFailures.Load(); s < 6 || k < 3 {
			return fmt.Errorf("failed joins: stranger %d, keyless %d", s, k)
		}
		return nil
	})
	for _, m := range []*Membership{a, b} {
		if got := m.Alive(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s sees %v alive, want [a b]", m.cfg.Name, got)
		}
		for _, mi := range m.Members() {
			if mi.Name == "stranger" || mi.Name == "keyless" {
				t.Errorf("%s knows %+v", m.cfg.Name, mi)
			}
		}
	}
	for _, m := range []*Membership{stranger, keyless} {
		if got := m.Alive(); !slices.Equal(got, []string{m.cfg.Name}) {
			t.Errorf("%s sees %v alive, want only itself", m.cfg.Name, got)
		}
	}

	// The same path with the right key works: the refusals above were the key's doing.
	c := startMember(t, MembershipConfig{Name: "c", Key: a.cfg.Key, Join: []string{a.LocalAddr()}})
	waitAlive(t, []*Membership{a, b, c}, []string{"a", "b", "c"}, 5*time.Second)
}

func TestMembershipLeaveIsSeenAsLeft(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, newKey(t))
	start := time.Now()
	if err := ms[2].Leave(2 * time.Second); err != nil {
		t.Fatalf("leave: %v", err)
	}
	waitState(t, ms[:2], "c", MemberLeft, leaveBound)
	t.Logf("leave seen by both others %v after Leave was called", time.Since(start).Round(time.Millisecond))
	waitAlive(t, ms[:2], []string{"a", "b"}, time.Second)
	if err := ms[2].Shutdown(); err != nil { // after Leave: a no-op
		t.Errorf("shutdown after leave: %v", err)
	}
}

func TestMembershipDeathDetected(t *testing.T) {
	t.Parallel()
	ms := startCluster(t, 3, newKey(t))
	start := time.Now()
	if err := ms[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := ms[2].Shutdown(); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
	waitState(t, ms[:2], "c", MemberDead, deathBound)
	t.Logf("death seen by both others %v after shutdown (bound %v)", time.Since(start).Round(time.Millisecond), deathBound)
	if got := ms[0].Alive(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("a sees %v alive, want [a b]", got)
	}
	if err := ms[2].Leave(time.Second); err != nil { // after Shutdown: a no-op, not memberlist's panic
		t.Errorf("leave after shutdown: %v", err)
	}
}

func TestMembershipRestartOnNewAddress(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	ms := startCluster(t, 3, key)
	old := ms[2].LocalAddr()
	if err := ms[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitState(t, ms[:2], "c", MemberDead, deathBound)

	start := time.Now()
	c := startMember(t, MembershipConfig{Name: "c", Key: key, Join: []string{ms[0].LocalAddr(), ms[1].LocalAddr()}})
	if c.LocalAddr() == old {
		t.Fatalf("restarted on the old address %s", old)
	}
	// The others still know c at its old address (dead for less than
	// DeadNodeReclaimTime): c must not say it is ready.
	if c.Ready() {
		t.Fatal("c is ready before the others accepted its new address")
	}
	accepted := func() error {
		for _, m := range ms[:2] {
			for _, mi := range m.Members() {
				if mi.Name == "c" && (mi.State != MemberAlive || mi.GossipAddr != c.LocalAddr()) {
					return fmt.Errorf("%s sees %+v, want alive at %s", m.cfg.Name, mi, c.LocalAddr())
				}
			}
		}
		return nil
	}
	select {
	case <-c.Confirmed():
	case <-time.After(restartBound):
		t.Fatalf("c not confirmed %v after it started: %v", restartBound, accepted())
	}
	// Confirmed means every other member told c it sees it at its new address.
	if err := accepted(); err != nil {
		t.Fatalf("c confirmed, but: %v", err)
	}
	if !c.Ready() {
		t.Error("c confirmed but not ready")
	}
	t.Logf("restart on a new address accepted %v after it started", time.Since(start).Round(time.Millisecond))
	waitAlive(t, []*Membership{ms[0], ms[1], c}, []string{"a", "b", "c"}, 2*time.Second)
}

func TestMembershipRejoinsSeedsUnreachableAtStart(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	bAddr := freeGossipAddr(t)
	a := startMember(t, MembershipConfig{Name: "a", Key: key, Join: []string{bAddr}})
	if n := a.joinFailures.Load(); n < 1 {
		t.Fatalf("%d failed joins at start, want the initial attempt to have failed", n)
	}
	// b joins nobody: only a's rejoin loop can bring them together.
	b := startMember(t, MembershipConfig{Name: "b", Key: key, Bind: bAddr})
	waitAlive(t, []*Membership{a, b}, []string{"a", "b"}, 5*time.Second)
}

func TestMembershipConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  MembershipConfig
		want string
	}{
		{"no name", MembershipConfig{Bind: "127.0.0.1:0"}, "name is required"},
		{"short key", MembershipConfig{Name: "a", Bind: "127.0.0.1:0", Key: make([]byte, 10)}, "16, 24 or 32 bytes"},
		{"seed without port", MembershipConfig{Name: "a", Bind: "127.0.0.1:0", Join: []string{"127.0.0.1"}}, "host:port"},
		{"seed without host", MembershipConfig{Name: "a", Bind: "127.0.0.1:0", Join: []string{":7946"}}, "with a host and a port"},
		{"bind on a name", MembershipConfig{Name: "a", Bind: "localhost:0"}, "must be an IP"},
		{"advertise with port", MembershipConfig{Name: "a", Bind: "127.0.0.1:0", Advertise: "example.com:7946"}, "without port"},
		{"huge meta", MembershipConfig{Name: "a", Bind: "127.0.0.1:0", Meta: NodeMeta{PeerAddr: strings.Repeat("x", 600)}}, "over memberlist's 512"},
	} {
		tc.cfg.Log = slog.New(slog.DiscardHandler)
		m, err := StartMembership(tc.cfg)
		if err == nil {
			_ = m.Shutdown()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestMemberlistLogLinesBecomeDebugRecords(t *testing.T) {
	var buf bytes.Buffer
	w := mlLogWriter{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), lastRefuse: new(atomic.Int64)}
	if _, err := w.Write([]byte("[WARN] memberlist: Refuting a suspect message (from: b)\n")); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{"level=DEBUG", `msg="Refuting a suspect message (from: b)"`, "memberlist_level=WARN"} {
		if !strings.Contains(got, want) {
			t.Errorf("record %q lacks %q", got, want)
		}
	}
	buf.Reset()
	w = mlLogWriter{log: slog.New(slog.NewTextHandler(&buf, nil)), lastRefuse: new(atomic.Int64)} // info level
	_, _ = w.Write([]byte("[ERR] memberlist: Push/Pull with b failed\n"))
	if buf.Len() != 0 {
		t.Errorf("routine line logged at info: %q", buf.String())
	}
	for range 3 {
		_, _ = w.Write([]byte(`[ERR] memberlist: discarding stream with unacceptable label "x": from=127.0.0.1:4000` + "\n"))
	}
	if got := strings.Count(buf.String(), "level=WARN"); got != 1 {
		t.Errorf("%d warnings for three refusals, want 1 (rate-limited):\n%s", got, buf.String())
	}
}

// startCluster starts n members named a, b, c... each joining those before it.
func startCluster(t *testing.T, n int, key []byte) []*Membership {
	t.Helper()
	var ms []*Membership
	var seeds []string
	for i := range n {
		m := startMember(t, MembershipConfig{Name: string(rune('a' + i)), Key: key, Join: slices.Clone(seeds)})
		ms = append(ms, m)
		seeds = append(seeds, m.LocalAddr())
	}
	names := make([]string, n)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	waitAlive(t, ms, names, 5*time.Second)
	return ms
}

// startMember starts a membership on a free loopback port (unless cfg.Bind says
// otherwise) with a fast rejoin loop, logging into a buffer that is shown if the test
// fails, and shuts it down when the test ends.
func startMember(t *testing.T, cfg MembershipConfig) *Membership {
	t.Helper()
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1:0"
	}
	cfg.RejoinInterval = 100 * time.Millisecond
	logs := &lockedBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("member", cfg.Name)
	t.Cleanup(func() { // registered first, so it runs after the Shutdown below
		if t.Failed() {
			t.Logf("log of %s:\n%s", cfg.Name, logs.tail(80))
		}
	})
	m, err := StartMembership(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func waitAlive(t *testing.T, ms []*Membership, want []string, d time.Duration) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("everyone sees %v alive", want), func() error {
		for _, m := range ms {
			if got := m.Alive(); !slices.Equal(got, want) {
				return fmt.Errorf("%s sees %v", m.cfg.Name, got)
			}
		}
		return nil
	})
}

func waitState(t *testing.T, ms []*Membership, name, state string, d time.Duration) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("everyone sees %s %s", name, state), func() error {
		for _, m := range ms {
			i := slices.IndexFunc(m.Members(), func(mi MemberInfo) bool { return mi.Name == name })
			if i < 0 || m.Members()[i].State != state {
				return fmt.Errorf("%s sees %+v", m.cfg.Name, m.Members())
			}
		}
		return nil
	})
}

// waitFor polls cond until it returns nil, failing the test after d with cond's
// last complaint.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %v", d, what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeGossipAddr returns a loopback address whose port is free for both TCP and UDP
// right now (another process may still take it before it is used).
func freeGossipAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(lines int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

package clustertest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testsvc"
)

const (
	// readyTimeout bounds a node's start until /readyz answers: generous for a race
	// build on a loaded CI machine, finite so a wedged node fails with its log.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop (SIGTERM): leave, hand rooms over, close
	// sockets. The node's own shutdown budget is 15 s.
	stopTimeout = 30 * time.Second
	// killTimeout bounds the exit after SIGKILL.
	killTimeout = 10 * time.Second
	// tailLines is how much of each node's log a failed test shows.
	tailLines = 60
)

// Options configures Start.
type Options struct {
	// Nodes is how many nodes to start. Default 1.
	Nodes int
	// Env adds KEY=value variables to every node's environment. The test's own CHATD_*
	// variables are not passed on, so a developer's shell cannot change the cluster.
	Env []string
	// ExtraArgs are appended to every node's command line, after the harness's flags,
	// so they win over them (e.g. "--log-level=debug").
	ExtraArgs []string
	// Netns runs each node in its own network namespace on a bridge (netns.go), so
	// that Partition can cut it off. Needs root; without root the test fails under
	// CI and is skipped elsewhere.
	Netns bool
	// RedisURL, when set, is the Redis the nodes use instead of a database of the
	// harness's shared one: a test that kills Redis brings its own (testsvc.NewRedis).
	RedisURL string
}

// Cluster is a set of chatd processes sharing a store, a Redis and a cluster key.
type Cluster struct {
	tb     testing.TB
	bin    string
	dir    string
	env    []string
	common []string // flags every node gets
	extra  []string

	operatorToken, jwtSecret string

	ports portSet
	net   *network // nil: every node on the loopback
	nodes []*node
}

// node is one member of the cluster across its restarts.
type node struct {
	name                 string
	ip                   string // 127.0.0.1, or its namespace's address
	listen, gossip, peer int
	logPath              string // appended to by every run
	proc                 *process
	paused               bool
	runs                 int
}

// Start builds chatd (once per test binary), starts opt.Nodes nodes at once and
// returns when each answers /readyz. Everything is killed when the test ends.
func Start(tb testing.TB, opt Options) *Cluster {
	tb.Helper()
	if opt.Nodes < 1 {
		opt.Nodes = 1
	}
	c := &Cluster{
		tb:            tb,
		bin:           binary(tb),
		dir:           tb.TempDir(),
		env:           nodeEnv(opt.Env),
		extra:         opt.ExtraArgs,
		operatorToken: randomHex(16),
		jwtSecret:     randomHex(32),
		ports:         portSet{},
	}
	pgURL, redisURL := testsvc.PostgresURL(tb), opt.RedisURL
	if redisURL == "" {
		redisURL = testsvc.RedisURL(tb)
	}
	if opt.Netns {
		c.net = newNetwork(tb, opt.Nodes)
		pgURL, redisURL = c.net.proxy(pgURL), c.net.proxy(redisURL)
	}
	c.common = []string{
		"--postgres-url", pgURL,
		"--redis-url", redisURL,
		"--cluster-key", randomHex(32),
		"--operator-token", c.operatorToken,
		"--jwt-secret", c.jwtSecret,
		"--log-format", "text",
		"--allow-unscanned-uploads", // no clamd in the cluster tests
	}
	tb.Cleanup(c.cleanup) // after the databases' and the network's cleanups were registered: runs before them
	for i := range opt.Nodes {
		n := &node{name: "n" + strconv.Itoa(i+1), ip: "127.0.0.1"}
		if c.net != nil {
			n.ip = c.net.nodeIP(i)
		}
		n.logPath = filepath.Join(c.dir, n.name+".log")
		c.nodes = append(c.nodes, n)
		c.assignPorts(n)
	}
	for i := range c.nodes {
		c.spawn(i)
	}
	for i := range c.nodes {
		c.waitReady(i, true)
	}
	return c
}

// nodeEnv is the test's environment without CHATD_* variables, plus extra.
func nodeEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// assignPorts gives node n free ports: on the loopback, ports free right now; in a
// namespace of its own every port is free, so each run gets the next three of a
// fixed range (a new run on new ports must not reuse the previous run's).
func (c *Cluster) assignPorts(n *node) {
	if c.net != nil {
		base := 20000 + 10*n.runs
		n.listen, n.gossip, n.peer = base, base+1, base+2
		return
	}
	var err [3]error
	n.listen, err[0] = c.ports.take(false)
	n.gossip, err[1] = c.ports.take(true)
	n.peer, err[2] = c.ports.take(false)
	for _, e := range err {
		if e != nil {
			c.tb.Fatalf("clustertest: %v", e)
		}
	}
}

// args is node i's command line: its own addresses, every node's gossip address as
// seeds (its own included, as in production manifests), the shared flags, then
// the test's extra ones.
func (c *Cluster) args(i int) []string {
	n := c.nodes[i]
	seeds := make([]string, len(c.nodes))
	for j, o := range c.nodes {
		seeds[j] = o.addr(o.gossip)
	}
	args := []string{
		"--name", n.name,
		"--listen", n.addr(n.listen),
		"--gossip", n.addr(n.gossip),
		"--peer", n.addr(n.peer),
		"--advertise", n.ip,
		"--data-dir", filepath.Join(c.dir, n.name+"-data"),
		"--join", strings.Join(seeds, ","),
	}
	return append(append(args, c.common...), c.extra...)
}

// addr is host:port on the node's address.
func (n *node) addr(port int) string { return net.JoinHostPort(n.ip, strconv.Itoa(port)) }

func (c *Cluster) spawn(i int) {
	n := c.nodes[i]
	n.runs++
	bin, args := c.bin, c.args(i)
	if c.net != nil {
		bin, args = c.net.command(i, bin, args)
	}
	p, err := startProcess(bin, args, c.env, n.logPath, fmt.Sprintf("%s run %d", n.name, n.runs))
	if err != nil {
		c.tb.Fatalf("clustertest: %s: %v", n.name, err)
	}
	n.proc, n.paused = p, false
}

// waitReady polls node i's /readyz until it answers 200, failing the test with the
// node's log if it exits first or takes longer than readyTimeout. With newPorts (the
// ports were just picked) a node that could not bind one of them, taken by another
// process between the pick and the bind, is started again on other ports, a few
// times: on a machine shared by many test binaries that race is real.
func (c *Cluster) waitReady(i int, newPorts bool) {
	n := c.nodes[i]
	for retries := 0; ; retries++ {
		exited, last := c.pollReady(i)
		if !exited {
			return
		}
		tail := logTail(n.logPath, tailLines)
		if newPorts && c.net == nil && retries < 3 && strings.Contains(lastRun(tail), "address already in use") {
			c.tb.Logf("clustertest: %s lost a port to another process; starting it on other ports", n.name)
			c.assignPorts(n)
			c.spawn(i)
			continue
		}
		c.tb.Fatalf("clustertest: %s exited before it was ready (%v; last answer: %s):\n%s", n.name, n.proc.err, last, tail)
	}
}

// pollReady polls node i's /readyz until it answers 200 (exited false) or the
// process exits (exited true); past readyTimeout it fails the test.
func (c *Cluster) pollReady(i int) (exited bool, last string) {
	n := c.nodes[i]
	deadline := time.Now().Add(readyTimeout)
	delay := 10 * time.Millisecond
	for {
		resp, err := httpClient.Get(c.URL(i) + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return false, ""
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if n.proc.waitExit(delay) {
			return true, last
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("clustertest: %s not ready after %v (last: %s):\n%s", n.name, readyTimeout, last, logTail(n.logPath, tailLines))
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// lastRun returns the part of a log tail written by the node's last run (after the
// last "=== " header startProcess writes).
func lastRun(tail string) string {
	if i := strings.LastIndex(tail, "\n=== "); i >= 0 {
		return tail[i:]
	}
	return tail
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// cleanup kills every node (SIGKILL works on stopped processes too) and, if the test
// failed, shows the tail of each node's log.
func (c *Cluster) cleanup() {
	for _, n := range c.nodes {
		if n.proc == nil {
			continue
		}
		if n.proc.hasExited() {
			c.tb.Logf("clustertest: %s had exited on its own: %v", n.name, n.proc.err)
			continue
		}
		_ = n.proc.signal(syscall.SIGKILL)
		n.proc.waitExit(killTimeout)
	}
	if !c.tb.Failed() {
		return
	}
	for _, n := range c.nodes {
		c.tb.Logf("clustertest: tail of %s (%s):\n%s", n.name, n.logPath, logTail(n.logPath, tailLines))
	}
}

func (c *Cluster) node(i int) *node {
	c.tb.Helper()
	if i < 0 || i >= len(c.nodes) {
		c.tb.Fatalf("clustertest: no node %d in a cluster of %d", i, len(c.nodes))
	}
	return c.nodes[i]
}

// running returns node i's process, failing the test if it is not running.
func (c *Cluster) running(i int) *process {
	c.tb.Helper()
	n := c.node(i)
	if n.proc == nil || n.proc.hasExited() {
		c.tb.Fatalf("clustertest: %s is not running", n.name)
	}
	return n.proc
}

// Len returns the number of nodes, running or not.
func (c *Cluster) Len() int { return len(c.nodes) }

// Name returns node i's name (n1 for node 0).
func (c *Cluster) Name(i int) string { return c.node(i).name }

// URL returns node i's HTTP base URL, e.g. http://127.0.0.1:41234.
func (c *Cluster) URL(i int) string { n := c.node(i); return "http://" + n.addr(n.listen) }

// GossipAddr returns node i's gossip address (host:port).
func (c *Cluster) GossipAddr(i int) string { n := c.node(i); return n.addr(n.gossip) }

// PeerAddr returns node i's peer-link address (host:port).
func (c *Cluster) PeerAddr(i int) string { n := c.node(i); return n.addr(n.peer) }

// LogPath returns the file node i's output goes to.
func (c *Cluster) LogPath(i int) string { return c.node(i).logPath }

// Running reports whether node i's process is alive (paused counts as running).
func (c *Cluster) Running(i int) bool {
	n := c.node(i)
	return n.proc != nil && !n.proc.hasExited()
}

// OperatorToken returns the --operator-token every node shares (GET /cluster).
func (c *Cluster) OperatorToken() string { return c.operatorToken }

// JWTSecret returns the --jwt-secret every node shares, to mint tokens in tests.
func (c *Cluster) JWTSecret() string { return c.jwtSecret }

// Kill sends SIGKILL to node i and waits for it to exit: a crash.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	p := c.running(i)
	if err := p.signal(syscall.SIGKILL); err != nil {
		c.tb.Fatalf("clustertest: kill %s: %v", c.nodes[i].name, err)
	}
	if !p.waitExit(killTimeout) {
		c.tb.Fatalf("clustertest: %s still running %v after SIGKILL", c.nodes[i].name, killTimeout)
	}
}

// Stop sends SIGTERM to node i (resuming it first if paused) and waits for its
// graceful exit. An exit status other than 0, or no exit within stopTimeout (the
// node is then killed), fails the test: a drain that fails is a bug.
func (c *Cluster) Stop(i int) {
	c.tb.Helper()
	n, p := c.nodes[i], c.running(i)
	err := p.signal(syscall.SIGTERM)
	if err == nil && n.paused {
		err = p.signal(syscall.SIGCONT)
		n.paused = false
	}
	if err != nil {
		c.tb.Fatalf("clustertest: stop %s: %v", n.name, err)
	}
	if !p.waitExit(stopTimeout) {
		_ = p.signal(syscall.SIGKILL)
		p.waitExit(killTimeout)
		c.tb.Fatalf("clustertest: %s did not exit within %v of SIGTERM; killed:\n%s", n.name, stopTimeout, logTail(n.logPath, tailLines))
	}
	if p.err != nil {
		c.tb.Errorf("clustertest: %s exited with %v after SIGTERM:\n%s", n.name, p.err, logTail(n.logPath, tailLines))
	}
}

// Start restarts node i, which must have exited, under the same name on the same
// ports, and waits until it is ready.
func (c *Cluster) Start(i int) {
	c.tb.Helper()
	if c.Running(i) {
		c.tb.Fatalf("clustertest: %s is already running", c.nodes[i].name)
	}
	c.spawn(i)
	c.waitReady(i, false)
}

// StartOnNewPorts restarts node i, which must have exited, under the same name on
// new ports (a node rescheduled elsewhere), and waits until it is ready. Its --join
// lists the others' current gossip addresses.
func (c *Cluster) StartOnNewPorts(i int) {
	c.tb.Helper()
	if c.Running(i) {
		c.tb.Fatalf("clustertest: %s is already running", c.nodes[i].name)
	}
	c.assignPorts(c.nodes[i])
	c.spawn(i)
	c.waitReady(i, true)
}

// Pause freezes node i with SIGSTOP: it neither gossips nor answers, as a node in a
// long GC pause or on a starved VM.
func (c *Cluster) Pause(i int) {
	c.tb.Helper()
	p := c.running(i)
	if err := p.signal(syscall.SIGSTOP); err != nil {
		c.tb.Fatalf("clustertest: pause %s: %v", c.nodes[i].name, err)
	}
	c.nodes[i].paused = true
	// The signal is delivered asynchronously: return once the kernel says stopped.
	deadline := time.Now().Add(5 * time.Second)
	for !p.stopped() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// Resume continues node i after Pause (SIGCONT).
func (c *Cluster) Resume(i int) {
	c.tb.Helper()
	if err := c.running(i).signal(syscall.SIGCONT); err != nil {
		c.tb.Fatalf("clustertest: resume %s: %v", c.nodes[i].name, err)
	}
	c.nodes[i].paused = false
}

// Add starts one more node (scale up): the next name, free ports, --join with every
// node's gossip address, and waits until it is ready. It returns the node's index.
// Loopback clusters only (a namespace per node is made at Start).
func (c *Cluster) Add() int {
	c.tb.Helper()
	if c.net != nil {
		c.tb.Fatal("clustertest: Add is not supported with Options.Netns")
	}
	n := &node{name: "n" + strconv.Itoa(len(c.nodes)+1), ip: "127.0.0.1"}
	n.logPath = filepath.Join(c.dir, n.name+".log")
	c.nodes = append(c.nodes, n)
	c.assignPorts(n)
	i := len(c.nodes) - 1
	c.spawn(i)
	c.waitReady(i, true)
	return i
}

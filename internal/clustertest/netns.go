package clustertest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A network gives each node of a cluster its own Linux network namespace, joined to
// the test's (root) namespace by a veth pair on a bridge, so that tests can cut a
// node off from the others (Partition) while the test process still reaches every
// node (HTTP, WebSocket, GET /cluster) and every node still reaches the store.
//
//	root namespace: bridge cb<id>, 10.A.B.1/24, veth cv<id><i> on it; Postgres and
//	                Redis proxies on 10.A.B.1
//	node i:         namespace chatd-<pid>-<id>-n<i>, eth0 10.A.B.(10+i)/24, lo up
//
// Names carry a random id, so parallel test binaries cannot collide, and everything
// is removed in t.Cleanup even when the test fails. A test binary that dies without
// its cleanups (killed, or a test timeout, which exits at once) leaves its network
// behind; the namespaces carry the binary's pid, so the next newNetwork removes the
// networks of binaries that are gone (sweepStale).
//
// Why neighbour entries and not a veth taken down: a node whose veth is down loses
// the store and its clients too, so it can neither write nor be fenced, which tests
// far less than a node cut off from its peers only, which keeps taking its clients'
// sends and must be fenced by the store. Partition points, in both directions,
// every neighbour entry between the node and each other node at a MAC address
// nobody has (the bridge floods the frames, every interface drops them); Heal
// deletes those entries and ARP finds the real ones again. No iptables is needed.
type network struct {
	tb      testing.TB
	id      string
	bridge  string
	prefix  string // "10.A.B."
	nsNames []string
	proxies []*tcpProxy
}

// bogusMAC is a locally administered unicast address no interface has.
const bogusMAC = "02:00:00:c4:a7:d0"

// newNetwork creates the bridge and one namespace per node. It fails the test when
// not root: under CI=1 every test must run, so there is no skip.
func newNetwork(tb testing.TB, nodes int) *network {
	tb.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			tb.Fatal("clustertest: network namespaces need root, and CI runs every test")
		}
		tb.Skip("clustertest: network namespaces need root")
	}
	sweepStale(tb)
	nw := &network{tb: tb, id: randomHex(3)}
	nw.bridge = "cb" + nw.id
	nw.prefix = nw.freePrefix()
	tb.Cleanup(nw.cleanup)
	nw.must("link", "add", nw.bridge, "type", "bridge")
	nw.must("addr", "add", nw.hostIP()+"/24", "dev", nw.bridge)
	nw.must("link", "set", nw.bridge, "up")
	for i := range nodes {
		ns := fmt.Sprintf("chatd-%d-%s-n%d", os.Getpid(), nw.id, i+1)
		veth, peer := fmt.Sprintf("cv%s%d", nw.id, i+1), fmt.Sprintf("cp%s%d", nw.id, i+1)
		nw.must("netns", "add", ns)
		nw.nsNames = append(nw.nsNames, ns)
		nw.must("-n", ns, "link", "set", "lo", "up")
		nw.must("link", "add", veth, "type", "veth", "peer", "name", peer, "netns", ns)
		nw.must("link", "set", veth, "master", nw.bridge)
		nw.must("link", "set", veth, "up")
		nw.must("-n", ns, "link", "set", peer, "name", "eth0")
		nw.must("-n", ns, "addr", "add", nw.nodeIP(i)+"/24", "dev", "eth0")
		nw.must("-n", ns, "link", "set", "eth0", "up")
	}
	return nw
}

// freePrefix picks a 10.A.B.0/24 that no interface of this machine uses.
func (nw *network) freePrefix() string {
	out, err := exec.Command("ip", "-4", "-o", "addr").Output()
	if err != nil {
		nw.tb.Fatalf("clustertest: ip addr: %v", err)
	}
	for range 100 {
		a, _ := strconv.ParseUint(randomHex(1), 16, 8) // randomHex(1) is two hex digits
		c, _ := strconv.ParseUint(randomHex(1), 16, 8)
		p := fmt.Sprintf("10.%d.%d.", 200+a%50, c)
		if !bytes.Contains(out, []byte(" "+p)) {
			return p
		}
	}
	nw.tb.Fatal("clustertest: no free 10.x.y.0/24 for the test network")
	return ""
}

func (nw *network) hostIP() string      { return nw.prefix + "1" }
func (nw *network) nodeIP(i int) string { return nw.prefix + strconv.Itoa(10+i) }

// command returns the command line that runs bin with args in node i's namespace.
func (nw *network) command(i int, bin string, args []string) (string, []string) {
	return "ip", append([]string{"netns", "exec", nw.nsNames[i], bin}, args...)
}

// must runs `ip args...`, failing the test on an error.
func (nw *network) must(args ...string) {
	nw.tb.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		nw.tb.Fatalf("clustertest: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cleanup removes the host sides of the veth pairs, the namespaces and the bridge,
// and stops the proxies. Errors are logged, not fatal: a half-built network is
// cleaned as far as it got. (Deleting a namespace does not always take its veth pair
// at once: sockets of killed processes can keep the namespace alive for a while.)
func (nw *network) cleanup() {
	for _, p := range nw.proxies {
		p.close()
	}
	for i := range nw.nsNames {
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("cv%s%d", nw.id, i+1)).Run() // may be gone already
	}
	for _, ns := range nw.nsNames {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			nw.tb.Logf("clustertest: ip netns del %s: %v %s", ns, err, out)
		}
	}
	if out, err := exec.Command("ip", "link", "del", nw.bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
		nw.tb.Logf("clustertest: ip link del %s: %v %s", nw.bridge, err, out)
	}
}

// sweepStale removes the networks of test binaries that are no longer running:
// namespaces chatd-<pid>-<id>-n<i> whose pid is gone, with their veths and bridge.
func sweepStale(tb testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		parts := strings.Split(f[0], "-") // chatd, pid, id, n<i>
		if len(parts) != 4 || parts[0] != "chatd" {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		tb.Logf("clustertest: removing %s, left by test binary %d", f[0], pid)
		_ = exec.Command("ip", "link", "del", "cv"+parts[2]+strings.TrimPrefix(parts[3], "n")).Run()
		_ = exec.Command("ip", "netns", "del", f[0]).Run()
		_ = exec.Command("ip", "link", "del", "cb"+parts[2]).Run() // gone already after the first of its namespaces: fine
	}
}

// processAlive reports whether a process with that pid exists.
func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// setNeighbour points node i's neighbour entry for node j's address at mac, or
// deletes it (mac == "") so that ARP resolves it again.
func (nw *network) setNeighbour(i, j int, mac string) {
	nw.tb.Helper()
	if mac == "" {
		// Deleting an entry that is not there is not an error worth failing for.
		_ = exec.Command("ip", "-n", nw.nsNames[i], "neigh", "del", nw.nodeIP(j), "dev", "eth0").Run()
		return
	}
	nw.must("-n", nw.nsNames[i], "neigh", "replace", nw.nodeIP(j), "lladdr", mac, "dev", "eth0", "nud", "permanent")
}

// proxy returns rawURL with its host replaced by a TCP proxy on the bridge's host
// address that forwards to the original host: the nodes' namespaces cannot reach
// the root namespace's loopback, where the test's Postgres and Redis listen.
func (nw *network) proxy(rawURL string) string {
	nw.tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		nw.tb.Fatalf("clustertest: parse %q: %v", rawURL, err)
	}
	p, err := startProxy(net.JoinHostPort(nw.hostIP(), "0"), u.Host)
	if err != nil {
		nw.tb.Fatalf("clustertest: proxy to %s: %v", u.Host, err)
	}
	nw.proxies = append(nw.proxies, p)
	u.Host = p.addr()
	return u.String()
}

// tcpProxy forwards every connection it accepts to one address.
type tcpProxy struct {
	l    net.Listener
	to   string
	mu   sync.Mutex
	conn map[net.Conn]struct{}
	wg   sync.WaitGroup
}

func startProxy(listen, to string) (*tcpProxy, error) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", listen, err)
	}
	p := &tcpProxy{l: l, to: to, conn: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve copies both ways until either side closes, then closes both.
func (p *tcpProxy) serve(c net.Conn) {
	defer p.wg.Done()
	d, err := net.Dial("tcp", p.to)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, d) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(d, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, d); done <- struct{}{} }()
	<-done
	c.Close()
	d.Close()
	<-done
	p.mu.Lock()
	delete(p.conn, c)
	delete(p.conn, d)
	p.mu.Unlock()
}

// track registers a connection pair, or closes it if the proxy is closed.
func (p *tcpProxy) track(c, d net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		c.Close()
		d.Close()
		return false
	}
	p.conn[c], p.conn[d] = struct{}{}, struct{}{}
	return true
}

// close stops accepting, closes every connection and waits for the goroutines.
func (p *tcpProxy) close() {
	p.l.Close()
	p.mu.Lock()
	for c := range p.conn {
		c.Close()
	}
	p.conn = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// Partition cuts node i off from every other node, both ways: gossip, peer links and
// everything else between them is dropped, while the test process and the store
// still reach every node (see network). The cluster must have been started with
// Options.Netns.
func (c *Cluster) Partition(i int) {
	c.tb.Helper()
	c.setPartition(i, bogusMAC)
}

// Heal undoes Partition(i): the neighbour entries are deleted and ARP finds the real
// ones again.
func (c *Cluster) Heal(i int) {
	c.tb.Helper()
	c.setPartition(i, "")
}

func (c *Cluster) setPartition(i int, mac string) {
	c.tb.Helper()
	c.node(i)
	if c.net == nil {
		c.tb.Fatal("clustertest: Partition needs a cluster started with Options.Netns")
	}
	for j := range c.nodes {
		if j != i {
			c.net.setNeighbour(i, j, mac)
			c.net.setNeighbour(j, i, mac)
		}
	}
}

package node

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
)

// Member states as Members reports them (and GET /cluster shows them).
const (
	MemberAlive   = "alive"
	MemberSuspect = "suspect" // reserved: memberlist v0.7.0 reports no event on suspicion, see Members
	MemberDead    = "dead"
	MemberLeft    = "left"
)

// Gossip defaults.
const (
	// DefaultGossipBind is where gossip listens (UDP and TCP) when MembershipConfig.Bind is empty.
	DefaultGossipBind = ":7946"
	// DefaultRejoinInterval is how often the seeds are checked: a node cut off for
	// longer than memberlist's GossipToTheDeadTime is forgotten by the others and
	// never found again by gossip alone, so this bounds how long a healed partition
	// stays split (plus one join round trip).
	DefaultRejoinInterval = 5 * time.Second
	// DefaultLeaveTimeout bounds Leave when it is given no timeout.
	DefaultLeaveTimeout = 5 * time.Second
)

// forgetAfter is how long a dead or left member stays in Members: long enough for an
// operator looking at GET /cluster after an incident to see who went, short enough
// that a cluster whose node names churn (new names per pod) keeps a bounded table.
const forgetAfter = 15 * time.Minute

// MembershipConfig configures StartMembership.
type MembershipConfig struct {
	// Name is this node's name, unique in the cluster: the ring places rooms by it.
	// Required.
	Name string
	// Bind is the gossip address, host:port, for both UDP and TCP. The host must be an
	// IP or empty (all interfaces); port 0 picks a free port (tests).
	// Default DefaultGossipBind.
	Bind string
	// Advertise is the host (IP or DNS name, no port) the other nodes reach this node
	// at, on Bind's port. Empty: Bind's IP, or, when Bind is on all IPv4 interfaces,
	// the machine's first private IP (memberlist's rule).
	Advertise string
	// Join lists seed gossip addresses, host:port. It may include this node's own
	// address. Seeds that do not answer are retried every RejoinInterval, never fatal.
	Join []string
	// Key is the cluster key: 16, 24 or 32 bytes. It is memberlist's SecretKey (AES-GCM
	// encryption and authentication of every packet and stream) and, through a
	// derived label, makes a node with another key drop our traffic before even trying
	// to decrypt it, so a stranger can neither join nor be joined. Empty: no
	// encryption, acceptable for a single node or development only (a warning is
	// logged when joining others without a key).
	Key []byte
	// Meta is carried to the other members in memberlist's node metadata. An address
	// whose host is empty or unspecified (":7947") is completed with this node's
	// advertise IP, so peers can dial it.
	Meta NodeMeta
	// RejoinInterval is how often the seeds are checked and the missing ones re-joined.
	// Default DefaultRejoinInterval.
	RejoinInterval time.Duration
	// Registerer receives chatd_gossip_members (alive members as this node sees them,
	// itself included); nil leaves it unregistered.
	Registerer prometheus.Registerer
	// Log receives membership changes at info and memberlist's own lines at debug.
	// Default slog.Default().
	Log *slog.Logger
}

// NodeMeta is what a member tells the others about itself.
type NodeMeta struct {
	PeerAddr string // host:port of its peer links
	HTTPAddr string // host:port of its HTTP and WebSocket listener
}

// MemberInfo is one member as this node knows it.
type MemberInfo struct {
	Name       string
	State      string // MemberAlive, MemberDead or MemberLeft (MemberSuspect is never reported, see Members)
	GossipAddr string // ip:port
	Meta       NodeMeta
}

// wireMeta is NodeMeta as gossiped: JSON with one-letter keys, so it stays far below
// memberlist's 512-byte limit and new fields can be added without breaking old nodes.
// Leaving is set by Leave just before the leave broadcast, so that the others can tell
// a graceful leave from a death: memberlist v0.7.0 does not say which in NotifyLeave.
type wireMeta struct {
	PeerAddr string `json:"p,omitempty"`
	HTTPAddr string `json:"h,omitempty"`
	Leaving  bool   `json:"l,omitempty"`
}

type memberState struct {
	MemberInfo
	since time.Time // of the last state change
}

// Membership is this node's view of the cluster, kept by gossip (hashicorp/memberlist).
//
// # Concurrency
//
// Every method is safe for concurrent use. memberlist calls the event callbacks one
// at a time while holding its own node lock, so they only update the member table
// under Membership.mu and never call back into memberlist; conversely no memberlist
// method is called with Membership.mu held. Lock order: memberlist's node lock ->
// Membership.mu. Membership.life serialises Leave and Shutdown (memberlist panics on
// a Leave after its Shutdown) and is never taken inside a callback. Two goroutines,
// the rejoin loop and the confirm loop (membership_confirm.go), run in the
// background; Shutdown waits for them.
type Membership struct {
	cfg     MembershipConfig
	log     *slog.Logger
	ml      *memberlist.Memberlist
	meta    atomic.Pointer[[]byte] // encoded wireMeta, read by memberlist at any time
	changes chan struct{}
	self    selfAddrs
	gauge   prometheus.Collector

	mu      sync.Mutex
	members map[string]*memberState
	confirm confirmState

	confirmedCh chan struct{} // see membership_confirm.go

	life     sync.Mutex
	closed   bool
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	// Only the rejoin loop (or StartMembership before starting it) touches these.
	lastAloneWarn time.Time
	joinFailures  atomic.Int64 // seed join attempts that failed, for tests
}

// StartMembership starts gossip on cfg.Bind, tries every seed once (in parallel,
// each bounded by the gossip TCP timeout), and keeps re-joining missing seeds in the
// background. Failing to reach seeds is never an error; a bad configuration or a
// port in use is.
func StartMembership(cfg MembershipConfig) (*Membership, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	mlc, err := memberlistConfig(cfg)
	if err != nil {
		return nil, err
	}
	m := &Membership{
		cfg:     cfg,
		log:     cfg.Log.With("component", "gossip"),
		changes: make(chan struct{}, 1),
		members: make(map[string]*memberState),
		confirm: confirmState{started: time.Now()},

		confirmedCh: make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}
	if err := m.setMeta(cfg.Meta, false); err != nil {
		return nil, err
	}
	mlc.Delegate = mlDelegate{m}
	mlc.Events = mlEvents{m}
	mlc.Conflict = mlConflict{m}
	mlc.Logger = log.New(mlLogWriter{log: m.log, lastRefuse: new(atomic.Int64)}, "", 0)
	if m.ml, err = memberlist.Create(mlc); err != nil {
		return nil, fmt.Errorf("node: start gossip on %s: %w", cfg.Bind, err)
	}
	if err := m.afterCreate(); err != nil {
		_ = m.ml.Shutdown()
		return nil, err
	}
	m.log.Info("gossip started", "name", cfg.Name, "addr", m.self.addr, "seeds", cfg.Join, "encrypted", len(cfg.Key) > 0)
	if len(cfg.Key) == 0 && m.hasOtherSeeds() {
		m.log.Warn("gossip without a cluster key: anyone who reaches the gossip port can join and read it; use --cluster-key beyond a single node or development")
	}
	m.rejoin()
	// The seeds answered the join with their view from before they merged ours: one
	// more sync usually confirms a node they accept at once (a new name, or an
	// unchanged address), so that it starts ready; if a seed answered before it had
	// merged the first sync, the confirm loop finishes within a second.
	m.confirmRound()
	m.confirmRound()
	m.wg.Add(2)
	go m.rejoinLoop()
	go m.confirmLoop()
	return m, nil
}

func (c *MembershipConfig) fill() error {
	if c.Name == "" {
		return errors.New("node: gossip: a node name is required")
	}
	if c.Bind == "" {
		c.Bind = DefaultGossipBind
	}
	if c.RejoinInterval <= 0 {
		c.RejoinInterval = DefaultRejoinInterval
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	switch len(c.Key) {
	case 0, 16, 24, 32:
	default:
		return fmt.Errorf("node: gossip: the cluster key must be 16, 24 or 32 bytes, not %d", len(c.Key))
	}
	for _, s := range c.Join {
		if _, _, err := splitAddr(s); err != nil {
			return fmt.Errorf("node: gossip: seed %q: %w", s, err)
		}
	}
	return nil
}

// memberlistConfig is DefaultLANConfig tuned so that a dead member is declared within
// about three seconds on loopback or a LAN of up to ten nodes:
//
//	first probe of the dead node  <= ~1 s  (each peer probes one member per ProbeInterval)
//	failed probe                     0.5 s (ProbeTimeout, then indirect and TCP probes
//	                                        until the ProbeInterval ends)
//	suspicion                        1.5 s (SuspicionMult x ProbeInterval x max(1, log10 N),
//	                                        once one other member confirms)
//
// so 2-3 s in a three-node cluster (measured in membership_test.go). A graceful leave
// is seen at once, within a gossip round or two.
func memberlistConfig(cfg MembershipConfig) (*memberlist.Config, error) {
	host, port, err := net.SplitHostPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("node: gossip bind %q: %w", cfg.Bind, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("node: gossip bind %q: bad port: %w", cfg.Bind, err)
	}
	if host == "" {
		host = "0.0.0.0" // memberlist's spelling of "all interfaces", for which it picks a private IP to advertise
	} else if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("node: gossip bind %q: the host must be an IP address", cfg.Bind)
	}
	adv, err := resolveAdvertise(cfg.Advertise)
	if err != nil {
		return nil, err
	}
	if adv == "" && net.ParseIP(host).IsUnspecified() && host != "0.0.0.0" {
		return nil, fmt.Errorf("node: gossip bind %q: set an advertise address when binding all IPv6 interfaces", cfg.Bind)
	}

	c := memberlist.DefaultLANConfig()
	c.Name = cfg.Name
	c.BindAddr, c.BindPort = host, int(p)
	c.AdvertiseAddr, c.AdvertisePort = adv, int(p)
	// Probe one member every 500 ms (default 1 s): halves the time to the first
	// failed probe. Cheap: one small UDP packet per member per interval.
	c.ProbeInterval = 500 * time.Millisecond
	// Wait 250 ms (default 500 ms) for a direct ack: LAN round trips are well under a
	// millisecond, so this still leaves room for a GC pause or a busy CPU before the
	// indirect probes (through IndirectChecks other members) are tried.
	c.ProbeTimeout = 250 * time.Millisecond
	// Suspect for 3 probe intervals, 1.5 s (default 4 x 1 s), before declaring death.
	// 3 keeps Lifeguard's confirmations (k = SuspicionMult-2 = 1 other member must
	// agree to reach the minimum) and gives a paused or briefly overloaded node time to
	// refute.
	c.SuspicionMult = 3
	// Without that confirmation the suspicion lasts up to 4 x 1.5 = 6 s (default 6x):
	// an isolated observer still declares deaths within seconds.
	c.SuspicionMaxTimeoutMult = 4
	// Gossip every 100 ms (default 200 ms): suspicion, death and leave messages reach
	// the others in a round or two; a few packets per second per node.
	c.GossipInterval = 100 * time.Millisecond
	// Full state sync every 5 s (default 30 s): repairs any lost gossip. (A node
	// restarted on a new address syncs every second until the others accept it:
	// membership_confirm.go.) memberlist stretches it by itself beyond 32 nodes.
	c.PushPullInterval = 5 * time.Second
	// Dial, read and write timeout of joins and syncs, 3 s (default 10 s): plenty for a
	// LAN, and it bounds how long Shutdown waits for an in-flight seed join.
	c.TCPTimeout = 3 * time.Second
	// Accept a dead member's name from a new address 5 s after its death (default:
	// never): a node rescheduled on another address (a restarted pod) gets back in.
	// Names are unique by configuration and the key keeps strangers out, so the only
	// risk is two misconfigured nodes sharing a name; 5 s still lets a falsely
	// suspected node refute from its old address before it could be displaced.
	c.DeadNodeReclaimTime = 5 * time.Second
	c.Label = gossipLabel(cfg.Key)
	if len(cfg.Key) > 0 {
		c.SecretKey = slices.Clone(cfg.Key)
		c.GossipVerifyIncoming, c.GossipVerifyOutgoing = true, true
	}
	return c, nil
}

// gossipLabel derives memberlist's Label from the key. The label prefixes every
// packet and stream in clear (and is authenticated data under encryption), so nodes
// with different keys reject each other's traffic up front with a clear "label
// mismatch", and a keyless chatd never mixes with a keyed one or with another
// memberlist application. An HMAC reveals nothing about the key.
func gossipLabel(key []byte) string {
	if len(key) == 0 {
		return "chatd"
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("chatd gossip label v1"))
	return "chatd-" + hex.EncodeToString(mac.Sum(nil)[:8])
}

// resolveAdvertise turns the advertise host into the IP memberlist needs, preferring
// IPv4 when a name has both.
func resolveAdvertise(host string) (string, error) {
	if host == "" || net.ParseIP(host) != nil {
		return host, nil
	}
	if strings.Contains(host, ":") {
		return "", fmt.Errorf("node: gossip advertise %q: a host (IP or name) without port", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("node: gossip advertise %q: %w", host, err)
	}
	if i := slices.IndexFunc(ips, func(a net.IPAddr) bool { return a.IP.To4() != nil }); i > 0 {
		ips[0] = ips[i]
	}
	return ips[0].IP.String(), nil // LookupIPAddr returns an address or an error
}

// afterCreate completes the metadata's hosts with the advertise IP now that memberlist
// chose it, and registers the metrics. Nobody else has seen this node yet, so the
// update stays local.
func (m *Membership) afterCreate() error {
	local := m.ml.LocalNode()
	m.self = newSelfAddrs(local.Addr, local.Port)
	ip := local.Addr.String()
	meta := NodeMeta{PeerAddr: completeHost(m.cfg.Meta.PeerAddr, ip), HTTPAddr: completeHost(m.cfg.Meta.HTTPAddr, ip)}
	if meta != m.cfg.Meta {
		m.cfg.Meta = meta
		if err := m.setMeta(meta, false); err != nil {
			return err
		}
		if err := m.ml.UpdateNode(time.Second); err != nil {
			return fmt.Errorf("node: gossip: publish metadata: %w", err)
		}
	}
	if m.cfg.Registerer == nil {
		return nil
	}
	m.gauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chatd_gossip_members",
		Help: "Members this node's gossip sees alive, itself included.",
	}, func() float64 { return float64(len(m.Alive())) })
	if err := m.cfg.Registerer.Register(m.gauge); err != nil {
		return fmt.Errorf("node: gossip: register metrics: %w", err)
	}
	return nil
}

// completeHost gives an address without a usable host ("", 0.0.0.0, ::) the IP.
func completeHost(addr, ip string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "" && !net.ParseIP(host).IsUnspecified()) {
		return addr
	}
	return net.JoinHostPort(ip, port)
}

func (m *Membership) setMeta(meta NodeMeta, leaving bool) error {
	b, err := json.Marshal(wireMeta{PeerAddr: meta.PeerAddr, HTTPAddr: meta.HTTPAddr, Leaving: leaving})
	if err != nil {
		return fmt.Errorf("node: gossip: encode metadata: %w", err)
	}
	size := len(b)
	if !leaving { // check the form Leave will send, so that Leave cannot fail on it
		size += len(`,"l":true`)
	}
	if size > memberlist.MetaMaxSize {
		return fmt.Errorf("node: gossip: metadata is %d bytes, over memberlist's %d", len(b), memberlist.MetaMaxSize)
	}
	m.meta.Store(&b)
	return nil
}

func decodeMeta(b []byte) (wireMeta, error) {
	var w wireMeta
	if len(b) == 0 {
		return w, nil
	}
	err := json.Unmarshal(b, &w)
	return w, err
}

// Members returns every member this node knows, sorted by name: alive ones, and dead
// or left ones for a while (forgetAfter) after they went. memberlist v0.7.0 raises no
// event when it starts suspecting a member, and offers no race-free way to read that
// state, so a suspect member is reported alive until it is declared dead (1.5 s later
// with this tuning, see memberlistConfig) or refutes.
func (m *Membership) Members() []MemberInfo {
	m.mu.Lock()
	out := make([]MemberInfo, 0, len(m.members))
	for _, s := range m.members {
		out = append(out, s.MemberInfo)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b MemberInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Alive returns the names of the alive members, this node included, sorted: the
// input of the ring.
func (m *Membership) Alive() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.members))
	for name, s := range m.members {
		if s.State == MemberAlive {
			out = append(out, name)
		}
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// Changes is signalled whenever the alive set or a member's metadata may have changed.
// Signals coalesce (capacity 1): on each, read Alive and Meta afresh. The channel is
// shared, so it suits one consumer (the node's ring updater); it is never closed.
func (m *Membership) Changes() <-chan struct{} { return m.changes }

// Meta returns the last metadata of a known member, whatever its state.
func (m *Membership) Meta(name string) (NodeMeta, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.members[name]; ok {
		return s.Meta, true
	}
	return NodeMeta{}, false
}

// LocalAddr returns the gossip address this node advertises (ip:port).
func (m *Membership) LocalAddr() string { return m.self.addr }

// Leave tells the cluster this node is going, so that the others see it "left" at
// once rather than "dead" after the failure detector's seconds, then shuts down.
// timeout bounds the two broadcasts (metadata marked leaving, then memberlist's leave);
// zero means DefaultLeaveTimeout. After Shutdown, Leave does nothing.
func (m *Membership) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultLeaveTimeout
	}
	m.life.Lock()
	defer m.life.Unlock()
	if m.closed {
		return nil
	}
	m.stopRejoin() // a re-join now would announce us again
	var errs []error
	if err := m.setMeta(m.cfg.Meta, true); err != nil { // cannot fail: checked at start
		errs = append(errs, err)
	} else if err := m.ml.UpdateNode(timeout / 2); err != nil {
		errs = append(errs, fmt.Errorf("node: gossip: announce leaving: %w", err))
	}
	if err := m.ml.Leave(timeout / 2); err != nil {
		errs = append(errs, fmt.Errorf("node: gossip: leave: %w", err))
	}
	errs = append(errs, m.shutdownLocked())
	return errors.Join(errs...)
}

// Shutdown stops gossip without telling anyone: the others declare this node dead
// within seconds. It waits for the rejoin loop (at most one gossip TCP timeout, when
// a join is in flight). Safe to call twice.
func (m *Membership) Shutdown() error {
	m.life.Lock()
	defer m.life.Unlock()
	return m.shutdownLocked()
}

func (m *Membership) shutdownLocked() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.stopRejoin()
	if m.gauge != nil {
		m.cfg.Registerer.Unregister(m.gauge)
	}
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("node: gossip: shutdown: %w", err)
	}
	return nil
}

func (m *Membership) stopRejoin() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
}

func (m *Membership) signal() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
}

// observe records a memberlist event. It runs inside memberlist's callbacks (see
// the concurrency notes on Membership): no memberlist calls here.
func (m *Membership) observe(n *memberlist.Node, state string) {
	w, err := decodeMeta(n.Meta)
	if err != nil {
		m.log.Warn("undecodable member metadata", "member", n.Name, "err", err)
	}
	if state == MemberDead && w.Leaving {
		state = MemberLeft
	}
	info := MemberInfo{Name: n.Name, State: state, GossipAddr: n.Address(),
		Meta: NodeMeta{PeerAddr: w.PeerAddr, HTTPAddr: w.HTTPAddr}}
	now := time.Now()
	m.mu.Lock()
	prev, known := m.members[n.Name]
	s := &memberState{MemberInfo: info, since: now}
	if known && prev.State == state {
		s.since = prev.since
	}
	m.members[n.Name] = s
	m.mu.Unlock()
	m.signal()
	if n.Name == m.cfg.Name || (known && prev.State == state) {
		m.log.Debug("member updated", "member", n.Name, "state", state, "addr", info.GossipAddr)
		return
	}
	m.log.Info("member "+state, "member", n.Name, "addr", info.GossipAddr)
}

// forgetOld drops dead and left members that went more than forgetAfter ago.
func (m *Membership) forgetOld(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, s := range m.members {
		if s.State != MemberAlive && now.Sub(s.since) > forgetAfter {
			delete(m.members, name)
		}
	}
}

func (m *Membership) rejoinLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.forgetOld(time.Now())
		m.rejoin()
	}
}

// rejoin joins every seed address that is not an alive member. After a partition
// longer than GossipToTheDeadTime the two sides have forgotten each other and only
// this brings them back; at start it is the initial join.
func (m *Membership) rejoin() {
	missing := m.missingSeeds()
	if len(missing) == 0 {
		return
	}
	before := len(m.Alive())
	joined, lastErr := m.join(missing)
	switch alive := len(m.Alive()); {
	case alive > before:
		m.log.Info("joined seeds", "seeds", missing, "answered", joined, "alive", alive)
	case joined == 0 && alive <= 1 && time.Since(m.lastAloneWarn) > time.Minute:
		m.lastAloneWarn = time.Now()
		m.log.Warn("no seed answered; still alone, retrying", "seeds", missing, "every", m.cfg.RejoinInterval, "err", lastErr,
			"hint", "a seed with another --cluster-key closes the connection at once (EOF)")
	}
}

// missingSeeds resolves the seeds and returns the addresses that are neither this
// node nor an alive member. A seed that does not resolve is returned as given (the
// join then fails and is retried).
func (m *Membership) missingSeeds() []string {
	alive := map[string]bool{}
	for _, mi := range m.Members() {
		if mi.State == MemberAlive {
			alive[mi.GossipAddr] = true
		}
	}
	var missing []string
	for _, seed := range m.cfg.Join {
		addrs, err := m.resolveSeed(seed)
		if err != nil {
			m.log.Debug("seed does not resolve", "seed", seed, "err", err)
			missing = append(missing, seed)
			continue
		}
		for _, a := range addrs {
			if !alive[a] && !m.self.is(a) && !slices.Contains(missing, a) {
				missing = append(missing, a)
			}
		}
	}
	return missing
}

func (m *Membership) resolveSeed(seed string) ([]string, error) {
	host, port, _ := splitAddr(seed) // validated by fill
	if ip := net.ParseIP(host); ip != nil {
		return []string{net.JoinHostPort(ip.String(), port)}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip.IP.String(), port))
	}
	return out, nil
}

// join contacts each address in parallel (one push/pull each, bounded by the gossip
// TCP timeout) and returns how many answered.
func (m *Membership) join(addrs []string) (answered int, lastErr error) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.ml.Join([]string{a})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				m.joinFailures.Add(1)
				lastErr = firstError(err)
				m.log.Debug("seed did not answer", "seed", a, "err", lastErr)
				return
			}
			answered++
		}()
	}
	wg.Wait()
	return answered, lastErr
}

// firstError unwraps the multierror memberlist's Join returns for a single seed, whose
// text spans lines.
func firstError(err error) error {
	var multi interface{ WrappedErrors() []error }
	if errors.As(err, &multi) && len(multi.WrappedErrors()) > 0 {
		return multi.WrappedErrors()[0]
	}
	return err
}

func (m *Membership) hasOtherSeeds() bool {
	for _, s := range m.cfg.Join {
		if addrs, err := m.resolveSeed(s); err != nil || !slices.ContainsFunc(addrs, m.self.is) {
			return true
		}
	}
	return false
}

// splitAddr checks a seed address: host:port with a non-empty host and a port in 1-65535.
func splitAddr(s string) (host, port string, err error) {
	if host, port, err = net.SplitHostPort(s); err != nil {
		return "", "", fmt.Errorf("want host:port: %w", err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); host == "" || err != nil || p == 0 {
		return "", "", fmt.Errorf("want host:port with a host and a port, not %q", s)
	}
	return host, port, nil
}

// selfAddrs recognises this node's own gossip address among the seeds (a node may
// find itself in --join), so that it does not join itself every RejoinInterval.
type selfAddrs struct {
	addr  string // the advertised ip:port
	port  string
	local []net.IP // this machine's interface addresses
}

func newSelfAddrs(ip net.IP, port uint16) selfAddrs {
	s := selfAddrs{addr: net.JoinHostPort(ip.String(), strconv.Itoa(int(port))), port: strconv.Itoa(int(port))}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				s.local = append(s.local, n.IP)
			}
		}
	}
	return s
}

// is reports whether addr (ip:port) reaches this node: its advertised address, or
// its port on a loopback, unspecified or local interface address.
func (s selfAddrs) is(addr string) bool {
	if addr == s.addr {
		return true
	}
	host, port, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if err != nil || port != s.port || ip == nil {
		return false
	}
	return ip.IsLoopback() || ip.IsUnspecified() || slices.ContainsFunc(s.local, ip.Equal)
}

package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the peer links, each with its reason.
const (
	// DefaultPeerBind is the peer-link port of DESIGN.md (--peer).
	DefaultPeerBind = ":7947"
	// DefaultPeerQueueBytes bounds what one link holds for a peer that does not read:
	// several seconds of a busy owner's fan-out to one node, yet small enough that a
	// stalled peer is cut off (and repaired by seq) rather than let grow without end.
	DefaultPeerQueueBytes = 8 << 20
	// peerHeartbeat is how long a link may stay silent before it sends a heartbeat.
	peerHeartbeat = 2 * time.Second
	// peerReadTimeout is how long a link waits for any byte before declaring the
	// peer half-dead: four missed heartbeats, so a half-dead peer is detected
	// within 8 s while a busy peer's scheduling hiccups never trip it.
	peerReadTimeout = 8 * time.Second
	// peerWriteTimeout bounds one write: a peer whose kernel buffers stay full that
	// long is stalled (its handler blocks), and the link is reset.
	peerWriteTimeout = 10 * time.Second
	// peerHandshakeTimeout bounds the whole handshake, so a connection that says
	// nothing (a port scanner, a slowloris) holds a slot for at most this long.
	peerHandshakeTimeout = 5 * time.Second
	// peerBackoffMin and peerBackoffMax bound the reconnect delay: quick enough to
	// repair a blip, slow enough not to hammer a node that is down.
	peerBackoffMin = 50 * time.Millisecond
	peerBackoffMax = 5 * time.Second
	// peerMaxHandshakes caps connections in handshake at once: strangers cannot make
	// the node hold more than this many goroutines and sockets.
	peerMaxHandshakes = 128
	// peerReadBuf is each connection's read buffer; payloads that fit are handed to
	// the handler without a copy.
	peerReadBuf = 64 << 10
)

var (
	// ErrPeersClosed is returned by Send after Close.
	ErrPeersClosed = errors.New("node: peer links closed")
	// ErrPeerQueueFull is returned by Send when the link's outbound queue would exceed
	// PeerConfig.QueueBytes: the link was reset, its queued frames are lost and
	// PeerHandler.PeerDown follows.
	ErrPeerQueueFull = errors.New("node: peer link queue full, link reset")
	// ErrPeerInvalid is returned by Send for a call that is a bug in the caller: the
	// reserved kind 0, a payload over PeerMaxPayload (or over QueueBytes, which it
	// could never fit), this node's own name, no address.
	ErrPeerInvalid = errors.New("node: invalid peer send")
)

// PeerConfig configures the peer links of one node.
type PeerConfig struct {
	// Name is this node's name, as the other nodes know it (1 to 255 bytes). Required.
	Name string
	// Bind is the listen address. Default DefaultPeerBind; "127.0.0.1:0" in tests.
	Bind string
	// Key is the cluster key (16, 24 or 32 bytes), the same as gossip's. Required.
	Key []byte
	// Handler receives frames and link events. Required.
	Handler PeerHandler
	// QueueBytes bounds, per link, the bytes queued and not yet handed to the socket.
	// A Send that would exceed it resets the link (see ErrPeerQueueFull): it never
	// blocks the caller and never drops a frame silently. Default DefaultPeerQueueBytes.
	QueueBytes int
	// Log receives the links' events. Default slog.Default().
	Log *slog.Logger

	// Timings; zero takes the constants above. Unexported: only tests shorten them.
	heartbeat, readTimeout, writeTimeout, handshakeTimeout time.Duration
	backoffMin, backoffMax                                 time.Duration
}

func (c *PeerConfig) fill() error {
	if c.Name == "" || len(c.Name) > peerMaxNameLen {
		return fmt.Errorf("node: peer links: name must have 1 to %d bytes, got %d", peerMaxNameLen, len(c.Name))
	}
	switch len(c.Key) {
	case 16, 24, 32:
	default:
		return fmt.Errorf("node: peer links: cluster key must be 16, 24 or 32 bytes, got %d", len(c.Key))
	}
	if c.Handler == nil {
		return errors.New("node: peer links: nil handler")
	}
	setPeerDefault(&c.Bind, DefaultPeerBind)
	setPeerDefault(&c.QueueBytes, DefaultPeerQueueBytes)
	setPeerDefault(&c.heartbeat, peerHeartbeat)
	setPeerDefault(&c.readTimeout, peerReadTimeout)
	setPeerDefault(&c.writeTimeout, peerWriteTimeout)
	setPeerDefault(&c.handshakeTimeout, peerHandshakeTimeout)
	setPeerDefault(&c.backoffMin, peerBackoffMin)
	setPeerDefault(&c.backoffMax, peerBackoffMax)
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

func setPeerDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// PeerHandler receives what the peer links deliver. Its methods must not block for
// long: a slow HandlePeerFrame holds up every later frame from that peer (and, once
// the socket buffers fill, resets the peer's link); hand work off to a queue.
type PeerHandler interface {
	// HandlePeerFrame is called for each frame from peer `from`, on that peer's
	// inbound reader goroutine: in the order the peer sent them, never concurrently
	// for one peer, concurrently for different peers. payload is only valid during
	// the call (it points into the read buffer): copy what is kept. Heartbeats
	// (kind 0) are never delivered.
	HandlePeerFrame(from string, kind uint8, payload []byte)
	// PeerUp is called when the link this node sends through to name is established
	// and authenticated (again). Frames sent from now on are delivered in order.
	PeerUp(name string)
	// PeerDown is called when frames sent to name may have been lost: the link
	// closed (a reconnect begins at once, with backoff) or its queue overflowed. Every
	// frame Send accepted for name before PeerDown and not delivered is lost, never
	// delivered later; frames sent after PeerDown go on the next link. This is the
	// moment to re-register subscriptions and resend commands awaiting an answer.
	// PeerDown may come without a PeerUp before it (a queue overflow while dialing).
	//
	// PeerUp and PeerDown are called on the link's writer goroutine, never
	// concurrently for one peer; they may call Send and Drop, not Close. After Close
	// returns neither is called again; after Drop(name), only a call already under
	// way may still complete.
	PeerDown(name string)
}

// PeerStats are the links' counters since ListenPeers.
type PeerStats struct {
	FramesOut, BytesOut uint64 // data frames (headers included) written to sockets
	FramesIn, BytesIn   uint64 // data frames (headers included) handed to the handler
	LinksUp             uint64 // outbound links established (PeerUp)
	Reconnects          uint64 // of LinksUp, those to a peer that had a link before
	LinkDrops           uint64 // outbound links lost after being up
	DialFailures        uint64 // outbound connections that could not be opened
	HandshakeFailures   uint64 // handshakes failed or refused, in both directions
	QueueResets         uint64 // links reset because their queue overflowed
	OutLinks, InLinks   int64  // links up now, each direction
}

type peerCounters struct {
	framesOut, bytesOut, framesIn, bytesIn atomic.Uint64
	linksUp, reconnects, linkDrops         atomic.Uint64
	dialFailures, handshakeFailures        atomic.Uint64
	queueResets                            atomic.Uint64
	outLinks, inLinks                      atomic.Int64
}

// Peers is this node's end of the peer links: one listener, an outbound link per
// peer it sends to, an inbound connection per peer that sends to it.
//
// # Topology: two connections per pair, one per direction
//
// Each node sends through the connection it dialed and receives on the connections
// the others dialed; a pair of nodes that both send therefore holds two TCP
// connections. This is chosen over one shared connection because it needs no
// tie-break when two nodes dial each other at once or when one restarts before the
// other notices, and because order then follows from TCP: frames from A to B travel
// on one connection at a time, A's writer goroutine dials the next one only after
// the previous one is torn down, and B's reader for a new connection from A starts
// delivering only after the reader of the connection it replaces has returned.
// The acceptor writes nothing on an inbound connection but heartbeats, so that the
// dialer too detects a half-dead peer. Send never waits for the network: it
// appends the frame to the link's queue. PeerUp and PeerDown follow the outbound
// link only: the node that may have lost frames is the one that sent them, and it
// is the one told (the peer's own writer notices the same dead connection).
//
// # Goroutines
//
//   - the accept loop: one, for the listener;
//   - per outbound link: a writer goroutine for the link's whole life, which dials
//     (with backoff), handshakes, calls PeerUp and PeerDown, and drains the queue
//     with one writev per burst, sending a heartbeat when idle; and a reader
//     goroutine per connection, which only reads heartbeats (so a dead peer is
//     noticed even when nothing is sent);
//   - per inbound connection: a reader goroutine, which does the acceptor's
//     handshake and then calls HandlePeerFrame; and a heartbeat goroutine.
//
// All are started through Peers.start and Close waits for them.
//
// # Locks
//
// Peers.mu guards the link table (published for Send through an atomic copy on
// write), the inbound connections and closed. peerLink.mu guards a link's queue,
// address and current connection. The two are never held together. No lock is held
// while calling the handler, dialing or writing; a connection is closed under them
// (a quick syscall) to unblock its goroutines.
type Peers struct {
	cfg    PeerConfig
	key    []byte
	ln     net.Listener
	addr   string // ln's address, formatted once
	log    *slog.Logger
	dialer net.Dialer

	// links is the outbound link table, replaced (never modified) under mu, so that
	// Send looks its link up without a lock.
	links atomic.Pointer[map[string]*peerLink]

	mu       sync.Mutex
	closed   bool
	inbound  map[*peerInConn]struct{} // accepted connections, in handshake or up
	inByName map[string]*peerInConn   // the live inbound connection of each peer

	closing   atomic.Bool
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup
	slots     chan struct{} // handshakes in progress on inbound connections

	stats   peerCounters
	inWarns peerLogLimit // handshake failures of inbound connections
}

// ListenPeers starts listening for peer links and returns at once; links to peers
// are dialed on their first Send.
func ListenPeers(cfg PeerConfig) (*Peers, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	keepAlive := net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 3}
	lc := net.ListenConfig{KeepAliveConfig: keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("node: peer links: listen on %s: %w", cfg.Bind, err)
	}
	p := &Peers{
		cfg:      cfg,
		key:      derivePeerKey(cfg.Key),
		ln:       ln,
		addr:     ln.Addr().String(),
		log:      cfg.Log.With("component", "peerlink", "node", cfg.Name),
		dialer:   net.Dialer{Timeout: cfg.handshakeTimeout, KeepAliveConfig: keepAlive},
		inbound:  make(map[*peerInConn]struct{}),
		inByName: make(map[string]*peerInConn),
		done:     make(chan struct{}),
		slots:    make(chan struct{}, peerMaxHandshakes),
	}
	p.links.Store(&map[string]*peerLink{})
	p.start(p.acceptLoop)
	p.log.Info("peer links listening", "addr", p.Addr())
	return p, nil
}

// Addr returns the listener's address (with the actual port when Bind asked for 0).
// Advertise the port with this node's reachable host, not a wildcard address.
func (p *Peers) Addr() string { return p.addr }

// Send queues a frame for peer `to`, dialing addr (the peer's link address from
// membership) if there is no link yet. It copies payload and never blocks on the
// network. A nil error means the frame is either delivered, in order after every
// frame Send accepted before it for that peer, or followed by PeerDown(to).
//
// When addr differs from the link's address the new one is used for the next dial
// (a restarted peer), and a reconnect waiting for its backoff dials at once; a live
// connection is kept until it fails. Send returns an error wrapping ErrPeersClosed
// after Close, ErrPeerQueueFull when the queue overflowed (the link was reset), and
// ErrPeerInvalid for calls that can never succeed.
func (p *Peers) Send(to, addr string, kind uint8, payload []byte) error {
	if p.closing.Load() {
		return ErrPeersClosed
	}
	if kind == PeerKindHeartbeat || len(payload) > PeerMaxPayload || peerFrameHeader+len(payload) > p.cfg.QueueBytes ||
		to == p.cfg.Name || to == "" {
		return fmt.Errorf("%w: to %q, kind %d, %d bytes", ErrPeerInvalid, to, kind, len(payload))
	}
	for {
		l := (*p.links.Load())[to]
		if l == nil {
			var err error
			if l, err = p.addLink(to, addr); err != nil {
				return err
			}
		}
		err := l.enqueue(addr, kind, payload)
		if err != errPeerLinkStopped {
			return err
		}
		// Dropped since the lookup: the next round finds no link and dials anew, as
		// a Send after Drop does.
	}
}

// addLink creates the link to name and starts its writer goroutine.
func (p *Peers) addLink(name, addr string) (*peerLink, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPeersClosed
	}
	old := *p.links.Load()
	if l := old[name]; l != nil {
		return l, nil
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: no address for peer %q", ErrPeerInvalid, name)
	}
	l := newPeerLink(p, name, addr)
	links := make(map[string]*peerLink, len(old)+1)
	for k, v := range old {
		links[k] = v
	}
	links[name] = l
	p.links.Store(&links)
	p.startLocked(l.run)
	return l, nil
}

// Drop closes and forgets the links with name, both directions: the peer left the
// cluster. Frames queued for it are discarded without PeerDown. It does not wait for
// the link's goroutines (so a handler may call it); a later Send dials anew.
func (p *Peers) Drop(name string) {
	p.mu.Lock()
	old := *p.links.Load()
	l := old[name]
	if l != nil {
		links := make(map[string]*peerLink, len(old))
		for k, v := range old {
			if k != name {
				links[k] = v
			}
		}
		p.links.Store(&links)
	}
	in := p.inByName[name]
	delete(p.inByName, name)
	p.mu.Unlock()
	if l != nil {
		l.stop()
	}
	if in != nil {
		_ = in.c.Close()
	}
	if l != nil || in != nil {
		p.log.Info("peer links dropped", "peer", name)
	}
}

// Close stops listening, closes every link and waits for all the links' goroutines,
// including handler calls in progress (so it must not be called from a handler).
// Queued frames are discarded. Safe to call twice; later calls wait like the first.
func (p *Peers) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.closing.Store(true)
		close(p.done)
		links := *p.links.Load()
		p.links.Store(&map[string]*peerLink{})
		inbound := make([]*peerInConn, 0, len(p.inbound))
		for in := range p.inbound {
			inbound = append(inbound, in)
		}
		p.mu.Unlock()
		if cerr := p.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("node: peer links: close listener: %w", cerr)
		}
		for _, l := range links {
			l.stop()
		}
		for _, in := range inbound {
			_ = in.c.Close()
		}
		p.wg.Wait()
		p.log.Info("peer links closed")
	})
	return err
}

// Stats returns a snapshot of the counters.
func (p *Peers) Stats() PeerStats {
	s := &p.stats
	return PeerStats{
		FramesOut: s.framesOut.Load(), BytesOut: s.bytesOut.Load(),
		FramesIn: s.framesIn.Load(), BytesIn: s.bytesIn.Load(),
		LinksUp: s.linksUp.Load(), Reconnects: s.reconnects.Load(), LinkDrops: s.linkDrops.Load(),
		DialFailures: s.dialFailures.Load(), HandshakeFailures: s.handshakeFailures.Load(),
		QueueResets: s.queueResets.Load(),
		OutLinks:    s.outLinks.Load(), InLinks: s.inLinks.Load(),
	}
}

// start runs fn on a goroutine that Close waits for, unless Close has begun; it
// reports whether fn was started. Every goroutine of the links starts here.
func (p *Peers) start(fn func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.startLocked(fn)
	return true
}

// startLocked is start for a caller holding p.mu that has checked p.closed.
func (p *Peers) startLocked(fn func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn()
	}()
}

// peerLogLimit turns a repeated warning into debug lines for a while, so that a
// peer failing in a loop (or a scanner knocking on the port) cannot flood the log.
type peerLogLimit struct{ last atomic.Int64 }

const peerWarnEvery = 10 * time.Second

// level returns Warn at most once per peerWarnEvery, Debug otherwise.
func (l *peerLogLimit) level() slog.Level {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last >= int64(peerWarnEvery) && l.last.CompareAndSwap(last, now) {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

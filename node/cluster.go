package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/ring"
)

// ClusterConfig makes a node one member of a cluster. Without it (Config.Cluster nil)
// the node is a cluster of one: it owns every room.
type ClusterConfig struct {
	// Membership configures gossip; its Meta.PeerAddr is filled with the peer links'
	// advertised address.
	Membership MembershipConfig
	// PeerBind is the peer links' listen address (":7947").
	PeerBind string
	// PeerAdvertise is the host:port other nodes dial for peer links; default: the
	// bound address with the membership's advertise host.
	PeerAdvertise string
	// Key is the cluster key: gossip encryption and the peer-link handshake.
	Key []byte
}

// cluster is a node's view of the others: membership, links, and the ring.
type cluster struct {
	n     *Node
	ms    *Membership
	peers *Peers
	ring  atomic.Pointer[ring.Ring]
	addrs map[string]string // alive member -> gossip address, as of the last ring; only the ring builder touches it

	calls pendingCalls

	// up is closed once startCluster has set every field and n.cluster: peer frames
	// can arrive as soon as the links listen, and the others route to this node as
	// soon as its first gossip join reached them, before startCluster returns. Until
	// up, n.cluster is nil and the node would take itself for a single node that owns
	// every room, so the peer handlers wait for it (waitUp).
	up        chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	leaveOnce sync.Once
}

// startCluster joins the cluster: peer links first (their address goes into the
// gossip metadata), then membership, then the first ring.
func (n *Node) startCluster(cc *ClusterConfig) error {
	c := &cluster{n: n, up: make(chan struct{}), stop: make(chan struct{})}
	c.calls.init()
	peers, err := ListenPeers(PeerConfig{Name: n.cfg.Name, Bind: cc.PeerBind, Key: cc.Key, Handler: c, Log: n.log})
	if err != nil {
		return fmt.Errorf("node: peer links: %w", err)
	}
	c.peers = peers
	n.m.peers.Store(peers)
	mc := cc.Membership
	mc.Name, mc.Key, mc.Log = n.cfg.Name, cc.Key, n.log
	if mc.Registerer == nil {
		mc.Registerer = n.cfg.Registerer
	}
	mc.Meta.PeerAddr = cc.PeerAdvertise
	if mc.Meta.PeerAddr == "" {
		mc.Meta.PeerAddr = peers.Addr()
	}
	ms, err := StartMembership(mc)
	if err != nil {
		close(c.stop) // releases handlers waiting in waitUp, which peers.Close awaits
		peers.Close()
		return fmt.Errorf("node: membership: %w", err)
	}
	c.ms = ms
	n.cluster = c
	c.rebuildRing()
	close(c.up)
	c.wg.Add(1)
	go c.watch()
	return nil
}

// waitUp blocks a peer handler until the cluster is started (see cluster.up), and
// reports false if it never will be.
func (c *cluster) waitUp() bool {
	select {
	case <-c.up:
		return true
	default:
	}
	select {
	case <-c.up:
		return true
	case <-c.stop:
		return false
	}
}

// watch rebuilds the ring whenever membership changes, and redoes this node's
// subscriptions whenever the cluster (again) knows it at its current address: the
// owners may have refused or forgotten what it registered while they did not.
func (c *cluster) watch() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.ms.Changes():
			c.rebuildRing()
		case <-c.ms.Confirmed():
			if rooms := c.n.resubscribeAll(); rooms > 0 {
				c.n.log.Info("resubscribing every room: the cluster accepted this node's address", "rooms", rooms)
			}
		}
	}
}

// rebuildRing makes a ring of the alive members and, if it changed, moves rooms. A
// member that came back on another address (restarted elsewhere, same name) counts
// as a change even when the alive set is the same, because its process is new:
// calls waiting on the old one will never be answered, and the rooms it owned for
// our subscribers must be subscribed again with it.
func (c *cluster) rebuildRing() {
	alive := c.ms.Alive()
	addrs := c.aliveAddrs()
	old := c.ring.Load()
	var moved []string
	for name, a := range addrs {
		if prev, ok := c.addrs[name]; ok && prev != a && name != c.n.cfg.Name {
			moved = append(moved, name)
		}
	}
	c.addrs = addrs
	if old != nil && sameMembers(old.Members(), alive) && len(moved) == 0 {
		return
	}
	var version uint64 = 1
	if old != nil {
		version = old.Version() + 1
	}
	r := ring.New(ring.Config{}, version, alive)
	c.ring.Store(r)
	c.n.m.ringChanges.Inc()
	c.n.log.Info("ring changed", "version", version, "members", alive, "moved", moved)
	if old != nil {
		for _, name := range old.Members() {
			if !r.Contains(name) || slices.Contains(moved, name) {
				c.peers.Drop(name)
				c.calls.failPeer(name)
			}
		}
	}
	c.n.ringChanged(r)
	for _, name := range moved {
		c.n.resubscribeFrom(name)
	}
	if old != nil {
		c.resyncAdded(old, r)
	}
}

// resyncAdded tells each member the new ring has and the old one had not to
// resubscribe the rooms it gets from this node. Views converge at different moments:
// after a partition heals, a member may subscribe here before this node sees it
// alive again, and ringChanged then drops that subscription as one of a member that
// left (its subscriber believes it holds, and would never hear from the room
// again). The resubscription is idempotent, and its ack repairs any gap from the
// store.
func (c *cluster) resyncAdded(old, r *ring.Ring) {
	for _, name := range r.Members() {
		if name == c.n.cfg.Name || old.Contains(name) {
			continue
		}
		if err := c.send(name, kindResync, []byte("{}")); err != nil {
			c.n.log.Debug("resync", "to", name, "err", err)
		}
	}
}

// aliveAddrs returns each alive member's gossip address.
func (c *cluster) aliveAddrs() map[string]string {
	out := map[string]string{}
	for _, mi := range c.ms.Members() {
		if mi.State == MemberAlive {
			out[mi.Name] = mi.GossipAddr
		}
	}
	return out
}

func sameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// owner returns the room's owner under the current ring.
func (c *cluster) owner(room chat.ID) string {
	r := c.ring.Load()
	if r == nil {
		return ""
	}
	return r.RoomOwner(room)
}

// peerAddr returns a member's peer-link address.
func (c *cluster) peerAddr(name string) (string, error) {
	meta, ok := c.ms.Meta(name)
	if !ok || meta.PeerAddr == "" {
		return "", chat.Errorf(chat.CodeNotOwner, "node %s is not reachable; retry", name)
	}
	return meta.PeerAddr, nil
}

// send sends one frame to a member.
func (c *cluster) send(to string, kind uint8, payload []byte) error {
	addr, err := c.peerAddr(to)
	if err != nil {
		return err
	}
	if err := c.peers.Send(to, addr, kind, payload); err != nil {
		return fmt.Errorf("node: send to %s: %w", to, err)
	}
	c.n.m.peerFrames.Inc()
	return nil
}

// broadcast sends one frame to every other alive member.
func (c *cluster) broadcast(kind uint8, payload []byte) {
	r := c.ring.Load()
	if r == nil {
		return
	}
	for _, name := range r.Members() {
		if name != c.n.cfg.Name {
			if err := c.send(name, kind, payload); err != nil {
				c.n.log.Debug("broadcast", "to", name, "err", err)
			}
		}
	}
}

// leave hands the node's rooms over: it leaves gossip (others rebuild their ring
// without it and take the rooms, fencing this node's epochs in the store), stops
// owning rooms, and closes its links. Safe to call twice.
func (c *cluster) leave(timeout time.Duration) {
	c.leaveOnce.Do(func() {
		if err := c.ms.Leave(timeout); err != nil {
			c.n.log.Warn("leave", "err", err)
		}
		close(c.stop)
		c.wg.Wait()
		// An empty ring: this node owns nothing any more, so it cannot take a room
		// back before its clients are gone (their sends answer not_owner, or unknown
		// when a forward was in flight, and are resent elsewhere by client_msg_id).
		c.ring.Store(ring.New(ring.Config{}, c.ring.Load().Version()+1, nil))
		c.n.disownAll()
		c.calls.failAll()
		_ = c.peers.Close()
	})
}

// Leave makes the node leave its cluster gracefully (SIGTERM): the others take its
// rooms over. A single node has nothing to leave. Close calls it too.
func (n *Node) Leave() {
	if n.cluster != nil {
		n.cluster.leave(5 * time.Second)
	}
}

// disownAll stops owning every room (after leaving the cluster).
func (n *Node) disownAll() {
	rooms := n.roomList()
	for _, r := range rooms {
		n.disown(r)
	}
}

// Ready reports whether the node can serve: a single node always; a cluster member
// once it has a ring and the others know it at its current address (see
// membership_confirm.go: before that, clients sent to it make ownership thrash).
func (n *Node) Ready() bool {
	return n.cluster == nil || (n.cluster.ring.Load().Len() > 0 && n.cluster.ms.Ready())
}

// Members describes the cluster as this node sees it (GET /cluster).
type Members struct {
	Self        string
	RingVersion uint64
	Members     []MemberInfo
}

// ClusterView returns the members and the ring version; a single node reports
// itself alone at version 0.
func (n *Node) ClusterView() Members {
	if n.cluster == nil {
		return Members{Self: n.cfg.Name, Members: []MemberInfo{{Name: n.cfg.Name, State: "alive"}}}
	}
	v := Members{Self: n.cfg.Name, Members: n.cluster.ms.Members()}
	if r := n.cluster.ring.Load(); r != nil {
		v.RingVersion = r.Version()
	}
	return v
}

// Owner returns the name of the room's owner under this node's current ring.
func (n *Node) Owner(room chat.ID) string {
	if n.cluster == nil {
		return n.cfg.Name
	}
	return n.cluster.owner(room)
}

// isLocal reports whether this node owns (or should own) the room now.
func (n *Node) isLocal(room chat.ID) bool {
	return n.cluster == nil || n.cluster.owner(room) == n.cfg.Name
}

var errNoOwner = errors.New("node: no owner for room (empty ring)")

// pendingCalls matches replies from other nodes to the requests waiting for them.
type pendingCalls struct {
	mu    sync.Mutex
	next  uint64
	calls map[uint64]*pendingCall
}

type pendingCall struct {
	peer  string
	reply chan []byte // the reply's payload; nil when the peer went away
}

func (p *pendingCalls) init() { p.calls = make(map[uint64]*pendingCall) }

func (p *pendingCalls) add(peer string) (uint64, *pendingCall) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	c := &pendingCall{peer: peer, reply: make(chan []byte, 1)}
	p.calls[p.next] = c
	return p.next, c
}

func (p *pendingCalls) done(id uint64, payload []byte) {
	p.mu.Lock()
	c := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	if c != nil {
		c.reply <- append([]byte(nil), payload...)
	}
}

func (p *pendingCalls) forget(id uint64) {
	p.mu.Lock()
	delete(p.calls, id)
	p.mu.Unlock()
}

// failPeer ends every call waiting on peer: its outcome is unknown.
func (p *pendingCalls) failPeer(peer string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.calls {
		if c.peer == peer {
			close(c.reply)
			delete(p.calls, id)
		}
	}
}

func (p *pendingCalls) failAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.calls {
		close(c.reply)
		delete(p.calls, id)
	}
}

// call sends a request frame to peer and waits for its reply's payload.
func (c *cluster) call(ctx context.Context, peer string, kind uint8, body func(id uint64) []byte) ([]byte, error) {
	id, pc := c.calls.add(peer)
	if err := c.send(peer, kind, body(id)); err != nil {
		c.calls.forget(id)
		return nil, err
	}
	select {
	case payload, ok := <-pc.reply:
		if !ok {
			return nil, ErrUnknownOutcome
		}
		return payload, nil
	case <-ctx.Done():
		c.calls.forget(id)
		return nil, ErrUnknownOutcome
	}
}

package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// Config configures a Node. Zero values take the defaults of DefaultConfig.
type Config struct {
	// Name identifies this node in the cluster and in the store's ownership records.
	// Default: the host name.
	Name string
	// CommitShards is the number of group-commit goroutines; a room always maps to the
	// same one. More shards overlap more store round trips, but concurrent
	// transactions also contend in the store (index pages, WAL flushes) and each
	// shard's batches are smaller. Default: one per two CPUs, 1 to 4. On a 2-core
	// machine sharing its cores with Postgres, one shard gave ack p99 13 ms at 17k
	// msgs/s where four gave 107 ms (docs/benchmarks.md).
	CommitShards int
	// CommitMaxBatch caps the messages of one store transaction. Default 512.
	CommitMaxBatch int
	// CommitMaxDelay is how long a shard waits for more messages after the first one
	// of a batch. Zero commits whatever is queued at once (batches still form under
	// load, while the previous transaction is in flight). Default 0.
	CommitMaxDelay time.Duration
	// CommitQueue bounds each shard's queue of waiting messages; Send blocks (up to its
	// context) when it is full. Default 4096.
	CommitQueue int
	// RecentSize is how many recent messages an owned room keeps in memory. Default 100.
	RecentSize int
	// Registerer receives the node's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Cluster, when set, makes the node a member of a cluster (gossip, peer links,
	// ring ownership); nil runs a cluster of one.
	Cluster *ClusterConfig
}

// DefaultConfig returns the defaults, each chosen for a small LAN node.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:           host,
		CommitShards:   min(4, max(1, runtime.NumCPU()/2)),
		CommitMaxBatch: 512,
		CommitQueue:    4096,
		RecentSize:     100,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.CommitShards <= 0 {
		c.CommitShards = d.CommitShards
	}
	if c.CommitMaxBatch <= 0 {
		c.CommitMaxBatch = d.CommitMaxBatch
	}
	if c.CommitQueue <= 0 {
		c.CommitQueue = d.CommitQueue
	}
	if c.RecentSize <= 0 {
		c.RecentSize = d.RecentSize
	}
}

// Node is one cluster member. Create it with New; it is safe for concurrent use.
type Node struct {
	cfg    Config
	store  persist.Store
	log    *slog.Logger
	commit *GroupCommit
	m      *metrics

	mu    sync.Mutex
	rooms map[chat.ID]*room

	inflight inflightSends

	userSink      atomic.Pointer[sinkBox]
	ownerInflight inflightSends

	cluster *cluster // nil on a single node

	closeOnce sync.Once
}

// New builds a node over store and starts its group commit.
func New(cfg Config, store persist.Store, log *slog.Logger) (*Node, error) {
	cfg.fill()
	if store == nil {
		return nil, errors.New("node: nil store")
	}
	if log == nil {
		log = slog.Default()
	}
	n := &Node{cfg: cfg, store: store, log: log, rooms: make(map[chat.ID]*room), m: newMetrics(cfg.Registerer)}
	n.inflight.init()
	n.ownerInflight.init()
	n.commit = newGroupCommit(n, cfg)
	if cfg.Cluster != nil {
		if err := n.startCluster(cfg.Cluster); err != nil {
			n.commit.close()
			return nil, err
		}
	}
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Close leaves the cluster (its rooms move to the other members), then stops the
// group commit after flushing what is queued. Safe to call twice.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.Leave()
		n.commit.close()
	})
	return nil
}

// SendRequest is a message to append to a room. The API has validated the content,
// rendered ContentHTML, and checked the parent and attachments.
type SendRequest struct {
	RoomID      chat.ID
	Sender      chat.User
	Type        chat.MessageType
	Content     string
	ContentHTML string
	ParentID    *chat.ID
	Attachments []chat.Attachment
	ClientMsgID *string
}

// Send appends a message to its room through the room's owner and returns it once it
// is durable. The owner checks that the sender is a member, not muted and, in a direct
// room, not blocked by the other member (system messages skip these checks).
//
// created is false when the sender's client_msg_id was already used: the original
// message is returned unchanged. An error means the message was not and will not be
// stored, except context cancellation after the batch was handed over, which leaves
// the outcome unknown (the caller resends with the same client_msg_id).
func (n *Node) Send(ctx context.Context, req *SendRequest) (msg *chat.Message, created bool, err error) {
	return n.send(ctx, req)
}

// CheckSender applies the owner's send rules (a member, not muted, not blocked in a
// direct room) without sending, so the API can refuse a send before it counts
// against the rate limit. Send checks again: the answer may change in between. On a
// node that does not own the room it answers nil: the rules would cost two store
// reads there (18% of a 3-node cluster's CPU under load), while the owner checks
// them from its caches on Send, and the API gives back the rate-limit slot of a
// send the owner refuses.
func (n *Node) CheckSender(ctx context.Context, roomID, sender chat.ID) error {
	if !n.isLocal(roomID) {
		return nil
	}
	r := n.room(roomID)
	if err := n.ensureOwned(ctx, r); err != nil {
		return err
	}
	return n.checkSender(ctx, r, sender)
}

// Publish emits an event. A room event that is not a new message (edits, deletions,
// reactions, typing, joins, receipts, room changes) goes to the room's subscribers,
// ordered after every event already published or committed in that room. A user
// event (UserID set, RoomID zero: notifications, presence) goes to the user sink of
// every node holding one of the user's connections (here: this node's).
func (n *Node) Publish(ev *Event) {
	if ev.RoomID == chat.NilID && ev.UserID != chat.NilID {
		n.deliverUser(ev)
		if n.cluster != nil {
			// Every node holding one of the user's connections delivers it; a node
			// without any drops it.
			n.cluster.broadcast(kindUserEvent, wireOf(ev))
		}
		return
	}
	n.publish(ev)
}

// SetUserSink installs the sink of user events on this node (the API's connection
// hub). Its Deliver may be called concurrently from any goroutine and must not block.
func (n *Node) SetUserSink(s Sink) { n.userSink.Store(&sinkBox{s}) }

type sinkBox struct{ sink Sink }

// Subscribe registers sink for the room's events and returns the room's last
// committed seq at the moment of registration: every message above it reaches sink.
func (n *Node) Subscribe(ctx context.Context, roomID chat.ID, sink Sink) (lastSeq int64, err error) {
	return n.subscribe(ctx, roomID, sink)
}

// Unsubscribe removes sink from the room; unknown sinks are ignored.
func (n *Node) Unsubscribe(roomID chat.ID, sink Sink) { n.unsubscribe(roomID, sink) }

// RoomChanged tells every node (the owner among them) that a room's members, roles,
// mutes or blocks changed, so that the next check reloads them.
func (n *Node) RoomChanged(roomID chat.ID) { n.roomChanged(roomID) }

// Recent returns the owned room's buffered messages with seq > after, oldest first,
// and ok=false when the buffer does not reach back that far (read the store then).
func (n *Node) Recent(roomID chat.ID, after int64) (msgs []chat.Message, lastSeq int64, ok bool) {
	return n.recent(roomID, after)
}

// RoomOwnership describes this node's view of a room's ownership.
type RoomOwnership struct {
	RoomID chat.ID `json:"room_id"`
	Owner  string  `json:"owner"`
	Epoch  int64   `json:"epoch"`
}

// Ownership returns who owns the room as far as this node knows: the ring's owner,
// and the epoch when this node is that owner (0 until the room was first used).
func (n *Node) Ownership(roomID chat.ID) RoomOwnership {
	o := RoomOwnership{RoomID: roomID, Owner: n.Owner(roomID)}
	n.mu.Lock()
	r := n.rooms[roomID]
	n.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		if r.owned {
			o.Epoch = r.epoch
		}
		r.mu.Unlock()
	}
	return o
}

// RoomsByOwner counts the rooms this node holds state for by their ring owner.
func (n *Node) RoomsByOwner() map[string]int {
	n.mu.Lock()
	ids := make([]chat.ID, 0, len(n.rooms))
	for id := range n.rooms {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	out := make(map[string]int)
	for _, id := range ids {
		out[n.Owner(id)]++
	}
	return out
}

// RoomsOwned counts the rooms this node owns now.
func (n *Node) RoomsOwned() int {
	rooms := n.roomList()
	owned := 0
	for _, r := range rooms {
		r.mu.Lock()
		if r.owned {
			owned++
		}
		r.mu.Unlock()
	}
	return owned
}

func wrapStore(op string, err error) error { return fmt.Errorf("node: %s: %w", op, err) }

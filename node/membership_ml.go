package node

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberlist's callbacks: metadata and push/pull state (the delegate), membership
// events, name conflicts, and its log lines.

// mlDelegate gives memberlist our metadata. memberlist may call it from any of its
// goroutines, concurrently; it only reads an atomic pointer.
type mlDelegate struct{ m *Membership }

func (d mlDelegate) NodeMeta(limit int) []byte {
	b := *d.m.meta.Load()
	if len(b) > limit { // cannot happen: setMeta checked MetaMaxSize
		return nil
	}
	return b
}
func (mlDelegate) NotifyMsg([]byte)                           {}
func (mlDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState and MergeRemoteState carry each node's view of the members' addresses
// in every push/pull, so that a node learns whether the others accepted it at its
// current address (membership_confirm.go).
func (d mlDelegate) LocalState(join bool) []byte            { return d.m.localState() }
func (d mlDelegate) MergeRemoteState(buf []byte, join bool) { d.m.mergeRemoteState(buf) }

// mlEvents receives memberlist's membership events: one at a time, with memberlist's
// node lock held, so it must neither block nor call memberlist. The *Node is
// memberlist's own and is not kept: observe copies what it needs.
type mlEvents struct{ m *Membership }

func (e mlEvents) NotifyJoin(n *memberlist.Node)   { e.m.observe(n, MemberAlive) }
func (e mlEvents) NotifyUpdate(n *memberlist.Node) { e.m.observe(n, MemberAlive) }
func (e mlEvents) NotifyLeave(n *memberlist.Node)  { e.m.observe(n, MemberDead) }

// mlConflict hears of a member name announced from a second address: a node restarted
// on a new address before its old one was declared dead for DeadNodeReclaimTime (it
// gets in at the next sync after that), or two nodes configured with one name. When
// the name is ours, the others still know this node at an old address (we restarted
// on a new one): it is not confirmed until they accept the new one (unconfirm). Same
// calling rules as mlEvents.
type mlConflict struct{ m *Membership }

func (c mlConflict) NotifyConflict(existing, other *memberlist.Node) {
	if existing.Name == c.m.cfg.Name {
		c.m.unconfirm(other.Address())
		return
	}
	c.m.log.Warn("member name announced from a second address; accepted once the old one has been dead a while, else two nodes share a name",
		"member", existing.Name, "addr", existing.Address(), "other_addr", other.Address())
}

// mlLogWriter turns memberlist's log lines ("[LEVEL] memberlist: text") into slog
// records at debug level: memberlist is chatty about every failed probe and sync,
// which is routine while a node dies; what matters is logged by Membership itself at
// proper levels. The original level is kept as an attribute. One exception: traffic
// refused for its label or key (a stray process or a node with another
// --cluster-key) is a warning, at most one a minute, since a flood of it is cheap to
// send. memberlist writes from many goroutines, hence the atomic.
type mlLogWriter struct {
	log        *slog.Logger
	lastRefuse *atomic.Int64 // unix nanoseconds of the last refusal warning
}

func (w mlLogWriter) Write(p []byte) (int, error) {
	line, level := strings.TrimSpace(string(p)), ""
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if lv, text, ok := strings.Cut(rest, "]"); ok {
			level, line = lv, strings.TrimSpace(text)
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	if w.lastRefuse != nil && isRefusal(line) {
		now, last := time.Now().UnixNano(), w.lastRefuse.Load()
		if now-last > int64(time.Minute) && w.lastRefuse.CompareAndSwap(last, now) {
			w.log.Warn("gossip traffic refused: wrong cluster key or label (repeats logged at debug)", "detail", line)
			return len(p), nil
		}
	}
	if w.log.Enabled(context.Background(), slog.LevelDebug) {
		w.log.Debug(line, "from", "memberlist", "memberlist_level", level)
	}
	return len(p), nil
}

// isRefusal recognises memberlist's lines for traffic with another label, or that
// fails authenticated decryption (packets, and streams: "message authentication failed").
func isRefusal(line string) bool {
	for _, s := range []string{"unacceptable label", "Decrypt packet failed", "message authentication failed"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

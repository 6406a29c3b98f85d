package node

import (
	"encoding/json"
	"time"
)

// Confirmation: does the cluster know this node at its current address?
//
// A node restarted under its old name on a new address (a rescheduled pod) hears
// of the others at once and builds a full ring, but the others keep its old address
// until they have seen it dead for DeadNodeReclaimTime, then accept the new one at a
// later sync: about 8 s in which it believes it owns rooms that the others route
// elsewhere. Clients sent to it then see ownership thrash (each side takes a new
// epoch in the store on every send), and its subscriptions, registered with owners
// who could not answer it, are never redone since its own ring never changes.
//
// So every push/pull carries the sender's view of the alive members' addresses
// (LocalState), and a node is confirmed once every member it sees alive has told
// it, in a push/pull, that it sees this node alive at its current address. Until
// then the node is not ready (GET /readyz answers 503, so a load balancer sends it
// nobody), and it syncs every confirmInterval with the members that have not
// confirmed it, which gets it accepted as soon as DeadNodeReclaimTime allows
// instead of at a random later sync. Each time it becomes confirmed, Confirmed is
// signalled and the node redoes its subscriptions.
//
// A node alone (no seed answered) is confirmed: it is the first node or cut off, and
// there is nobody to disagree with. A member that never sends its view (an older
// version during an upgrade, or one that cannot reach us for a sync) would keep the
// node unready for ever, so readiness gives up waiting after confirmGrace.
const (
	confirmInterval = time.Second
	confirmGrace    = 30 * time.Second
)

// wireState is LocalState's content: the sender's name and where it sees each alive
// member's gossip address. JSON with one-letter keys, as wireMeta.
type wireState struct {
	Name  string            `json:"n"`
	Alive map[string]string `json:"a"`
}

// confirmState is guarded by Membership.mu.
type confirmState struct {
	seenAs    map[string]string // member -> the address it last said it sees us at ("" = not alive)
	confirmed bool
	ever      bool      // confirmed at least once: readiness no longer waits
	started   time.Time // of StartMembership, for confirmGrace
	graceLog  bool      // the end of the grace was logged
}

// localState encodes this node's view for a push/pull. memberlist may call it from
// any goroutine, possibly with its node lock held: it only takes Membership.mu.
func (m *Membership) localState() []byte {
	st := wireState{Name: m.cfg.Name, Alive: map[string]string{}}
	m.mu.Lock()
	for name, s := range m.members {
		if s.State == MemberAlive {
			st.Alive[name] = s.GossipAddr
		}
	}
	m.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil { // cannot happen: strings only
		return nil
	}
	return b
}

// mergeRemoteState records where the sender of a push/pull sees this node.
func (m *Membership) mergeRemoteState(buf []byte) {
	var st wireState
	if err := json.Unmarshal(buf, &st); err != nil || st.Name == "" || st.Name == m.cfg.Name {
		return
	}
	m.mu.Lock()
	if m.confirm.seenAs == nil {
		m.confirm.seenAs = map[string]string{}
	}
	m.confirm.seenAs[st.Name] = st.Alive[m.cfg.Name]
	m.mu.Unlock()
}

// unconfirm is called when a member announces this node at another address: the
// cluster (some of it) still has an old address of ours. Every member must confirm
// again. Runs inside memberlist's callbacks: no memberlist calls.
func (m *Membership) unconfirm(other string) {
	m.mu.Lock()
	was := m.confirm.confirmed
	m.confirm.confirmed = false
	m.confirm.seenAs = nil
	m.mu.Unlock()
	if was {
		m.log.Warn("the cluster announces this node at another address; waiting until it accepts ours",
			"addr", m.self.addr, "other_addr", other)
	}
}

// checkConfirmed returns the gossip addresses of the alive members that have not
// confirmed this node's address, and whether there are none (then the node is
// confirmed, and the transition is reported as became).
func (m *Membership) checkConfirmed() (pending []string, became bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.confirm.confirmed {
		return nil, false
	}
	for name, s := range m.members {
		if name == m.cfg.Name || s.State != MemberAlive {
			continue
		}
		if m.confirm.seenAs[name] != m.self.addr {
			pending = append(pending, s.GossipAddr)
		}
	}
	if len(pending) > 0 {
		return pending, false
	}
	m.confirm.confirmed, m.confirm.ever = true, true
	return nil, true
}

// confirmRound checks the confirmation and, while some members have not confirmed
// this node, syncs with them (a join is a push/pull both ways: they get our alive
// message at our address, we get their view).
func (m *Membership) confirmRound() {
	pending, became := m.checkConfirmed()
	if became {
		m.log.Info("the cluster knows this node at its address", "addr", m.self.addr)
		select {
		case m.confirmedCh <- struct{}{}:
		default:
		}
		return
	}
	if len(pending) > 0 {
		m.log.Debug("waiting for members to accept this node's address", "addr", m.self.addr, "pending", pending)
		m.join(pending)
	}
}

// Confirmed is signalled each time the node becomes confirmed (see the top of
// membership_confirm.go). Signals coalesce; one consumer (the node).
func (m *Membership) Confirmed() <-chan struct{} { return m.confirmedCh }

// Ready reports whether the node may take clients: once it has been confirmed, or
// when confirmGrace has passed since it started.
func (m *Membership) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.confirm.ever {
		return true
	}
	if time.Since(m.confirm.started) < confirmGrace {
		return false
	}
	if !m.confirm.graceLog {
		m.confirm.graceLog = true
		m.log.Warn("ready although some members never confirmed this node's address", "waited", confirmGrace)
	}
	return true
}

// confirmLoop runs confirmRound every confirmInterval until Shutdown.
func (m *Membership) confirmLoop() {
	defer m.wg.Done()
	t := time.NewTicker(confirmInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.confirmRound()
	}
}

// Package node is the cluster member: it owns rooms, orders and persists their
// messages through the group commit, keeps each owned room's recent messages in
// memory, and fans events out to the sinks (local connections) that subscribe.
//
// # The way of a message (one node)
//
// Node.Send checks the sender against the room's cached member set, then hands the
// message to the GroupCommit shard of its room. A shard is one goroutine: it gathers
// what is queued (up to Config.CommitMaxBatch, waiting at most CommitMaxDelay after
// the first), assigns each room's next seqs, writes the whole batch in one store
// transaction fenced by each room's ownership epoch, and only then appends the
// messages to the rooms' recent buffers, fans them out and answers the senders.
// Because a room maps to exactly one shard and a shard has one transaction in flight,
// a room never has two transactions in flight, so readers paging by seq never skip
// a row, and seqs are gap-free: a failed batch resets the rooms' next seq.
//
// # Concurrency model and lock order
//
// Node.mu guards the room table. room.mu guards a room's owner state (epoch, seqs,
// recent buffer, member cache, subscribers). Lock order: Node.mu -> room.mu; no lock
// is held while calling the store, except that a shard goroutine is the only writer of
// its rooms' seq state, so it reads and updates that state under room.mu in short
// critical sections. Sinks are called with no lock held, from the shard goroutine
// (message events, in seq order) or from Publish's caller under the room's publish
// order lock (room.pubMu), which keeps a room's events in one order for everyone.
// Full order: room.acquireMu -> room.pubMu -> room.mu; Node.mu is never held while a
// room lock is taken after it.
//
// # The cluster (cluster.go, remote.go, wire.go)
//
// With Config.Cluster set, gossip (membership.go) keeps the set of live members and
// a goroutine rebuilds the immutable ring (package ring) on every change. The ring
// names each room's owner. Sends are routed to it (route: local sendOwned, or a
// kindSendReq on the peer link, answered by kindSendResp); a send with a
// client_msg_id whose forward got no answer is sent again to whoever owns the room
// then, and the store's unique (sender, client_msg_id) index makes that safe: the
// owner's commit refuses the second copy and answers with the first. An edge with local sinks
// registers with the owner (kindSub, acked under the owner's room.pubMu so no event
// precedes the ack); the owner sends every event of the room once per subscribed
// node (kindEvent), which delivers it to its sinks in order on the link's reader
// goroutine, dropping seqs already delivered and repairing gaps from the store
// (committed messages are durable before any event about them leaves the owner).
// Other room events reach the owner as kindPublish so the owner alone orders them.
// User events (notifications, presence, revocations) are broadcast to every node.
//
// Ownership changes need no handoff protocol for correctness: the new owner takes a
// new epoch in the store (AcquireRoom) before its first write, which fences every
// batch of the old owner; a fenced owner drops the room and its senders follow the
// ring. On a ring change an owner drops the rooms it lost and edges resubscribe to
// the rooms' new owners, repairing what they missed from the store. Views converge
// at different moments, so an owner also drops the subscriptions of members that
// left its ring, and tells every member that joins it to resubscribe (kindResync, as
// after a peer link reconnects): a subscription made before the owner saw its
// subscriber alive again is not lost, nor one still in flight when the resync
// arrives (its ack no longer counts, and it is made again). A member back on another address (same name,
// new process) counts as a ring change too. A node is ready only once the others
// know it at its current address (membership_confirm.go), and then resubscribes.
//
// Membership: memberlist's node lock -> Membership.mu; memberlist is never called
// with Membership.mu held.
//
// # Peer links (peerlink*.go)
//
// Peers holds one outbound link per peer this node sends to and accepts the
// connections the other nodes dial: a pair of nodes uses two TCP connections, one per
// direction, so per-peer order is TCP order and simultaneous dials need no tie-break.
// Goroutines, all started by Peers.start and awaited by Peers.Close: the accept loop;
// per outbound link a writer goroutine for the link's whole life (dial with backoff,
// handshake, PeerUp/PeerDown, one writev per burst, heartbeat when idle) and a reader
// per connection (heartbeats only); per inbound connection a reader (handshake, then
// HandlePeerFrame, in order, never concurrently for one peer) and a heartbeat writer.
// Send only appends to the link's bounded queue under peerLink.mu; overflow resets
// the link (ErrPeerQueueFull, then PeerDown). Peers.mu (link table, inbound
// connections) and peerLink.mu are never held together, and neither is held while
// calling the PeerHandler, dialing or writing. Handler callbacks must not block for
// long and must not call Peers.Close.
package node

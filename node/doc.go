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
package node

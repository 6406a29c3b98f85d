// Package ring is the consistent-hash ring over the live members of the cluster:
// who owns a room (its single writer), which node is a user's home (presence and
// notifications), and, when the membership changes, which keys and partitions
// changed owner. It knows nothing about networking: members are plain names, and
// the node package maps names to addresses.
//
// # Placement
//
// A key's partition is xxhash(key) mod PartitionCount (1021 by default). New
// assigns each partition an owner with github.com/buraksezer/consistent
// (consistent hashing with bounded loads: no member owns more than Load, 1.25,
// times its fair share of partitions) and stores the result as a plain
// partition -> owner table. Owner then costs one xxhash and one table read, with
// no lock and no allocation, instead of the library's LocateKey, which takes a
// read lock on every call; a test checks that both always agree. Rooms and users
// are hashed in separate key spaces (RoomKey, UserKey), so a room and a user with
// the same ID bytes are placed independently.
//
// Placement depends only on the Config and the set of member names: the order in
// which a node learned of its peers, duplicates, and the version do not matter, so
// every node that sees the same members computes the same owner for every key.
// Fingerprint summarises exactly that input, for peers to compare.
//
// # Immutability
//
// A Ring never changes after New. A membership change builds a new Ring, and the
// node swaps it in whole (an atomic.Pointer[ring.Ring]). This is what makes the
// hot path lock-free: the edge that forwards a message reads the pointer once and
// asks that snapshot, without contending with the gossip goroutine that builds the
// next one. It also makes a ring a value: it can be kept next to the decision it
// was used for, compared with the current one, diffed (Moved, MovedPartitions) and
// logged (String, LogValue), none of which would mean anything if it could change
// underneath.
//
// # Versions and stale views
//
// The caller gives each ring a Version, strictly increasing with every membership
// change that node observes (a counter kept by the code that builds rings). The
// ring only records it. Callers use it in three ways:
//
//   - Pin a snapshot for the length of a decision: read the ring once, use it for
//     every lookup of one operation, and remember its Version.
//   - Detect that a decision is stale: work that started under version v and
//     finishes after an ownership change (say an owner taking over a room and
//     loading it from the store) compares v with the current ring's Version and
//     re-checks ownership if they differ, instead of acting on the old answer.
//   - Order handovers: MovedPartitions(prev, cur) for consecutive snapshots tells a
//     node exactly which rooms to hand over and take over; remembering the last
//     version it processed makes that idempotent.
//
// Versions are local counters, so they order one node's views, not the cluster's.
// To tell whether two nodes see the same ring, compare Fingerprints. Neither is a
// fence: gossip converges in time, and two nodes may briefly both believe they own
// a room. Correctness rests on the store's per-room ownership epoch (DESIGN.md,
// "Ownership and change"); the ring only decides who should try.
package ring

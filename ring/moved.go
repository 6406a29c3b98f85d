package ring

import "fmt"

// Move is a key whose owner changed between two rings: the old owner hands it
// over to the new one. From is "" when the old ring had no owner (it was empty),
// To is "" when the new ring has none (the last member left).
type Move struct {
	// Key is the caller's key slice itself, not a copy.
	Key []byte
	// From is the owner in the old ring.
	From string
	// To is the owner in the new ring.
	To string
}

// PartitionMove is a partition whose owner changed between two rings: every key
// in it moves From -> To. From and To are "" as in Move.
type PartitionMove struct {
	// Partition is the partition number, in [0, PartitionCount).
	Partition int
	// From is the owner in the old ring.
	From string
	// To is the owner in the new ring.
	To string
}

// Moved returns the keys whose owner differs between before and after, in the order of
// keys, each with its old and new owner. Either ring may be nil (empty). It
// reports every change, including (because of the bounded load, see Config.Load)
// moves between two members present in both rings: a handoff must honour them all.
//
// It suits a short list of keys; a node deciding which of its many rooms moved
// should use MovedPartitions and file its rooms by partition instead.
func Moved(before, after *Ring, keys [][]byte) []Move {
	var moves []Move
	samePartitions := before.partitions() == after.partitions()
	for _, k := range keys {
		var from, to string
		if samePartitions {
			p := after.Partition(k)
			from, to = before.PartitionOwner(p), after.PartitionOwner(p)
		} else {
			from, to = before.Owner(k), after.Owner(k)
		}
		if from != to {
			moves = append(moves, Move{Key: k, From: from, To: to})
		}
	}
	return moves
}

// MovedPartitions returns the partitions whose owner differs between before and after,
// in partition order. Either ring may be nil (empty). A node learns which of its
// rooms to hand over (From == itself) or to take over (To == itself) by checking
// the partitions of the rooms it holds, without listing every key.
//
// Partition numbers mean the same only under the same PartitionCount, which is a
// cluster-wide constant: MovedPartitions panics if the two rings differ in it
// (use Moved, which handles that case, if it can legitimately happen).
func MovedPartitions(before, after *Ring) []PartitionMove {
	if before != nil && after != nil && before.parts != after.parts {
		panic(fmt.Sprintf("ring: MovedPartitions across partition counts %d and %d", before.parts, after.parts))
	}
	n := after.PartitionCount()
	if before != nil {
		n = before.PartitionCount()
	}
	var moves []PartitionMove
	for p := range n {
		from, to := before.PartitionOwner(p), after.PartitionOwner(p)
		if from != to {
			moves = append(moves, PartitionMove{Partition: p, From: from, To: to})
		}
	}
	return moves
}

package ring

import (
	"errors"
	"fmt"
)

// The defaults of Config. Load is buraksezer/consistent's default; PartitionCount
// and ReplicationFactor are larger than its 271 and 20, because with those the
// least-loaded of 5 members typically owns only 76% of its fair share (measured
// below); the reason for each value is on its Config field.
const (
	DefaultPartitionCount    = 1021
	DefaultReplicationFactor = 100
	DefaultLoad              = 1.25
)

// Config shapes a ring. Every node of a cluster must use the same Config: two
// nodes with the same members but different configs disagree on owners (Ring.Fingerprint
// covers the config so that such a mismatch shows). A zero field takes its default.
// Changing PartitionCount or ReplicationFactor moves most keys at once, so they
// are constants of a cluster, not knobs to turn on a running one.
//
// Measured over 200 random member sets each (share = partitions owned / fair
// share; "cross" = partitions that a join moves between two members that both
// stay, as a fraction of all partitions):
//
//	PartitionCount ReplicationFactor  least-loaded share, median (n=3 / 5 / 10)  cross (n=10)
//	271            20                 0.84 / 0.76 / 0.63                          1.9%
//	271            100                0.89 / 0.81 / 0.70                          1.0%
//	1021           100                0.91 / 0.88 / 0.80                          0.16%
//	4093           100                0.92 / 0.89 / 0.85                          0.03%
type Config struct {
	// PartitionCount is how many partitions the key space is cut into; a key's
	// partition is xxhash(key) mod PartitionCount, and the ring assigns whole
	// partitions to members. Zero means DefaultPartitionCount (1021).
	//
	// Why 1021: a prime, so that the modulo spreads keys evenly even when key
	// hashes share structure. Each partition is also a point placed on the hash
	// circle, so a member's share carries sampling noise of about
	// 1/sqrt(its partitions): 271 (the library's default) leaves 27 partitions
	// per member of a 10-node cluster, 1021 leaves 102. The partition table stays
	// a 16 KiB slice, MovedPartitions a loop of 1021, and a build a few
	// milliseconds. It is also the largest cluster in which every member owns
	// partitions: members beyond PartitionCount (in name order) own nothing, see New.
	PartitionCount int

	// ReplicationFactor is how many virtual nodes each member places on the hash
	// circle. Zero means DefaultReplicationFactor (100); it must be at least 2
	// (with one, buraksezer/consistent's placement walk can run out of circle).
	//
	// Why 100: a member's arc of the circle, and so its natural share of
	// partitions, varies roughly as 1/sqrt(ReplicationFactor); 20 (the library's
	// default) leaves the least-loaded member well under its share (table above)
	// and makes joins move more than their 1/(n+1), 200 buys little more. A build
	// hashes members*ReplicationFactor virtual nodes: about 1 ms for 10 members,
	// 14 ms for 50, once per membership change, never on the hot path.
	ReplicationFactor int

	// Load bounds how many partitions one member may own: at most
	// ceil(floor(PartitionCount/members) * Load). Zero means DefaultLoad (1.25);
	// it must be greater than 1, or the partitions may not all fit.
	//
	// This is buraksezer/consistent's "consistent hashing with bounded loads"
	// (Mirrokni, Thorup, Zadimoghaddam; Google Research 2017): a partition whose
	// natural owner is full walks clockwise to the next member with room. Why
	// 1.25: no member holds more than about 25% over its fair share, a hot spot
	// that a plain ring (no bound) cannot promise, while few partitions overflow.
	// The price: when the bound moves (a member joins or leaves), a few partitions
	// move between two members that both stay, not only to or from the one that
	// changed ("cross" above). Callers must therefore hand over whatever Moved or
	// MovedPartitions reports, never assume that only the joining or leaving
	// member is involved.
	Load float64
}

// DefaultConfig returns the configuration every chatd cluster uses unless its
// operators have a reason not to: see the Config fields for the reason per value.
func DefaultConfig() Config {
	return Config{
		PartitionCount:    DefaultPartitionCount,
		ReplicationFactor: DefaultReplicationFactor,
		Load:              DefaultLoad,
	}
}

// withDefaults fills zero fields with their defaults, so that Config{} is usable.
func (c Config) withDefaults() Config {
	if c.PartitionCount == 0 {
		c.PartitionCount = DefaultPartitionCount
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	if c.Load == 0 {
		c.Load = DefaultLoad
	}
	return c
}

// maxPartitionCount caps PartitionCount so that the partition table stays a small,
// cache-friendly slice; no cluster needs more than a million partitions.
const maxPartitionCount = 1 << 20

// maxReplicationFactor caps ReplicationFactor so that a build stays cheap.
const maxReplicationFactor = 1 << 12

// Validate reports a configuration that New would refuse. Call it once at start,
// where a bad value can be reported as a configuration error: New panics on one,
// because by then it is a programming error. Zero fields are valid (defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.PartitionCount < 1 || c.PartitionCount > maxPartitionCount {
		errs = append(errs, fmt.Errorf("ring: PartitionCount %d out of range [1, %d]", c.PartitionCount, maxPartitionCount))
	}
	if c.ReplicationFactor < 2 || c.ReplicationFactor > maxReplicationFactor {
		errs = append(errs, fmt.Errorf("ring: ReplicationFactor %d out of range [2, %d]", c.ReplicationFactor, maxReplicationFactor))
	}
	// !(x > 1) also catches NaN.
	if !(c.Load > 1) || c.Load > 1e6 {
		errs = append(errs, fmt.Errorf("ring: Load %v must be greater than 1 (and sane)", c.Load))
	}
	return errors.Join(errs...)
}

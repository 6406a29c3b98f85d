package ring

import (
	"errors"
	"fmt"
)

// The defaults of Config. They are buraksezer/consistent's own defaults, kept
// because they suit the clusters chatd runs (3 to a few dozen nodes); the reason
// for each is on the matching Config field.
const (
	DefaultPartitionCount    = 271
	DefaultReplicationFactor = 20
	DefaultLoad              = 1.25
)

// Config shapes a ring. Every node of a cluster must use the same Config: two
// nodes with the same members but different configs disagree on owners (Ring.Fingerprint
// covers the config so that such a mismatch shows). A zero field takes its default.
type Config struct {
	// PartitionCount is how many partitions the key space is cut into; a key's
	// partition is xxhash(key) mod PartitionCount, and the ring assigns whole
	// partitions to members. Zero means DefaultPartitionCount (271).
	//
	// Why 271: a prime, so that the modulo spreads keys evenly even when key hashes
	// share structure; large enough that each member of a 3-to-30-node cluster holds
	// 9 to 90 partitions (fine-grained balance, and a join moves about 1/(n+1) of
	// the partitions, not a coarse chunk); small enough that the partition table,
	// a change set (MovedPartitions) and a build stay trivially cheap. It is also
	// the largest cluster in which every member owns partitions: members beyond
	// PartitionCount (in name order) own nothing, see New. Changing it moves
	// nearly every key, so it is a cluster-wide constant, never a tuning knob for
	// a running cluster.
	PartitionCount int

	// ReplicationFactor is how many virtual nodes each member places on the hash
	// circle. Zero means DefaultReplicationFactor (20); it must be at least 2
	// (with one, buraksezer/consistent's placement walk can run out of circle).
	//
	// Why 20: with more virtual nodes each member's arc of the circle, and so its
	// natural share of partitions, gets closer to 1/n (the spread shrinks roughly
	// as 1/sqrt(ReplicationFactor)); the bounded load (Load) clips what remains.
	// 20 keeps a build at a few thousand hashes even for a large cluster.
	ReplicationFactor int

	// Load bounds how many partitions one member may own: at most
	// ceil(floor(PartitionCount/members) * Load). Zero means DefaultLoad (1.25);
	// it must be greater than 1, or the partitions may not all fit.
	//
	// This is buraksezer/consistent's "consistent hashing with bounded loads"
	// (Mirrokni, Thorup, Zadimoghaddam; Google Research 2017): a partition whose
	// natural owner is full walks clockwise to the next member with room. Why
	// 1.25: no member holds more than about 25% over its fair share, a hot spot
	// that a plain ring (no bound) cannot promise. The price: when the bound
	// moves (a member joins or leaves), a few partitions can move between two
	// members that both stay, not only to or from the one that changed. Callers
	// must therefore hand over whatever Moved or MovedPartitions reports, never
	// assume that only the joining or leaving member is involved.
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

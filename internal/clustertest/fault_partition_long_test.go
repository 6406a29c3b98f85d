//go:build faultlong

package clustertest

import (
	"testing"
	"time"
)

// TestFaultPartitionLong: TestFaultPartition for 90 s, longer than memberlist's
// GossipToTheDeadTime (30 s): both sides forget each other, and only the periodic
// re-join of the seeds (node.DefaultRejoinInterval) brings them back together.
func TestFaultPartitionLong(t *testing.T) {
	partitionRun(t, 90*time.Second)
}

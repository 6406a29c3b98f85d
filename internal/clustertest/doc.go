// Package clustertest starts clusters of real chatd processes for integration and
// fault tests: the one cluster helper every cluster test uses (STYLE.md #15).
//
//	func TestMain(m *testing.M) { testsvc.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := clustertest.Start(t, clustertest.Options{Nodes: 3})
//		c.WaitForMembers(t, 3, 30*time.Second)
//		c.Kill(1)
//		...
//	}
//
// Start builds ./cmd/chatd once per test binary (with -race when the tests run with
// it), shares one Postgres database and one Redis database (internal/testsvc) among
// the nodes of a cluster, and gives each node free loopback ports for --listen,
// --gossip and --peer, the name n1..nN, and --join with every node's gossip address.
// The cluster key, operator token and JWT secret are random per cluster and shared.
//
// Each node's output goes to a log file in the test's temporary directory (restarts
// append to it); when the test fails, the tail of every node's log is shown. Every
// process is killed when the test ends, and dies with the test binary too (parent
// death signal). Nothing sleeps for a fixed time: readiness and membership are polled.
//
// A Cluster's methods fail the test through the testing.TB given to Start, so call
// them from the test's goroutine.
package clustertest

// Package loadtest is the scenario runner behind cmd/chatload: it drives a running
// cluster through its public contract only (REST to register, create rooms and join
// them; WebSocket through the project's client package for the traffic) and reports
// latency, throughput, errors and delivery anomalies.
//
// # A run
//
// Run prepares users and rooms over REST (setup.go), places the connections
// (layout.go), hands them to workers (worker.go), starts the load once every worker
// is connected and joined, and merges what the workers measured into a Report
// (merge.go) that prints as text, JSON (--json) and a self-contained HTML page with
// inline SVG charts (--html); Compare sets two reports side by side (--compare).
// The targets' /metrics are read before the connections, once they are all up, and
// after the drain: server memory per connection and server CPU come from the node
// processes themselves, not from the generator that shares the machine. Idle takes
// its two memory samples after a server GC (forced through --pprof, or waited for),
// since the setup leaves garbage behind (memory.go).
//
// # Processes
//
// One process holds at most MaxConnsPerProcess connections (the open-file limit
// less 2,000, at most 18,000 on a machine limited to 20,000). A bigger run
// re-executes the binary as worker processes (cmd/chatload's hidden --worker mode),
// each with a contiguous share of the connections. The coordinator and its workers
// speak JSON lines: the plan and then "go" or "stop" on the worker's stdin;
// progress every second and finally the result on its stdout. A small run uses the
// same protocol with one worker in-process over pipes, so there is one code path.
// Workers ship HDR histograms in their compressed V2 encoding, so merged
// percentiles are exact, never averages of percentiles.
//
// Connections go round-robin over the targets, and over the source addresses
// 127.0.0.1..127.0.0.N when the targets are on IPv4 loopback: one source address
// has ~28k ephemeral ports, and the server caps connections per client IP.
//
// # Rate limits
//
// The server accepts 10 send_message per sliding 10 s per user, cluster-wide. The
// load tester gives each user at most PerUserRate = 0.8 messages per second, so a
// run at R messages per second uses at least ceil(R / 0.8) publishing users:
// fanout at 50/s needs 63 publishers, 2,000/s in many rooms needs 2,500 users.
// Publishers are visited round-robin and each user's connections are spread evenly
// through that order (buildLayout), so no user bursts. A rate_limited answer is
// still counted, by kind, as an expected outcome rather than a failure. Users also
// hold at most ConnsPerUser connections (the server's per-user cap is 100 per node).
// Registrations hash passwords with argon2id (~40 ms of server CPU each), which
// makes users the slow part of the setup: the layout registers no more than needed.
//
// # Delivery check
//
// Every connection subscribes to one room and is a stream to check (checker.go):
// per-room seqs are gap-free and only the run writes to its rooms, so every seq
// above the join's last_seq must arrive exactly once, in order, up to the highest
// seq anyone saw in the room. Gaps are losses, repeats are duplicates, late fills
// of a gap are reorders (the clients keep repeats, client.Config.KeepRepeats, so
// the server's show here), and what a stream still lacks when the drain times out
// is "undelivered": late or lost, the run cannot tell (an overloaded server shows
// there; a longer --drain-timeout decides). Idle and connect-storm send one probe
// message per room after the hold, so they check that every held connection still
// receives. In mixed, members leave their room (leave_room, then REST leave and
// join) and come back with join_room since_seq: the replay must close the gap
// exactly.
//
// # Latency
//
// Each message carries the time its send was due (stamp.go), not the time it went
// out, so a generator or server that falls behind shows as latency instead of as a
// silently lower rate (no coordinated omission). Receivers compute now - due; on
// one machine that is one clock. Latencies go into HDR histograms (1 us to 5 min, 3
// significant digits), per second for the charts and in total; --warmup also
// reports the seconds after the load's start on their own. The pacer sleeps until
// the next send is due. The generator's CPU (getrusage), how late a 10 ms timer's
// goroutine runs, and how late each send starts against its due time are reported;
// a generator over 80% of the machine, or with timers or sends over 10 ms late at
// p99, is flagged as saturated: its latencies then carry its own delay.
//
// Concurrency: a worker's counters are atomics; its streams and histograms are fed
// by every client's reader goroutine and guarded by per-stream mutexes and sharded
// histogram locks; the coordinator runs on one goroutine with a reader per worker.
package loadtest

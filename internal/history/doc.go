// Package history records what the clients of a fault test did and saw, and checks
// it against the store afterwards, in the manner of Jepsen's analyses
// (../shared/RELIABILITY.md, "The history checker"). It is the one checker every
// fault test shares.
//
// A History is an append-only log of Events, in the order they were recorded:
//
//   - operations: a send's invoke, then its completion: ok (acknowledged, with the
//     seq and message id of the ack), fail (an error reply: the contract says the
//     message was not and will not be stored) or info (the outcome is unknown: a
//     timeout, a closed client);
//   - deliveries: a receiver got message_created (receiver, room, seq, message id,
//     client_msg_id), and its subscriptions (subscribe from a seq; unsubscribe);
//   - faults injected by the test (kill, start, pause, ...), and observations of a
//     room's owner and ownership epoch, so that the checker can tell whether the fault
//     happened and ownership moved;
//   - notes (connects, disconnects), for whoever reads the log.
//
// Every method is safe for concurrent use; the order of a History is the order in
// which its methods returned, which is a total order consistent with each goroutine's
// own order. WriteFile writes it as JSON lines for debugging (ReadFile reads it back).
//
// Check takes the History and the rows read from the store after the test healed the
// cluster and let every client drain, and returns a Report that counts, with examples,
// every anomaly (see Anomaly) and says whether the run is valid: a run in which the
// fault did not happen, ownership did not move (when required) or fewer than 95% of
// the operations completed proves nothing, and its result is "unknown".
package history

// Package client is a Go client of chatd's WebSocket protocol, for programs: the
// tests, the load tester, bots, and anyone embedding the cluster.
//
// A Client keeps one connection to any node and hides its loss: it reconnects with
// exponential backoff and full jitter, re-joins its rooms with since_seq (the last seq
// it delivered per room), and resends every command that was not answered, so
// messages keep their client_msg_id and are stored once. Events reach OnEvent in
// order, each message_created once: what a resume replays twice is dropped by seq.
//
// Concurrency: every method is safe for concurrent use. OnEvent and OnState are
// called from the client's reader goroutine, one at a time; they must not block for
// long and must not call the Client's blocking methods (Send, Join, ...) inline.
package client

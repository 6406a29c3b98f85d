// Package wsconn holds WebSocket connections on epoll: it upgrades HTTP requests
// (gobwas/ws), reads frames only when a socket is readable, on a bounded pool of
// workers, writes bounded queues of pre-encoded frames with one writev per burst,
// keeps connections alive with pings, and closes them with the codes of API.md. It
// knows nothing about chat: the API layer authenticates, checks origins and caps,
// calls Server.Upgrade, and receives text messages through a Handler.
//
// # What a connection costs
//
// No goroutine is parked per connection and an idle connection holds no buffer:
// a Conn (192 bytes), the runtime's descriptor, an 8-byte slot in the descriptor
// table. A read state (partial frame, fragments) exists only while a frame or
// message is incomplete; a write queue only while frames are queued (a busy
// connection keeps its queue; the sweep returns one that stayed empty for a sweep
// interval). Both come from pools. Read buffers, iovecs and the inflater belong to
// the workers. scripts/wsidle measures the whole: about 1.3-2 KiB of RSS per idle
// connection at 15,000 connections, with a constant number of goroutines.
//
// # Goroutines
//
//   - The epoll goroutine (pollLoop) waits in epoll_wait and, for each event, sets
//     bits in the connection's scheduling word and queues it. It performs no I/O on
//     connections and calls no handler.
//   - Config.Workers workers take connections from the run queue. A worker reads
//     what is available (RawConn.Read with a callback that never waits), parses,
//     calls Handler.OnMessage, flushes the write queue (RawConn.Write, writev), and
//     re-arms the one-shot registration, with EPOLLOUT when the socket was full.
//   - The sweep goroutine (sweepLoop) walks the descriptor table every fraction of
//     the shortest timeout: it queues keepalive pings and closes idle connections,
//     connections with a frame incomplete for too long, and connections whose
//     closing handshake timed out. It only uses atomics, Send, Close and schedule.
//   - With Config.WriteDelay, the delay goroutine (delayLoop) schedules the
//     connections whose delayed frames wait (see "Write delay"); it only uses
//     atomics and schedule.
//   - Any goroutine may call Conn.Send and Conn.Close; they take Conn.mu briefly and
//     schedule the connection. They never touch the socket.
//
// # One worker per connection at a time
//
// A connection's scheduling word (Conn.sched) has a "queued" bit: whoever sets it
// pushes the connection on the run queue; only the worker running it clears it,
// after the turn, unless new work arrived meanwhile, in which case the connection
// goes to the back of the queue. So one connection is run by at most one worker at
// a time, and sits in the run queue at most once (the queue is bounded by the
// number of connections). EPOLLONESHOT makes the kernel report a connection once
// until its worker re-arms it, so a readable socket does not wake the epoll
// goroutine again and again while a worker is on it. The run queue's mutex and the
// scheduling word's atomics carry the happens-before edge from one worker's turn
// to the next, so the worker-owned fields of Conn need no lock: the read state,
// the armed interest, the close phase.
//
// Hence who reads: the worker running the connection, only. Who writes: the worker
// running the connection, only (one flusher at a time); everyone else enqueues.
// Send and the flusher share the queue under Conn.mu: Send appends, only the
// flusher removes, so the frames a writev is writing stay at the head of the queue
// while Conn.mu is released during the system call.
//
// # Closing
//
// Conn.Close only records the first request (code, reason) under Conn.mu and
// schedules the connection; later requests, and Sends, see closeReq and return.
// Protocol failures found by the parser, timeouts from the sweep, a slow consumer
// (Send over the queue bound) and Shutdown all go through the same request. The
// worker running the connection then, and only it: queues the close frame after
// what is queued (a slow consumer's unsent frames are dropped, except a frame
// already partly written), calls Handler.OnClose, flushes, half-closes the socket
// and keeps reading until the peer's close frame or EOF, at most
// Config.CloseTimeout (the sweep then schedules a kill); the peer's close frame
// completes the handshake and releases the socket at once. Reading on is what lets
// the peer read our close frame: closing a socket with unread input makes the
// kernel send a reset that can destroy it. A peer's close frame is echoed and the
// socket released once the echo is written. EOF or a socket error on an open
// connection tears it down at once with CloseAbnormal. Teardown (epoll_ctl DEL,
// table removal, net.Conn.Close, buffers back to their pools) happens in the
// worker, so no I/O can race with it, and marks the scheduling word dead so late
// events and schedules are ignored. Handler.OnClose is therefore called exactly
// once, from the worker, whoever closed the connection; a stale epoll event for a
// reused descriptor is recognised by the connection id stored in the event.
//
// # Lock order
//
// Conn.mu and runQueue.mu are leaves: no other lock is taken while either is held
// (Send and Close release Conn.mu before they schedule, which takes runQueue.mu).
// connTable.mu only serialises page allocation. No lock is held while a handler
// runs or a read or write system call is made.
//
// # Go runtime
//
// The hijacked socket stays a net.Conn: all I/O goes through its syscall.RawConn
// with callbacks that return true (never wait), so the runtime's descriptor
// reference counting protects every system call against a concurrent Close, and
// only the worker tearing the connection down closes it. The runtime's own
// netpoller keeps the descriptor registered too; it is never waited on.
//
// # Limits and close codes
//
// Messages over Config.MaxMessage close with 1009, checked on each frame header
// before its payload is buffered (so also through endless continuations) and
// while inflating (a compression bomb stops at the limit). Binary frames close
// with 1003, invalid UTF-8 with 1007, unmasked, reserved, fragmented or oversized
// control frames with 1002. A ping flood costs one pending pong: a queued pong not
// yet being written is rewritten rather than queued again. Slow handshakes are the
// http.Server's ReadHeaderTimeout; after the upgrade a frame must complete within
// Config.FrameTimeout.
//
// # Write delay
//
// With Config.WriteDelay set, SendDelayed queues frames without scheduling the
// connection when it was written to within the delay: the connection goes on the
// server's delay list (once, Conn.delayed), and the delay goroutine (delayLoop)
// schedules every listed connection each WriteDelay, so a busy socket takes all its
// frames of the period in one writev. A quiet socket is scheduled at once, and a
// Send meanwhile flushes everything queued, in order.
//
// # Compression
//
// permessage-deflate is accepted only when the client offers it, with
// server_no_context_takeover and client_no_context_takeover: every message is
// compressed on its own, so a Frame is deflated once (lazily, by the first flush
// that needs it) and the same bytes go to every compressed receiver.
package wsconn

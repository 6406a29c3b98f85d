// Package wsconn holds WebSocket connections on epoll: accept and upgrade (gobwas/ws),
// read frames when a socket is readable on a bounded worker pool, bounded write
// queues of pre-encoded frames flushed in batches, ping/pong keepalive and the close
// codes of the contract. It knows nothing about chat.
//
// It arrives with the real-time edge (issue 3); this file reserves its place in the
// architecture of DESIGN.md.
package wsconn

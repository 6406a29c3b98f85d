package wsconn

import "sync/atomic"

// Stats holds the server's counters. Every field is updated atomically by the
// server and may be read at any time with Load; the API exports them to Prometheus
// (chatd_connections, chatd_slow_consumer_disconnects_total, ...). Counters are
// added once per read or write batch, not per byte, so they cost little on the hot
// path.
type Stats struct {
	// Conns is the number of open connections: upgraded and not yet reported to
	// Handler.OnClose.
	Conns atomic.Int64
	// Upgrades counts successful upgrades.
	Upgrades atomic.Uint64
	// FramesIn counts frames received (data and control).
	FramesIn atomic.Uint64
	// MessagesIn counts complete text messages delivered to Handler.OnMessage.
	MessagesIn atomic.Uint64
	// BytesIn counts bytes read from sockets.
	BytesIn atomic.Uint64
	// FramesOut counts frames fully written to sockets.
	FramesOut atomic.Uint64
	// BytesOut counts bytes written to sockets.
	BytesOut atomic.Uint64
	// Writes counts writev system calls (FramesOut/Writes is the batching factor).
	Writes atomic.Uint64
	// PingsSent counts keepalive pings queued by the server.
	PingsSent atomic.Uint64
	// SlowConsumerCloses counts connections closed with 1008 "too slow".
	SlowConsumerCloses atomic.Uint64
	// FramesDropped counts frames discarded unwritten: a batch refused by a full
	// queue, and what was still queued when its connection was closed as too slow or
	// torn down. A frame of a connection that lives is never dropped.
	FramesDropped atomic.Uint64
	// IdleCloses counts connections closed by the idle or frame timeouts.
	IdleCloses atomic.Uint64
	// ProtocolCloses counts connections failed by the frame parser (1002, 1003, 1007,
	// 1009).
	ProtocolCloses atomic.Uint64
	// ForcedCloses counts connections torn down without a completed closing
	// handshake (peer gone, reset, close timeout, Shutdown deadline).
	ForcedCloses atomic.Uint64
}

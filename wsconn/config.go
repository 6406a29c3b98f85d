package wsconn

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Config configures a Server. The zero value of every field means its default (see
// DefaultConfig for the values and the reason for each); New validates the result
// once.
type Config struct {
	// Workers is the number of goroutines that read, parse, dispatch and flush
	// connections. Zero means 4*GOMAXPROCS, at least 4.
	Workers int
	// MaxMessage is the largest text message accepted, in bytes, after reassembly of
	// fragments and after inflation. Zero means 64 KiB (API.md). One byte more closes
	// the connection with 1009.
	MaxMessage int
	// WriteQueue bounds the frames queued for one connection. Zero means 256. A Send
	// that would exceed it closes the connection with 1008 "too slow".
	WriteQueue int
	// WriteQueueBytes bounds the wire bytes queued for one connection (uncompressed
	// size). Zero means 4 MiB. A single frame larger than the bound is still accepted
	// by an empty queue.
	WriteQueueBytes int
	// WriteDelay, when positive, lets frames sent with Conn.SendDelayed to a
	// connection that was written to less than this long ago wait for the next tick
	// of this period, so that frames of several events reach a busy socket in one
	// writev: a busy room's receivers then cost a fraction of a system call per frame
	// instead of one (each small write costs several µs, most of it waking the
	// reader). Quiet connections are written at once; Send and SendBatch never wait.
	// Zero (the default) flushes at once.
	WriteDelay time.Duration
	// PingInterval is how long a connection may stay silent before the server pings
	// it, and the minimum time between two pings. Zero means 25 s (API.md).
	PingInterval time.Duration
	// IdleTimeout closes (1001) a connection that sent nothing, not even a pong, for
	// that long. Zero means 60 s (API.md). It must exceed PingInterval.
	IdleTimeout time.Duration
	// FrameTimeout closes (1008) a connection whose frame or fragmented message stays
	// incomplete, without any message completing, for that long: the slowloris bound
	// after the upgrade. Zero means 10 s. Slow handshakes are bounded before the
	// upgrade by the http.Server's ReadHeaderTimeout, which the API must set.
	FrameTimeout time.Duration
	// CloseTimeout is how long the server waits, after sending a close frame, for the
	// peer's close frame or EOF before releasing the socket. Zero means 3 s.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds the write of the 101 response. Zero means 5 s.
	HandshakeTimeout time.Duration
	// DisableCompression refuses permessage-deflate even when the client offers it.
	// The zero value accepts it (with no context takeover in both directions) only
	// for clients that offer it.
	DisableCompression bool
	// ReadBufferSize is the size of each worker's read buffer. Zero means 64 KiB.
	ReadBufferSize int
	// ReadBudget is how many bytes a worker reads from one connection before it
	// serves others. Zero means 256 KiB.
	ReadBudget int
	// SocketSendBuffer sets SO_SNDBUF on upgraded sockets when positive. Zero keeps
	// the kernel's default (auto-tuned).
	SocketSendBuffer int
	// Logger receives the package's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the configuration used for zero fields, with a reason per
// value.
func DefaultConfig() Config {
	return Config{
		// Reading and flushing are CPU work on non-blocking sockets, so GOMAXPROCS
		// workers would do; the slack keeps connections served while a handler
		// blocks briefly.
		Workers: max(4, 4*runtime.GOMAXPROCS(0)),
		// API.md: frames over 64 KiB are refused with 1009.
		MaxMessage: 64 << 10,
		// A few seconds of a busy room; beyond that the client is better served by
		// reconnecting and resuming by seq than by an ever longer queue.
		WriteQueue:      256,
		WriteQueueBytes: 4 << 20,
		// API.md: the server pings every 25 s and closes after 60 s of silence.
		PingInterval: 25 * time.Second,
		IdleTimeout:  60 * time.Second,
		// A frame of at most 64 KiB completes in well under a second on any link a
		// chat client is usable on.
		FrameTimeout: 10 * time.Second,
		// Browsers answer a close frame at once; more is a peer that is gone.
		CloseTimeout:     3 * time.Second,
		HandshakeTimeout: 5 * time.Second,
		// One read system call can drain a busy socket; 64 KiB is also MaxMessage.
		ReadBufferSize: 64 << 10,
		// Four buffers per turn, so that one chatty peer cannot starve the others.
		ReadBudget: 256 << 10,
	}
}

// withDefaults fills zero fields from DefaultConfig and validates the result.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	setDefault(&c.Workers, d.Workers)
	setDefault(&c.MaxMessage, d.MaxMessage)
	setDefault(&c.WriteQueue, d.WriteQueue)
	setDefault(&c.WriteQueueBytes, d.WriteQueueBytes)
	setDefault(&c.PingInterval, d.PingInterval)
	setDefault(&c.IdleTimeout, d.IdleTimeout)
	setDefault(&c.FrameTimeout, d.FrameTimeout)
	setDefault(&c.CloseTimeout, d.CloseTimeout)
	setDefault(&c.HandshakeTimeout, d.HandshakeTimeout)
	setDefault(&c.ReadBufferSize, d.ReadBufferSize)
	setDefault(&c.ReadBudget, d.ReadBudget)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Workers < 0, c.MaxMessage < 0, c.WriteQueue < 0, c.WriteQueueBytes < 0, c.WriteDelay < 0,
		c.ReadBufferSize < 0, c.ReadBudget < 0, c.SocketSendBuffer < 0:
		return c, fmt.Errorf("wsconn: negative size in config")
	case c.PingInterval < 0, c.IdleTimeout < 0, c.FrameTimeout < 0, c.CloseTimeout < 0,
		c.HandshakeTimeout < 0:
		return c, fmt.Errorf("wsconn: negative duration in config")
	case c.IdleTimeout <= c.PingInterval:
		return c, fmt.Errorf("wsconn: IdleTimeout (%v) must exceed PingInterval (%v)",
			c.IdleTimeout, c.PingInterval)
	case c.MaxMessage > 1<<30:
		return c, fmt.Errorf("wsconn: MaxMessage %d over 1 GiB", c.MaxMessage)
	}
	return c, nil
}

// sweepInterval is how often the keepalive sweep runs: a fraction of the shortest
// timeout, so that timeouts fire late by at most that fraction.
func (c Config) sweepInterval() time.Duration {
	d := min(c.PingInterval, c.IdleTimeout, c.FrameTimeout, c.CloseTimeout) / 5
	return min(max(d, 5*time.Millisecond), time.Second)
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

package api

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts of the node's HTTP server. Slow clients are bounded before the upgrade
// here; after it, wsconn bounds them (partial frames, idle connections).
const (
	// ReadHeaderTimeout bounds how long a client may take to send its request line
	// and headers: a slowloris handshake holds a socket for at most this long.
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes keep-alive HTTP connections that sit unused.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds request headers (a JWT fits many times over).
	MaxHeaderBytes = 64 << 10
)

// NewHTTPServer returns the http.Server a node serves its API and WebSocket upgrades
// with, its timeouts set: the standard library's zero values would let a client that
// never finishes its headers hold a connection (and a goroutine) forever. No
// WriteTimeout: responses are small and WebSocket connections leave net/http at the
// upgrade.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

package api

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// accessLog logs every request at debug level: method, path (never the query, which
// may carry a token), status, bytes written, duration and request id. With debug
// off (the default) it returns next itself, so the hot path pays nothing.
func (s *Server) accessLog(next http.Handler) http.Handler {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.reqLog(r).Debug("request", "method", r.Method, "path", r.URL.Path,
			"status", rec.statusCode(), "bytes", rec.bytes, "duration", time.Since(start))
	})
}

// statusRecorder remembers a response's status and size. It passes Hijack and Flush
// through: the WebSocket upgrade asserts http.Hijacker on the writer it is given.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Hijack hands over the connection (a WebSocket upgrade, logged as 101).
func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Flush sends what is buffered, for streamed responses.
func (w *statusRecorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) statusCode() int {
	switch {
	case w.hijacked:
		return http.StatusSwitchingProtocols
	case w.status == 0:
		return http.StatusOK
	}
	return w.status
}

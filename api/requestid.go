package api

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
)

// requestIDHeader carries a request's id: taken from the client or a proxy in front
// when it is sane, generated otherwise, and always echoed in the response, so a user's
// report ("request 3f2a... failed") leads to the node's log line.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming id: it ends up in logs, so it must not be a vector
// for log flooding or injection.
const maxRequestIDLen = 64

type requestIDKey struct{}

// withRequestID gives every request an id in its context and response header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// requestID returns the id withRequestID gave the request ("" outside a request).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts 1-64 characters of [A-Za-z0-9._:-]: what proxies and tracing
// headers use, and nothing that could break a log line.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// newRequestID is 16 hex digits: unique enough to find a line in a node's logs, and
// cheap (no crypto: the id is not a secret).
func newRequestID() string {
	var b [16]byte
	s := strconv.AppendUint(b[:0], rand.Uint64()|1<<63, 16)
	return string(s[:16])
}

// reqLog is the server's logger with the request's id, for lines about one request.
func (s *Server) reqLog(r *http.Request) *slog.Logger {
	if id := requestID(r.Context()); id != "" {
		return s.log.With("request_id", id)
	}
	return s.log
}

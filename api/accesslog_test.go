package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With debug logging every request leaves one line with its id and status (never the
// query); without it the handler is not wrapped at all.
func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h := withRequestID(s.accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	})))
	req := httptest.NewRequest("GET", "/rooms/x?access_token=secret", nil)
	req.Header.Set(requestIDHeader, "edge-42")
	h.ServeHTTP(httptest.NewRecorder(), req)
	line := buf.String()
	for _, want := range []string{"msg=request", "request_id=edge-42", "path=/rooms/x", "status=418", "bytes=15"} {
		if !strings.Contains(line, want) {
			t.Errorf("access line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "secret") {
		t.Errorf("access line %q carries the query", line)
	}

	quiet := &Server{log: slog.New(slog.NewTextHandler(&buf, nil))}
	if _, same := quiet.accessLog(plainHandler{}).(plainHandler); !same {
		t.Error("with debug off the handler was wrapped")
	}
}

type plainHandler struct{}

func (plainHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

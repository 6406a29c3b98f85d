package api

import (
	"io"
	"net"
	"testing"
	"time"
)

// A slowloris handshake (headers that never end) is cut by the server's header
// timeout instead of holding the connection.
func TestSlowlorisHandshakeIsCut(t *testing.T) {
	e := newEnv(t, "embedded")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer("", e.api.Handler(), nil)
	hs.ReadHeaderTimeout = 300 * time.Millisecond
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn) // the server answers (408) and closes, or just closes
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow handshake held for %v", d)
	}
}

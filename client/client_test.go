package client

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/chatd/chatd/chat"
)

// A command without an answer is resent unchanged: masking must not alter the frame
// the client keeps for resending (it once did, and every resend was garbage).
func TestResendIsTheSameFrame(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 4)
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		for { // reads, never answers
			m, err := wsutil.ReadClientText(conn)
			if err != nil {
				return
			}
			got <- m
		}
	}))
	c := New(Config{URL: "http://" + l.Addr().String(), Token: "t", ResendAfter: 200 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go c.SendWithID(ctx, chat.NewID(), "hello", "cmid-1")
	first := <-got
	select {
	case second := <-got:
		if string(first) != string(second) {
			t.Fatalf("resend %q differs from the first send %q", second, first)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no valid resend reached the server")
	}
}

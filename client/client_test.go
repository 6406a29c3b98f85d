package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
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

// A message_created at or below the room's last seq is dropped for an application
// and passed on with KeepRepeats, so that a checker of the server can count it.
func TestRepeatsDroppedUnlessKept(t *testing.T) {
	room := chat.NewID()
	frames := []int64{1, 2, 2, 1, 3}
	tests := []struct {
		keep bool
		want []int64
	}{
		{false, []int64{1, 2, 3}},
		{true, []int64{1, 2, 2, 1, 3}},
	}
	for _, tt := range tests {
		var got []int64
		c := &Client{rooms: map[chat.ID]int64{room: 0}, cfg: Config{
			KeepRepeats: tt.keep,
			OnEvent: func(ev Event) {
				var m struct {
					Message struct{ Seq int64 } `json:"message"`
				}
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					t.Fatal(err)
				}
				got = append(got, m.Message.Seq)
			},
		}}
		for _, seq := range frames {
			c.dispatch(fmt.Appendf(nil, `{"type":"message_created","data":{"room_id":%q,"message":{"seq":%d}}}`, room, seq))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("KeepRepeats=%v: delivered %v, want %v", tt.keep, got, tt.want)
		}
	}
}

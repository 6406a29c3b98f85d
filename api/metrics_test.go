package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/chat"
)

// TestMetricsExposeTheAPIFamilies checks the families an operator's dashboard reads
// move with real traffic: a WebSocket subscriber, a message fanned out to it.
func TestMetricsExposeTheAPIFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnvWith(t, "embedded", func(c *Config) { c.Gatherer, c.Registerer = reg, reg })
	u := e.register("metrics")
	room := u.newGroupRoom(chat.RoomPublic)
	cl, rec := u.wsConnect(t)
	if _, err := cl.Join(ctx5(t), room.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Send(ctx5(t), room.ID, "measured"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message", 5*time.Second, func() bool { return len(rec.seqsOf(room.ID)) == 1 })

	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		"chatd_connections 1",
		"chatd_fanout_seconds_count 1",
		"chatd_ws_frames_in_total",
		"chatd_slow_consumer_disconnects_total 0",
		"chatd_rate_limited_total 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

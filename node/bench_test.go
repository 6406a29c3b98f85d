package node

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// BenchmarkSend measures the owner's send path (sequence, group commit, durable ack)
// on each store, with group commit and with one message per transaction. Senders run
// in parallel over 64 rooms; msgs/s is the figure the README quotes.
//
//	go test -run '^$' -bench BenchmarkSend -benchtime 3s ./node
func BenchmarkSend(b *testing.B) {
	for _, kind := range []string{"postgres", "embedded"} {
		for _, mode := range []struct {
			name  string
			batch int
		}{{"group-commit", 0}, {"no-group-commit", 1}} {
			b.Run(kind+"/"+mode.name, func(b *testing.B) {
				benchSend(b, kind, Config{Name: "bench", CommitMaxBatch: mode.batch})
			})
		}
	}
}

func benchSend(b *testing.B, kind string, cfg Config) {
	s := openStore(b, kind)
	n, err := New(cfg, s, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	u := newUser(b, s)
	rooms := make([]chat.ID, 64)
	for i := range rooms {
		rooms[i] = newRoom(b, s, chat.RoomPublic, u)
		if _, _, err := n.Send(ctx, textReq(rooms[i], u, "warm")); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(16) // many concurrent senders, as many connections would be
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			req := textReq(rooms[i%int64(len(rooms))], u, fmt.Sprintf("message %d", i))
			if _, _, err := n.Send(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

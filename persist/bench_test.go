package persist

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
)

// BenchmarkCommitBatch measures the group commit, the hot path of every message:
// one CommitBatch of size messages spread over up to 16 rooms (a node's shard
// gathers many rooms' messages), reported as msgs/s. The Postgres cluster of the
// tests runs with fsync off, so its numbers show the store's CPU and round-trip
// cost, not a disk's; the embedded store fsyncs every commit (synchronous=FULL).
func BenchmarkCommitBatch(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"postgres", func(b *testing.B) Store {
			s, err := OpenPostgres(context.Background(), testsvc.PostgresURL(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"embedded", func(b *testing.B) Store {
			s, err := OpenEmbedded(context.Background(), b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, e := range engines {
		for _, size := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("%s/batch=%d", e.name, size), func(b *testing.B) {
				s := e.open(b)
				defer s.Close()
				benchCommit(b, s, size)
			})
		}
	}
}

func benchCommit(b *testing.B, s Store, size int) {
	ctx := context.Background()
	u := chat.User{ID: chat.NewID(), Username: "bench", DisplayName: "Bench", CreatedAt: chat.Now()}
	if err := s.CreateUser(ctx, &u, "h"); err != nil {
		b.Fatal(err)
	}
	nRooms := min(size, 16)
	batches := make([]RoomBatch, nRooms)
	for i := range batches {
		r := chat.Room{ID: chat.NewID(), Name: fmt.Sprintf("bench %d", i), Type: chat.RoomPublic, CreatedBy: u.ID, CreatedAt: chat.Now()}
		if err := s.CreateRoom(ctx, &r); err != nil {
			b.Fatal(err)
		}
		epoch, last, err := s.AcquireRoom(ctx, r.ID, "bench")
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = RoomBatch{RoomID: r.ID, Epoch: epoch, PrevSeq: last}
	}
	content := "a typical chat message of a few dozen characters, with a link https://example.com"
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		for i := range batches {
			batches[i].Messages = batches[i].Messages[:0]
		}
		now := chat.Now()
		for j := 0; j < size; j++ {
			bt := &batches[j%nRooms]
			bt.Messages = append(bt.Messages, &chat.Message{ID: chat.NewID(), RoomID: bt.RoomID,
				Seq: bt.PrevSeq + int64(len(bt.Messages)) + 1, Sender: chat.User{ID: u.ID}, Type: chat.MessageText,
				Content: content, ContentHTML: "<p>" + content + "</p>", CreatedAt: now})
		}
		res, err := s.CommitBatch(ctx, batches)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r != nil {
				b.Fatalf("room %d: %v", i, r)
			}
			batches[i].PrevSeq += int64(len(batches[i].Messages))
		}
	}
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "msgs/s")
}

package node

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatd/chatd/chat"
)

// BenchmarkSendSenders finds the group commit's throughput ceiling: a fixed number of
// closed-loop senders (each waits for its ack before the next send) over 256 rooms.
// More senders in flight means bigger batches per transaction, until the CPU or the
// store's fsync is the bound. Reports msgs/s and the acknowledgement p99.
//
//	CHATD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable \
//	  go test -run '^$' -bench BenchmarkSendSenders -benchtime 20000x ./node
func BenchmarkSendSenders(b *testing.B) {
	for _, senders := range []int{32, 128, 512} {
		b.Run(fmt.Sprintf("postgres/senders=%d", senders), func(b *testing.B) {
			n, rooms, u := benchNode(b, 256)
			hist := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
			var mu sync.Mutex
			var next sync.WaitGroup
			work := make(chan int, senders)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for s := 0; s < senders; s++ {
				next.Add(1)
				go func() {
					defer next.Done()
					for i := range work {
						t0 := time.Now()
						if _, _, err := n.Send(context.Background(), textReq(rooms[i%len(rooms)], u, fmt.Sprintf("m %d", i))); err != nil {
							b.Error(err)
						}
						mu.Lock()
						_ = hist.RecordValue(time.Since(t0).Microseconds())
						mu.Unlock()
					}
				}()
			}
			for i := 0; i < b.N; i++ {
				work <- i
			}
			close(work)
			next.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(hist.ValueAtQuantile(99))/1000, "ack-p99-ms")
			b.ReportMetric(float64(hist.ValueAtQuantile(50))/1000, "ack-p50-ms")
		})
	}
}

// BenchmarkSendAtRate offers messages at fixed rates (open loop: a send starts on
// schedule whether or not earlier ones were acknowledged, and its latency counts from
// the schedule, so a stalled store cannot hide its queue) for 5 s each, and reports the
// acknowledgement latency. Rates come from CHATD_BENCH_RATES (msgs/s, comma-separated);
// set them to 50% and 90% of BenchmarkSendSenders' ceiling. b.N is ignored.
//
//	CHATD_BENCH_RATES=10000,18000 CHATD_TEST_POSTGRES_URL=... \
//	  go test -run '^$' -bench BenchmarkSendAtRate -benchtime 1x ./node
func BenchmarkSendAtRate(b *testing.B) {
	rates := []int{2000}
	if env := os.Getenv("CHATD_BENCH_RATES"); env != "" {
		rates = rates[:0]
		for _, f := range strings.Split(env, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || r <= 0 {
				b.Fatalf("CHATD_BENCH_RATES: bad rate %q", f)
			}
			rates = append(rates, r)
		}
	}
	for _, rate := range rates {
		b.Run(fmt.Sprintf("postgres/rate=%d", rate), func(b *testing.B) {
			n, rooms, u := benchNode(b, 256)
			hist, sent, elapsed := offerAtRate(b, n, rooms, u, rate, 5*time.Second)
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
			for _, q := range []float64{50, 99, 99.9} {
				b.ReportMetric(float64(hist.ValueAtQuantile(q))/1000, fmt.Sprintf("ack-p%g-ms", q))
			}
			b.ReportMetric(float64(hist.Max())/1000, "ack-max-ms")
		})
	}
}

// offerAtRate sends at rate msgs/s for d, ticking every millisecond, with at most
// 8192 sends in flight (past that the node is hopelessly behind and the run says so).
func offerAtRate(b *testing.B, n *Node, rooms []chat.ID, u chat.User, rate int, d time.Duration) (*hdrhistogram.Histogram, int, time.Duration) {
	hist := hdrhistogram.New(1, int64(30*time.Second/time.Microsecond), 3)
	var mu sync.Mutex
	var wg sync.WaitGroup
	inflight := make(chan struct{}, 8192)
	start := time.Now()
	sent := 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for now := range tick.C {
		el := now.Sub(start)
		if el >= d {
			break
		}
		for due := int(el.Seconds() * float64(rate)); sent < due; sent++ {
			sched := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			select {
			case inflight <- struct{}{}:
			default:
				b.Fatalf("rate %d: 8192 sends in flight; the node cannot keep up", rate)
			}
			wg.Add(1)
			go func(i int) {
				defer func() { <-inflight; wg.Done() }()
				if _, _, err := n.Send(context.Background(), textReq(rooms[i%len(rooms)], u, fmt.Sprintf("r %d", i))); err != nil {
					b.Error(err)
				}
				mu.Lock()
				_ = hist.RecordValue(time.Since(sched).Microseconds())
				mu.Unlock()
			}(sent)
		}
	}
	wg.Wait()
	return hist, sent, time.Since(start)
}

// benchNode is a node on the harness's Postgres (CHATD_TEST_POSTGRES_URL points it at
// a durable one) with rooms rooms, each warmed so ownership is settled.
func benchNode(b *testing.B, rooms int) (*Node, []chat.ID, chat.User) {
	s := openStore(b, "postgres")
	n, err := New(Config{Name: "bench", CommitShards: benchShards()}, s, quiet)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	u := newUser(b, s)
	ids := make([]chat.ID, rooms)
	for i := range ids {
		ids[i] = newRoom(b, s, chat.RoomPublic, u)
		if _, _, err := n.Send(context.Background(), textReq(ids[i], u, "warm")); err != nil {
			b.Fatal(err)
		}
	}
	return n, ids, u
}

// benchShards is CHATD_BENCH_SHARDS (group-commit shards), 0 for the default.
func benchShards() int {
	v, _ := strconv.Atoi(os.Getenv("CHATD_BENCH_SHARDS"))
	return v
}

package node

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPeerLink measures one link over loopback: frames/s and bytes/s from
// Send to the handler, and allocations per frame end to end (Send, writer, reader).
// The sender keeps at most peerBenchWindow bytes in flight, as a node under load
// does through its queue bound, so the numbers are sustained, not a burst into
// memory.
func BenchmarkPeerLink(b *testing.B) {
	for _, size := range []int{100, 4096} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) { benchPeerLink(b, size) })
	}
}

const peerBenchWindow = 4 << 20

func benchPeerLink(b *testing.B, size int) {
	h := &peerCountingHandler{}
	a := startPeers(b, "a", &peerCountingHandler{}, func(c *PeerConfig) { c.QueueBytes = 2 * peerBenchWindow })
	dst := startPeers(b, "b", h)
	payload := make([]byte, size)
	if err := a.Send("b", dst.Addr(), 7, payload); err != nil {
		b.Fatal(err)
	}
	peerWaitFor(b, 5*time.Second, "the link", func() bool { return h.frames.Load() == 1 })
	window := int64(peerBenchWindow / (size + peerFrameHeader))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range int64(b.N) {
		for i%256 == 0 && i-(h.frames.Load()-1) > window {
			time.Sleep(20 * time.Microsecond)
		}
		if err := a.Send("b", dst.Addr(), 7, payload); err != nil {
			b.Fatal(err)
		}
	}
	for h.frames.Load() < int64(b.N)+1 {
		time.Sleep(20 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

// BenchmarkPeerLinkParallel is BenchmarkPeerLink with 100-byte frames sent by many
// goroutines at once to one peer, as the rooms of a busy owner do: it measures the
// contention on the link's queue lock.
func BenchmarkPeerLinkParallel(b *testing.B) {
	const size = 100
	h := &peerCountingHandler{}
	a := startPeers(b, "a", &peerCountingHandler{}, func(c *PeerConfig) { c.QueueBytes = 2 * peerBenchWindow })
	dst := startPeers(b, "b", h)
	payload := make([]byte, size)
	if err := a.Send("b", dst.Addr(), 7, payload); err != nil {
		b.Fatal(err)
	}
	peerWaitFor(b, 5*time.Second, "the link", func() bool { return h.frames.Load() == 1 })
	window := int64(peerBenchWindow / (size + peerFrameHeader))
	var sent atomic.Int64
	b.SetBytes(size)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			for i%64 == 0 && sent.Load()-(h.frames.Load()-1) > window {
				time.Sleep(20 * time.Microsecond)
			}
			if err := a.Send("b", dst.Addr(), 7, payload); err != nil {
				b.Error(err)
				return
			}
			sent.Add(1)
		}
	})
	for h.frames.Load() < sent.Load()+1 {
		time.Sleep(20 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(sent.Load())/time.Since(start).Seconds(), "frames/s")
}

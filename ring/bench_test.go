package ring

import (
	"fmt"
	"sync"
	"testing"

	"github.com/buraksezer/consistent"
)

// sink keeps benchmark results alive so that the compiler cannot drop the calls.
var sink string

// TestLookupsDoNotAllocate guards the hot path: owner lookups run for every
// forwarded message and must not allocate (STYLE.md 10).
func TestLookupsDoNotAllocate(t *testing.T) {
	r := New(Config{}, 1, names("chatd-", 5))
	key := []byte("room:0123456789abcdef")
	var id [16]byte
	for name, f := range map[string]func(){
		"Owner":          func() { sink = r.Owner(key) },
		"RoomOwner":      func() { sink = r.RoomOwner(id) },
		"UserHome":       func() { sink = r.UserHome(id) },
		"Partition":      func() { _ = r.Partition(key) },
		"RoomPartition":  func() { _ = r.RoomPartition(id) },
		"PartitionOwner": func() { sink = r.PartitionOwner(7) },
		"Contains":       func() { _ = r.Contains("chatd-3") },
		"Version":        func() { _ = r.Version() },
		"nil Owner":      func() { sink = (*Ring)(nil).RoomOwner(id) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s allocates %.0f times per call", name, n)
		}
	}
}

// BenchmarkOwner measures the hot-path lookups against the library's LocateKey,
// which takes a read lock per call.
func BenchmarkOwner(b *testing.B) {
	members := names("chatd-", 5)
	r := New(Config{}, 1, members)
	ms := make([]consistent.Member, len(members))
	for i, n := range members {
		ms[i] = Member{Name: n}
	}
	cfg := r.Config()
	lib := consistent.New(ms, consistent.Config{Hasher: hasher{}, PartitionCount: cfg.PartitionCount,
		ReplicationFactor: cfg.ReplicationFactor, Load: cfg.Load})
	key := []byte("room:0123456789abcdef")
	id := [16]byte{1, 2, 3}

	b.Run("Owner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = r.Owner(key)
		}
	})
	b.Run("RoomOwner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = r.RoomOwner(id)
		}
	})
	b.Run("UserHome", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = r.UserHome(id)
		}
	})
	b.Run("library-LocateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = lib.LocateKey(key).(Member).Name
		}
	})
	b.Run("RoomOwner-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var s string
			for pb.Next() {
				s = r.RoomOwner(id)
			}
			sinkMu.Lock()
			sink = s
			sinkMu.Unlock()
		})
	})
	b.Run("library-LocateKey-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var s string
			for pb.Next() {
				s = lib.LocateKey(key).(Member).Name
			}
			sinkMu.Lock()
			sink = s
			sinkMu.Unlock()
		})
	})
}

// sinkMu guards sink in parallel benchmarks.
var sinkMu sync.Mutex

// BenchmarkNew measures a build, which happens once per membership change.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		members := names("chatd-", n)
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				New(Config{}, 1, members)
			}
		})
	}
}

// BenchmarkMovedPartitions measures the diff a node computes on every change.
func BenchmarkMovedPartitions(b *testing.B) {
	before, after := New(Config{}, 1, names("chatd-", 5)), New(Config{}, 2, names("chatd-", 6))
	b.ReportAllocs()
	for b.Loop() {
		_ = MovedPartitions(before, after)
	}
}

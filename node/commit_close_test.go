package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// TestCloseDuringSends closes a node while senders are still sending: every send
// either commits or is refused (never a panic on a closed shard), and nothing is sent
// after Close returns. Found by BenchmarkSendAtRate when a run gave up mid-flight.
func TestCloseDuringSends(t *testing.T) {
	s := openStore(t, "embedded")
	n, err := New(Config{Name: "close", CommitShards: 2, CommitQueue: 4}, s, quiet)
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, s)
	room := newRoom(t, s, chat.RoomPublic, u)
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	start := make(chan struct{})
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 50; i++ {
				_, _, err := n.Send(context.Background(), textReq(room, u, fmt.Sprintf("g%d m%d", g, i)))
				kind := "committed"
				if err != nil {
					kind = "refused"
				}
				mu.Lock()
				outcomes[kind]++
				mu.Unlock()
			}
		}()
	}
	close(start)
	waitFor(t, 10*time.Second, "some commits", func() error {
		mu.Lock()
		defer mu.Unlock()
		if outcomes["committed"] <= 20 {
			return fmt.Errorf("%d committed", outcomes["committed"])
		}
		return nil
	})
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcomes)
	if outcomes["refused"] == 0 {
		t.Errorf("every send committed: Close came too late to test anything (%v)", outcomes)
	}
}

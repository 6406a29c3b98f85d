package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
)

// BenchmarkWSFanout measures deliveries per second from one room to many local
// WebSocket subscribers over real loopback sockets: each message is encoded once by
// the node's fan-out and written to every subscriber. Subscribers default to 5,000
// (10,000 descriptors in this process with their client ends).
//
//	go test -run '^$' -bench BenchmarkWSFanout -benchtime 20x ./api
func BenchmarkWSFanout(b *testing.B) {
	for _, subs := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { benchFanout(b, subs) })
	}
}

func benchFanout(b *testing.B, subs int) {
	e := newEnv(b, "embedded")
	owner := e.register("fanown")
	room := owner.newGroupRoom(chat.RoomPublic)
	var received atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, subs)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	// One member joins; its token serves every connection (the per-user cap is raised).
	e.api.hub.maxPerUser = subs + 10
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + owner.token}})}
	join := fmt.Sprintf(`{"type":"join_room","id":"j","data":{"room_id":%q}}`, room.ID)
	for i := 0; i < subs; i++ {
		conn, br, _, err := d.Dial(context.Background(), u)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, conn)
		if br == nil {
			br = bufio.NewReaderSize(conn, 4096)
		}
		if err := ws.WriteFrame(conn, ws.MaskFrameInPlace(ws.NewTextFrame([]byte(join)))); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			countMessages(br, &received)
		}()
	}
	waitFor(b, "subscribers joined", 60*time.Second, func() bool {
		e.api.hub.mu.Lock()
		defer e.api.hub.mu.Unlock()
		f := e.api.hub.rooms[room.ID]
		if f == nil {
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.members) == subs
	})
	received.Store(0)
	b.ResetTimer()
	start := time.Now()
	// Senders run concurrently, as a busy room's members would: the group commit
	// batches them and the fan-out writes each batch's frames to every subscriber.
	var sends sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		sends.Add(1)
		go func(i int) {
			defer func() { <-sem; sends.Done() }()
			e.sendDirect(b, room.ID, owner, fmt.Sprintf("fan-out %d", i))
		}(i)
	}
	sends.Wait()
	want := int64(b.N) * int64(subs)
	waitFor(b, "every delivery", 120*time.Second, func() bool { return received.Load() >= want })
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
}

// countMessages reads server frames until the connection ends, counting the
// message_created ones.
func countMessages(br *bufio.Reader, n *atomic.Int64) {
	marker := []byte(`"message_created"`)
	buf := make([]byte, 0, 1024)
	for {
		hdr, err := ws.ReadHeader(br)
		if err != nil {
			return
		}
		if int64(cap(buf)) < hdr.Length {
			buf = make([]byte, hdr.Length)
		}
		buf = buf[:hdr.Length]
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		if hdr.OpCode == ws.OpText && len(buf) > 30 && strings.Contains(string(buf[:30]), string(marker)) {
			n.Add(1)
		}
	}
}

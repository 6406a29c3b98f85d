// Command server is the server half of the idle-connection memory benchmark
// (scripts/wsidle/run.sh): it holds WebSocket connections with wsconn, joins each
// to a room of a room-like map (as the API does), and reports its resident memory
// and goroutine count at /stats.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	_ "net/http/pprof" // heap profiles of the benchmark at /debug/pprof/
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chatd/chatd/wsconn"
	"github.com/gobwas/ws"
)

// rooms is the "joined a room" state an API node keeps per connection: a room id
// in the connection's user data and the connection in the room's member set.
type rooms struct {
	mu    sync.Mutex
	rooms map[string]map[*wsconn.Conn]struct{}
}

type member struct{ room string }

func (r *rooms) join(c *wsconn.Conn) {
	m := c.UserData().(*member)
	r.mu.Lock()
	set := r.rooms[m.room]
	if set == nil {
		set = map[*wsconn.Conn]struct{}{}
		r.rooms[m.room] = set
	}
	set[c] = struct{}{}
	r.mu.Unlock()
}

func (r *rooms) OnMessage(c *wsconn.Conn, data []byte) { _ = c.Send(wsconn.NewTextFrame(data)) }

func (r *rooms) OnClose(c *wsconn.Conn, _ ws.StatusCode, _ string) {
	m := c.UserData().(*member)
	r.mu.Lock()
	delete(r.rooms[m.room], c)
	r.mu.Unlock()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9300", "listen address")
	nrooms := flag.Int("rooms", 100, "number of rooms the connections are spread over")
	flag.Parse()

	rs := &rooms{rooms: map[string]map[*wsconn.Conn]struct{}{}}
	srv, err := wsconn.New(wsconn.Config{}, rs)
	if err != nil {
		log.Fatal(err)
	}
	var joined int
	var jmu sync.Mutex
	mux := http.DefaultServeMux
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		jmu.Lock()
		room := "room-" + strconv.Itoa(joined%*nrooms)
		joined++
		jmu.Unlock()
		c, err := srv.Upgrade(w, r, &member{room: room})
		if err != nil {
			return
		}
		rs.join(c)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") != "" { // return freed memory first
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := srv.Stats()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"conns":       srv.Len(),
			"goroutines":  runtime.NumGoroutine(),
			"rss_bytes":   rss(),
			"heap_inuse":  ms.HeapInuse,
			"heap_alloc":  ms.HeapAlloc,
			"stack_inuse": ms.StackInuse,
			"sys":         ms.Sys,
			"upgrades":    st.Upgrades.Load(),
			"pings_sent":  st.PingsSent.Load(),
		})
	})
	hs := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	_ = srv.Shutdown(ctx, wsconn.CloseServiceRestart, "bye")
}

// rss reads the resident set size from /proc/self/status.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

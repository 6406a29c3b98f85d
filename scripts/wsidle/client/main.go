// Command client is the client half of the idle-connection memory benchmark
// (scripts/wsidle/run.sh): it opens N WebSocket connections from several 127.0.0.x
// source addresses, answers pings, and otherwise keeps them idle until killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:9300/ws", "server WebSocket URL")
	n := flag.Int("n", 15000, "connections to open")
	sources := flag.Int("sources", 4, "source addresses 127.0.0.2 ... 127.0.0.(1+sources)")
	par := flag.Int("parallel", 32, "concurrent dials")
	flag.Parse()

	var opened, failed atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				if err := open(*url, net.IPv4(127, 0, 0, byte(2+int(i)%*sources))); err != nil {
					if failed.Add(1) <= 5 {
						log.Printf("dial %d: %v", i, err)
					}
					continue
				}
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("opened %d connections (%d failed)\n", opened.Load(), failed.Load())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

// open dials one connection from src and starts its reader, which answers pings.
func open(url string, src net.IP) error {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nd.DialContext(ctx, network, addr)
	}}
	conn, br, _, err := d.Dial(context.Background(), url)
	if err != nil {
		return err
	}
	if br != nil {
		ws.PutReader(br)
	}
	go func() {
		defer conn.Close()
		buf := make([]byte, 125)
		for {
			h, err := ws.ReadHeader(conn)
			if err != nil || h.Length > int64(len(buf)) { // idle: only control frames
				return
			}
			p := buf[:h.Length]
			if _, err := io.ReadFull(conn, p); err != nil {
				return
			}
			switch h.OpCode {
			case ws.OpPing:
				_ = ws.WriteFrame(conn, ws.MaskFrameInPlace(ws.NewPongFrame(p)))
			case ws.OpClose:
				return
			}
		}
	}()
	return nil
}

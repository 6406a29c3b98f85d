package api

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/wsconn"
)

// commandTimeout bounds the handling of one command (a send waits for durability).
const commandTimeout = 30 * time.Second

// wsClient is one WebSocket connection's protocol state.
type wsClient struct {
	hub *wsHub
	// conn is set once the upgrade returns; until then events for the user (the
	// client is already registered with the hub) are not sent to it.
	conn atomic.Pointer[wsconn.Conn]
	sess *Session
	user chat.User
	ip   string

	closed atomic.Bool

	mu      sync.Mutex
	rooms   map[chat.ID]*roomFanout // rooms joined on this connection
	queue   [][]byte                // commands waiting for the loop
	running bool                    // a goroutine is draining queue
}

// enqueue hands a frame to the connection's command loop, starting it if idle: an
// idle connection has no goroutine, a busy one exactly one, so its commands are
// handled in the order they arrived (sends keep the sender's order).
func (c *wsClient) enqueue(data []byte) {
	frame := append([]byte(nil), data...)
	c.mu.Lock()
	if len(c.queue) >= maxQueuedCommands {
		c.mu.Unlock()
		c.close(wsconn.ClosePolicyViolation, "too many pending commands")
		return
	}
	c.queue = append(c.queue, frame)
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go c.loop()
	}
}

func (c *wsClient) loop() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed.Load() {
			c.queue = nil
			c.running = false
			c.mu.Unlock()
			return
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		c.handle(ctx, frame)
		cancel()
	}
}

// send queues a pre-encoded frame; a full queue closes the connection (1008).
func (c *wsClient) send(fs ...*wsconn.Frame) { c.write(fs, false) }

// sendDelayed is send for events that may share a write with the next ones
// (wsconn.Config.WriteDelay): room fan-out and presence. Replies use send.
func (c *wsClient) sendDelayed(fs ...*wsconn.Frame) { c.write(fs, true) }

func (c *wsClient) write(fs []*wsconn.Frame, delayed bool) {
	conn := c.conn.Load()
	if conn == nil || c.closed.Load() {
		return
	}
	if delayed {
		_ = conn.SendDelayed(fs...)
	} else {
		_ = conn.SendBatch(fs...)
	}
}

func (c *wsClient) close(code wsCode, reason string) {
	if conn := c.conn.Load(); conn != nil {
		conn.Close(code, reason)
	}
}

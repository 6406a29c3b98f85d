package wsconn

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gobwas/ws"
)

// Conn is one upgraded WebSocket connection. Its exported methods are safe for
// concurrent use. It holds no goroutine and, while idle, no buffer: about 200 bytes
// of its own plus the runtime's socket descriptor.
type Conn struct {
	srv      *Server
	nc       net.Conn
	rc       syscall.RawConn
	userData any
	fd       int32
	id       uint32 // distinguishes this connection from a later one on the same fd
	deflate  bool   // permessage-deflate negotiated

	sched        atomic.Uint32 // schedQueued and pending work, see sched.go
	closing      atomic.Bool   // Close requested; mirrors closeReq for lock-free checks
	lastRecv     atomic.Int64  // server clock when bytes last arrived
	lastPing     atomic.Int64  // server clock of the last keepalive ping
	pendingSince atomic.Int64  // server clock since a frame has been incomplete; 0 if none
	closeBy      atomic.Int64  // deadline of the closing handshake; 0 if none
	delayed      atomic.Bool   // on the server's delayed-flush list (Config.WriteDelay)
	lastWrite    atomic.Int64  // server clock of the last writev

	// Owned by the worker running the connection (one at a time, see doc.go).
	rd         *readState // nil while no frame or message is incomplete
	armed      uint32     // the armed epoll interest; 0 once the one-shot fired
	phase      connPhase
	drainRaw   bool // the input is out of sync: discard it until EOF
	peerClosed bool // the peer's close frame arrived

	mu          sync.Mutex // guards the fields below; taken by Send, Close and the worker
	q           *sendQueue // nil while nothing is queued
	pong        *Frame     // queued pong not yet being written, for coalescing
	closeReq    bool
	dropQueued  bool // the close discards unsent frames (slow consumer)
	wblocked    bool // the socket returned EAGAIN; EPOLLOUT resumes the flush
	closeCode   ws.StatusCode
	closeReason string
}

type connPhase uint8

const (
	phaseOpen    connPhase = iota
	phaseClosing           // OnClose called; the close frame is queued
	phaseClosed            // the close frame is written; waiting for the peer
	phaseDead              // the descriptor is released
)

// UserData returns the value given to Server.Upgrade.
func (c *Conn) UserData() any { return c.userData }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Compressed reports whether the connection negotiated permessage-deflate.
func (c *Conn) Compressed() bool { return c.deflate }

// Send queues f for the connection and returns at once; a worker writes it. It
// never blocks on the socket. It returns ErrClosed once the connection is closing,
// and ErrSlowConsumer when the queue bound (Config.WriteQueue frames or
// Config.WriteQueueBytes) would be exceeded: the connection is then closed with
// 1008 "too slow". Frames sent by one goroutine are written in order. Send
// allocates nothing.
func (c *Conn) Send(f *Frame) error {
	return c.SendBatch(f)
}

// SendBatch queues frames in order, as Send does each, but schedules the connection
// once: frames that are known to go out together (a burst of coalesced presence
// updates) then leave in one writev instead of racing a worker frame by frame. The
// frame bound is checked as for one Send (a batch may take the queue past
// Config.WriteQueue, since a burst is not a slow reader), the byte bound for the
// whole batch; a batch refused closes the connection as a slow consumer, and none of
// it is queued.
func (c *Conn) SendBatch(fs ...*Frame) error {
	return c.send(fs, false)
}

// SendDelayed is SendBatch for frames that may wait (room events, presence) so that
// a busy connection gets several in one write: a connection written to in the last
// Config.WriteDelay has its flush held until the next tick of that period, so it
// sees at most about one write per WriteDelay; a quiet one is flushed at once, so
// at low rates nothing waits. A Send or SendBatch meanwhile flushes at once, in
// order.
func (c *Conn) SendDelayed(fs ...*Frame) error {
	d := c.srv.cfg.WriteDelay
	last := c.lastWrite.Load() // 0: never written
	return c.send(fs, d > 0 && last != 0 && c.srv.now()-last < int64(d))
}

func (c *Conn) send(fs []*Frame, delay bool) error {
	if len(fs) == 0 {
		return nil
	}
	cfg := &c.srv.cfg
	c.mu.Lock()
	if c.closeReq {
		c.mu.Unlock()
		return ErrClosed
	}
	q := c.queueLocked()
	size := 0
	for _, f := range fs {
		size += f.Len()
	}
	if n := q.len(); n >= cfg.WriteQueue || (n > 0 && q.bytes+size > cfg.WriteQueueBytes) {
		c.requestCloseLocked(ClosePolicyViolation, ReasonTooSlow, true)
		c.mu.Unlock()
		c.srv.stats.SlowConsumerCloses.Add(1)
		c.srv.stats.FramesDropped.Add(uint64(len(fs)))
		c.srv.schedule(c, schedClose)
		return ErrSlowConsumer
	}
	for _, f := range fs {
		q.push(f)
	}
	blocked := c.wblocked
	c.mu.Unlock()
	switch {
	case blocked: // EPOLLOUT resumes the flush
	case delay:
		if c.delayed.CompareAndSwap(false, true) {
			c.srv.delayq.add(c)
		}
	default:
		c.srv.schedule(c, schedFlush)
	}
	return nil
}

// Close closes the connection with code and reason (at most 123 bytes; longer is
// cut): frames already queued are written, then the close frame, then the socket is
// released when the peer answers or after Config.CloseTimeout. Handler.OnClose is
// called once, from a worker. Only the first Close (or failure) counts; later
// calls do nothing. Close never blocks and may be called from a handler.
// CloseAbnormal (1006) aborts: no close frame is sent.
func (c *Conn) Close(code ws.StatusCode, reason string) {
	c.mu.Lock()
	first := c.requestCloseLocked(code, reason, false)
	c.mu.Unlock()
	if first {
		bits := schedClose
		if code == CloseAbnormal {
			bits = schedKill
		}
		c.srv.schedule(c, bits)
	}
}

// requestCloseLocked records the first close request and reports whether this was
// it. drop discards the frames not yet started.
func (c *Conn) requestCloseLocked(code ws.StatusCode, reason string, drop bool) bool {
	if c.closeReq {
		return false
	}
	c.closeReq, c.dropQueued = true, drop
	c.closeCode, c.closeReason = code, truncateReason(reason)
	c.closing.Store(true)
	return true
}

// queuePong queues a pong carrying payload, or rewrites the pong already queued and
// not yet being written: a ping flood costs at most one pending pong (RFC 6455 5.5.3
// allows answering only the most recent ping).
func (c *Conn) queuePong(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeReq {
		return
	}
	if c.pong != nil {
		c.pong.setControl(ws.OpPong, payload)
		return
	}
	c.pong = newControlFrame(ws.OpPong, payload)
	c.queueLocked().push(c.pong)
}

func (c *Conn) queueLocked() *sendQueue {
	if c.q == nil {
		c.q = queuePool.Get().(*sendQueue)
	}
	return c.q
}

// releaseQueueLocked returns an empty queue to the pool, or drops every frame when
// the connection is torn down.
func (c *Conn) releaseQueueLocked() {
	q := c.q
	if q == nil {
		return
	}
	if n := len(q.frames) - q.head; n > 0 {
		c.srv.stats.FramesDropped.Add(uint64(n))
	}
	for _, f := range q.frames[q.head:] {
		releaseFrame(f)
	}
	q.reset()
	queuePool.Put(q)
	c.q, c.pong = nil, nil
}

// trimIdle returns a write queue that stayed empty for a whole sweep interval to
// the pool, so that a connection with nothing to write holds no queue while a busy
// one keeps its own; the sweep calls it.
func (c *Conn) trimIdle() {
	c.mu.Lock()
	if q := c.q; q != nil && q.len() == 0 {
		if q.idle {
			c.releaseQueueLocked()
		} else {
			q.idle = true
		}
	}
	c.mu.Unlock()
}

// dropUnstartedLocked discards queued frames that have not begun to be written; a
// frame partly written stays so that the stream remains well framed.
func (c *Conn) dropUnstartedLocked() {
	q := c.q
	if q == nil {
		return
	}
	keep := q.head
	if q.off > 0 {
		keep++
	}
	c.srv.stats.FramesDropped.Add(uint64(len(q.frames) - keep))
	for i := keep; i < len(q.frames); i++ {
		q.bytes -= q.frames[i].Len()
		releaseFrame(q.frames[i])
		q.frames[i] = nil
	}
	q.frames = q.frames[:keep]
	c.pong = nil
}

// sendQueue is a connection's queue of frames to write. frames[head:] are queued;
// off bytes of frames[head] are already written. It is pooled: a connection holds
// one only while it has something to write.
type sendQueue struct {
	frames []*Frame
	head   int
	off    int
	bytes  int  // sum of Len() of the queued frames
	idle   bool // empty and untouched since the last sweep
}

var queuePool = sync.Pool{New: func() any { return &sendQueue{frames: make([]*Frame, 0, 16)} }}

func (q *sendQueue) len() int { return len(q.frames) - q.head }

func (q *sendQueue) push(f *Frame) {
	if len(q.frames) == cap(q.frames) && q.head > 0 {
		n := copy(q.frames, q.frames[q.head:])
		clear(q.frames[n:])
		q.frames, q.head = q.frames[:n], 0
	}
	q.frames = append(q.frames, f)
	q.bytes += f.Len()
	q.idle = false
}

// pop removes the head frame, which has been written whole.
func (q *sendQueue) pop() *Frame {
	f := q.frames[q.head]
	q.frames[q.head] = nil
	q.head++
	q.off = 0
	q.bytes -= f.Len()
	return f
}

func (q *sendQueue) reset() {
	clear(q.frames)
	q.frames, q.head, q.off, q.bytes, q.idle = q.frames[:0], 0, 0, 0, false
}

package wsconn

import (
	"errors"
	"sync"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// maxIov is IOV_MAX on Linux: the most frames one writev takes.
const maxIov = 1024

// worker runs connections taken from the run queue: it reads and parses what is
// readable, calls the handler, flushes write queues and re-arms epoll. Everything
// it owns (read buffer, parser, iovecs, inflater) is per worker, never per
// connection.
type worker struct {
	s    *Server
	p    *parser
	c    *Conn     // the connection being run, for the frameSink methods
	tmp  readState // the read state of a connection that had none
	rbuf []byte
	iov  []unix.Iovec
	fr   []*Frame // frames gathered for the current writev
	niov int

	// The RawConn callbacks, bound once so that each call allocates nothing, and
	// their results.
	readFn, writeFn func(fd uintptr) bool
	n               int
	err             error
}

func newWorker(s *Server) *worker {
	w := &worker{
		s:    s,
		p:    newParser(s.cfg.MaxMessage, s.pool),
		rbuf: make([]byte, s.cfg.ReadBufferSize),
		iov:  make([]unix.Iovec, maxIov),
		fr:   make([]*Frame, maxIov),
	}
	w.readFn, w.writeFn = w.doRead, w.doWritev
	return w
}

func (w *worker) loop() {
	for {
		c := w.s.runq.pop()
		if c == nil {
			return
		}
		w.turn(c)
	}
}

// turn runs c once, then releases it, or puts it at the back of the run queue when
// more work arrived meanwhile (fairness: one turn at a time).
func (w *worker) turn(c *Conn) {
	bits := c.sched.And(^schedWork) & schedWork
	w.run(c, bits)
	w.c = nil
	if c.phase == phaseDead {
		c.sched.Store(schedDead)
		return
	}
	if !c.sched.CompareAndSwap(schedQueued, 0) {
		w.s.runq.push(c)
	}
}

func (w *worker) run(c *Conn, bits uint32) {
	w.c = c
	w.p.deflate = c.deflate
	if bits&(schedRead|schedWrite) != 0 {
		c.armed = 0 // the one-shot registration fired
	}
	if bits&schedKill != 0 {
		w.teardown(c)
		return
	}
	if bits&schedRead != 0 {
		if w.readable(c); c.phase == phaseDead {
			return
		}
		if c.phase == phaseClosed && c.peerClosed {
			w.teardown(c) // the peer answered our close frame: handshake complete
			return
		}
	}
	if c.phase == phaseOpen && c.closing.Load() {
		w.startClose(c)
	}
	if !c.wblocked || bits&schedWrite != 0 {
		if w.flush(c); c.phase == phaseDead {
			return
		}
	}
	if c.phase == phaseClosing && !c.wblocked && w.queueEmpty(c) {
		if w.closeSent(c); c.phase == phaseDead {
			return
		}
	}
	w.rearm(c)
}

// rearm re-arms the one-shot registration when it fired or the interest changed.
func (w *worker) rearm(c *Conn) {
	want := uint32(evRead)
	if c.wblocked {
		want |= evWrite
	}
	if c.armed == want {
		return
	}
	if err := w.s.poll.arm(int(c.fd), c.id, want); err != nil {
		w.s.log.Warn("wsconn: epoll_ctl mod", "err", err)
		w.teardown(c)
		return
	}
	c.armed = want
}

// readable reads what the socket has, up to the read budget, without blocking.
func (w *worker) readable(c *Conn) {
	if c.rd != nil && c.rd.backlog != nil {
		b := c.rd.backlog
		c.rd.backlog = nil
		if w.consume(c, b); c.phase == phaseDead {
			return
		}
	}
	for budget := w.s.cfg.ReadBudget; budget > 0; {
		n, err := w.read(c)
		if n > 0 {
			budget -= n
			c.lastRecv.Store(w.s.now())
			w.s.stats.BytesIn.Add(uint64(n))
			if !c.drainRaw {
				if w.consume(c, w.rbuf[:n]); c.phase == phaseDead {
					return
				}
				if c.phase == phaseOpen && c.closing.Load() {
					return // send the close frame first; the registration brings us back
				}
			}
		}
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil || n == 0: // error or EOF
			w.teardown(c)
			return
		case n < len(w.rbuf):
			return // drained for now; the re-armed registration reports more
		}
	}
}

// read performs one non-blocking read(2) through the RawConn, so the runtime's
// descriptor locking protects it, and never parks the goroutine.
func (w *worker) read(c *Conn) (int, error) {
	if err := c.rc.Read(w.readFn); err != nil {
		return 0, err
	}
	return w.n, w.err
}

func (w *worker) doRead(fd uintptr) bool {
	for {
		n, err := unix.Read(int(fd), w.rbuf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		w.n, w.err = max(n, 0), err
		return true // never wait: epoll tells us when to come back
	}
}

// consume parses data for c and keeps c's read state only while a frame or
// message is incomplete.
func (w *worker) consume(c *Conn, data []byte) {
	st := c.rd
	if st == nil {
		st = &w.tmp
	}
	err := w.p.feed(st, data, w)
	w.s.stats.FramesIn.Add(uint64(w.p.frames))
	w.p.frames = 0
	if err != nil {
		w.p.reset(st)
		c.drainRaw = true // the stream is out of sync: discard the rest
		w.s.stats.ProtocolCloses.Add(1)
		c.Close(err.code, err.reason)
	}
	switch {
	case st.idle():
		if st != &w.tmp {
			*st = readState{}
			readStatePool.Put(st)
			c.rd = nil
		}
		c.pendingSince.Store(0)
	case st == &w.tmp:
		c.rd = readStatePool.Get().(*readState)
		*c.rd, w.tmp = w.tmp, readState{}
		c.pendingSince.Store(w.s.now())
	case st.delivered > 0: // progress: the timeout restarts
		c.pendingSince.Store(w.s.now())
	}
}

var readStatePool = sync.Pool{New: func() any { return new(readState) }}

// onMessage implements frameSink. Once the connection is closing, messages are
// parsed (the stream stays in sync, so the peer's close frame is still found) but
// no longer delivered.
func (w *worker) onMessage(data []byte) {
	c := w.c
	if c.closing.Load() {
		return
	}
	w.s.stats.MessagesIn.Add(1)
	w.s.h.OnMessage(c, data)
}

// onPing implements frameSink.
func (w *worker) onPing(payload []byte) { w.c.queuePong(payload) }

// onPong implements frameSink; the bytes already counted as liveness.
func (w *worker) onPong([]byte) {}

// onClose implements frameSink: echo the peer's close (or, when we closed first,
// take it as the answer) and stop reading.
func (w *worker) onClose(code ws.StatusCode, reason []byte) {
	c := w.c
	c.peerClosed = true
	c.drainRaw = true
	c.Close(code, string(reason))
}

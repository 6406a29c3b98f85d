package wsconn

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// flush writes c's queue with one writev per batch of up to maxIov frames, until
// the queue is empty or the socket is full. On EAGAIN (or a short write) the rest
// stays queued and c.wblocked makes rearm ask for EPOLLOUT: a worker never waits on
// a slow socket.
func (w *worker) flush(c *Conn) {
	for {
		total := w.gather(c)
		if total == 0 {
			return
		}
		n, err := w.writev(c)
		if w.s.cfg.WriteDelay > 0 { // only SendDelayed reads it: no clock read per write otherwise
			c.lastWrite.Store(max(w.s.now(), 1))
		}
		frames := w.advance(c, n, n < total)
		w.s.stats.Writes.Add(1)
		w.s.stats.FramesOut.Add(uint64(frames))
		w.s.stats.BytesOut.Add(uint64(n))
		switch {
		case err != nil && !errors.Is(err, unix.EAGAIN):
			w.teardown(c) // the peer is gone
			return
		case n < total:
			return // wait for EPOLLOUT
		}
	}
}

// gather points the worker's iovecs at c's queued frames and returns their total
// length. The frame pointers are copied under c.mu (Send may grow the slice); the
// bytes are computed outside it, because the first receiver of a frame that
// negotiated compression deflates it.
func (w *worker) gather(c *Conn) int {
	c.mu.Lock()
	q := c.q
	if q == nil || q.len() == 0 {
		c.wblocked = false
		c.mu.Unlock()
		return 0
	}
	k := copy(w.fr, q.frames[q.head:])
	off := q.off
	for _, f := range w.fr[:k] {
		if f == c.pong {
			c.pong = nil // being written: no longer rewritable
		}
	}
	c.mu.Unlock()

	total := 0
	for i, f := range w.fr[:k] {
		b := f.bytesFor(c.deflate)
		if i == 0 {
			b = b[off:]
		}
		w.iov[i].Base = unsafe.SliceData(b)
		w.iov[i].SetLen(len(b))
		total += len(b)
	}
	w.niov = k
	return total
}

// writev performs one non-blocking writev(2) through the RawConn. It calls the
// system call directly with the worker's iovec array: unix.Writev would allocate
// one per call beyond eight buffers.
func (w *worker) writev(c *Conn) (int, error) {
	err := c.rc.Write(w.writeFn)
	for i := range w.niov { // do not keep frames reachable from the worker
		w.iov[i].Base = nil
		w.fr[i] = nil
	}
	if err != nil {
		return 0, err
	}
	return w.n, w.err
}

func (w *worker) doWritev(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(w.niov))
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			w.n, w.err = 0, e
		default:
			w.n, w.err = int(r), nil
		}
		return true // never wait: EPOLLOUT tells us when to come back
	}
}

// advance removes the n bytes written from the head of c's queue and returns how
// many frames completed.
func (w *worker) advance(c *Conn, n int, blocked bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.q
	frames := 0
	for n > 0 {
		rest := len(q.frames[q.head].bytesFor(c.deflate)) - q.off
		if n < rest {
			q.off += n
			break
		}
		n -= rest
		releaseFrame(q.pop())
		frames++
	}
	c.wblocked = blocked
	if q.len() == 0 {
		// Keep the emptied queue while the connection is busy; the sweep returns it
		// to the pool once it stayed empty for a sweep interval (trimIdle).
		q.frames, q.head = q.frames[:0], 0
	}
	return frames
}

func (w *worker) queueEmpty(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q == nil || c.q.len() == 0
}

// startClose runs once per connection, in the worker, when a close was requested:
// it queues the close frame (after the queued frames, or instead of them for a
// slow consumer), starts the close timeout and calls Handler.OnClose.
func (w *worker) startClose(c *Conn) {
	c.mu.Lock()
	code, reason := c.closeCode, c.closeReason
	if c.dropQueued {
		c.dropUnstartedLocked()
	}
	c.pong = nil // no more pongs after the close frame
	c.queueLocked().push(newCloseFrame(code, reason))
	c.mu.Unlock()
	c.phase = phaseClosing
	c.closeBy.Store(w.s.now() + int64(w.s.cfg.CloseTimeout))
	w.s.stats.Conns.Add(-1)
	w.s.h.OnClose(c, code, reason)
}

// closeSent runs when the close frame is written: when the peer closed first the
// handshake is complete; otherwise half-close the socket and wait (reading) for
// the peer's close frame or EOF, at most Config.CloseTimeout.
func (w *worker) closeSent(c *Conn) {
	c.phase = phaseClosed
	if c.peerClosed {
		w.teardown(c)
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// teardown releases c's descriptor and buffers, calling Handler.OnClose first when
// the connection ends without having started a close (peer gone, kill).
func (w *worker) teardown(c *Conn) {
	if c.phase == phaseOpen || c.phase == phaseClosing {
		w.s.stats.ForcedCloses.Add(1)
	}
	if c.phase == phaseOpen {
		c.mu.Lock()
		c.requestCloseLocked(CloseAbnormal, "", true) // no-op when Close came first
		code, reason := c.closeCode, c.closeReason
		c.mu.Unlock()
		w.s.stats.Conns.Add(-1)
		w.s.h.OnClose(c, code, reason)
	}
	c.phase = phaseDead
	_ = w.s.poll.del(int(c.fd))
	w.s.table.remove(int(c.fd), c)
	c.mu.Lock()
	c.releaseQueueLocked()
	c.wblocked = false
	c.mu.Unlock()
	if c.rd != nil {
		w.p.reset(c.rd)
		c.rd = nil
	}
	c.closeBy.Store(0)
	c.pendingSince.Store(0)
	_ = c.nc.Close()
	w.s.releaseFD()
}

package wsconn

import "sync"

// A connection's scheduling word (Conn.sched). schedQueued means the connection is in
// the run queue or being run by a worker: whoever sets it pushes the connection, and
// only the worker running it clears it, so a connection is run by one worker at a
// time and sits in the run queue at most once. The other bits say what to do on the
// next turn.
const (
	schedQueued uint32 = 1 << iota
	schedRead          // epoll: readable, peer hang-up or error
	schedWrite         // epoll: writable
	schedFlush         // Send queued data
	schedClose         // Close was requested
	schedKill          // tear down now (close timeout, Shutdown deadline)
	schedDead          // torn down: ignore everything

	schedWork = schedRead | schedWrite | schedFlush | schedClose | schedKill
)

// schedule records work for c and queues it unless it is queued or running already.
// It never blocks beyond the run queue's short critical section.
func (s *Server) schedule(c *Conn, bits uint32) {
	for {
		old := c.sched.Load()
		if old&schedDead != 0 {
			return
		}
		nw := old | bits | schedQueued
		if nw == old {
			return
		}
		if c.sched.CompareAndSwap(old, nw) {
			if old&schedQueued == 0 {
				s.runq.push(c)
			}
			return
		}
	}
}

// runQueue is the FIFO of connections with work, shared by the workers. It holds
// each connection at most once (schedQueued), so it is bounded by the number of
// connections; its ring grows to that size and stays.
type runQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	ring    []*Conn
	head    int
	n       int
	stopped bool
}

func newRunQueue() *runQueue {
	q := &runQueue{ring: make([]*Conn, 1024)}
	q.cond.L = &q.mu
	return q
}

func (q *runQueue) push(c *Conn) {
	q.mu.Lock()
	if q.n == len(q.ring) {
		ring := make([]*Conn, 2*len(q.ring))
		k := copy(ring, q.ring[q.head:])
		copy(ring[k:], q.ring[:q.head])
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = c
	q.n++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a connection; it returns nil once the queue is stopped.
func (q *runQueue) pop() *Conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		return nil
	}
	c := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return c
}

func (q *runQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

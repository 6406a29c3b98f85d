package wsconn

import (
	"sync"
	"time"
)

// delayQueue holds the connections with frames waiting for a delayed flush
// (Conn.SendDelayed). A connection is on it at most once (Conn.delayed), so its
// length is bounded by the number of connections.
type delayQueue struct {
	mu    sync.Mutex
	conns []*Conn
}

func (q *delayQueue) add(c *Conn) {
	q.mu.Lock()
	q.conns = append(q.conns, c)
	q.mu.Unlock()
}

// take returns the waiting connections and empties the queue into done, the
// previous take's slice (cleared): two slices alternate, so a steady load
// allocates nothing.
func (q *delayQueue) take(done []*Conn) []*Conn {
	clear(done)
	q.mu.Lock()
	out := q.conns
	q.conns = done[:0]
	q.mu.Unlock()
	return out
}

// delayLoop schedules the flush of the waiting connections every WriteDelay: the
// frames sent to a connection in between leave in one writev. A frame waits at
// most one tick. Clearing the flag before scheduling means a frame queued
// meanwhile is either in this flush or puts the connection on the next tick.
func (s *Server) delayLoop() {
	t := time.NewTicker(s.cfg.WriteDelay)
	defer t.Stop()
	var conns []*Conn
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
		}
		conns = s.delayq.take(conns)
		for _, c := range conns {
			c.delayed.Store(false)
			s.schedule(c, schedFlush) // ignored once the connection is dead
		}
	}
}

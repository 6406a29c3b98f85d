package wsconn

import "time"

// sweepLoop runs the keepalive sweep every Config.sweepInterval: one goroutine and
// one ticker for all connections, never a timer per connection.
func (s *Server) sweepLoop() {
	t := time.NewTicker(s.cfg.sweepInterval())
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			now := s.now()
			s.table.forEach(func(c *Conn) { s.sweepConn(c, now) })
		}
	}
}

// sweepConn applies the timeouts to one connection using only its atomics; it acts
// through Close, Send and schedule, like any other goroutine.
func (s *Server) sweepConn(c *Conn, now int64) {
	if by := c.closeBy.Load(); by != 0 {
		if now > by {
			s.schedule(c, schedKill) // the peer never finished the closing handshake
		}
		return
	}
	if c.closing.Load() {
		return
	}
	c.trimIdle()
	silent := now - c.lastRecv.Load()
	switch {
	case silent > int64(s.cfg.IdleTimeout):
		s.stats.IdleCloses.Add(1)
		c.Close(CloseGoingAway, ReasonIdleTimeout)
	case stalled(c.pendingSince.Load(), now, s.cfg.FrameTimeout):
		s.stats.IdleCloses.Add(1)
		c.Close(ClosePolicyViolation, ReasonFrameTimeout)
	case silent >= int64(s.cfg.PingInterval) && now-c.lastPing.Load() >= int64(s.cfg.PingInterval):
		c.lastPing.Store(now)
		if c.Send(pingFrame) == nil {
			s.stats.PingsSent.Add(1)
		}
	}
}

// stalled reports whether an incomplete frame pending since since (0: none) has
// been so for longer than timeout.
func stalled(since, now int64, timeout time.Duration) bool {
	return since != 0 && now-since > int64(timeout)
}

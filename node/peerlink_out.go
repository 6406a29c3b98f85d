package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// errPeerLinkStopped ends a link that was dropped or closed; it is never an
// outcome the handler or the logs see.
var errPeerLinkStopped = errors.New("node: peer link stopped")

// errPeerLinkReset ends a connection that an overflowing Send closed.
var errPeerLinkReset = errors.New("node: peer link reset by a full queue")

// peerHeartbeatFrame is the whole heartbeat frame: length 1, kind 0, no payload.
var peerHeartbeatFrame = [peerFrameHeader]byte{0, 0, 0, 1, PeerKindHeartbeat}

// peerLink is this node's outbound link to one peer, from its first Send until Drop
// or Close: the queue lives across connections, the connections come and go.
type peerLink struct {
	p    *Peers
	name string

	kick   chan struct{} // capacity 1: frames queued, address changed, reset
	stopc  chan struct{} // closed by stop
	cancel context.CancelFunc
	ctx    context.Context // cancels a dial in progress on stop

	mu      sync.Mutex
	addr    string
	addrNew bool // addr changed since the last dial: skip the rest of the backoff
	q       peerQueue
	conn    net.Conn // from dial to teardown; closed by a reset or stop
	stopped bool
	lost    bool // a reset discarded accepted frames: PeerDown is owed
	reset   bool // conn was closed by a reset, not by a failure

	// Owned by the writer goroutine.
	spare   []*peerChunk
	iov     net.Buffers // the burst's chunks, rebuilt each burst
	wbuf    net.Buffers // consumed by WriteTo; a field so that it does not escape per burst
	everUp  bool
	warns   peerLogLimit
	overrun peerLogLimit
}

func newPeerLink(p *Peers, name, addr string) *peerLink {
	ctx, cancel := context.WithCancel(context.Background())
	return &peerLink{p: p, name: name, addr: addr, kick: make(chan struct{}, 1),
		stopc: make(chan struct{}), ctx: ctx, cancel: cancel}
}

func (l *peerLink) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// enqueue is Send for this link. It returns errPeerLinkStopped when the link was
// dropped meanwhile, for Send to retry on a new link.
func (l *peerLink) enqueue(addr string, kind uint8, payload []byte) error {
	n := peerFrameHeader + len(payload)
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return errPeerLinkStopped
	}
	wake := l.q.frames == 0 // otherwise the writer was woken already and has not taken the queue yet
	if addr != "" && addr != l.addr {
		l.addr, l.addrNew, wake = addr, true, true
	}
	if l.q.bytes+n > l.p.cfg.QueueBytes {
		queued := l.q.bytes
		l.resetLocked()
		l.mu.Unlock()
		l.wake()
		l.p.stats.queueResets.Add(1)
		l.p.log.LogAttrs(context.Background(), l.overrun.level(), "peer link queue full, resetting the link",
			slog.String("peer", l.name), slog.Int("queued_bytes", queued), slog.Int("limit", l.p.cfg.QueueBytes))
		return fmt.Errorf("%w: peer %q, %d bytes queued", ErrPeerQueueFull, l.name, queued)
	}
	l.q.push(kind, payload)
	l.mu.Unlock()
	if wake {
		l.wake()
	}
	return nil
}

// resetLocked discards the queue and closes the connection (its goroutines notice
// and the writer reports PeerDown). l.mu is held.
func (l *peerLink) resetLocked() {
	l.q.release()
	l.lost = true
	if l.conn != nil {
		l.reset = true
		_ = l.conn.Close()
	}
}

// stop ends the link for good (Drop, Close): no more dials, no more callbacks.
func (l *peerLink) stop() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	l.q.release()
	c := l.conn
	l.mu.Unlock()
	l.cancel()
	close(l.stopc)
	if c != nil {
		_ = c.Close()
	}
}

// isStopped reports whether the link was stopped, or is about to be by a Close
// in progress: either way the writer leaves without a callback.
func (l *peerLink) isStopped() bool {
	if l.p.closing.Load() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// run is the link's writer goroutine: connect, serve until the connection fails,
// tear down, report, back off, again, until stop.
func (l *peerLink) run() {
	defer l.cancel()
	bo := peerBackoff{min: l.p.cfg.backoffMin, max: l.p.cfg.backoffMax}
	var delay time.Duration
	for {
		if !l.sleep(delay) {
			return
		}
		c, r, err := l.connect()
		if err != nil {
			if l.isStopped() {
				return
			}
			l.connectFailed(err)
			delay = bo.next()
			continue
		}
		upAt := time.Now()
		if !l.up() {
			_ = c.Close()
			return
		}
		err = l.serve(c, r)
		l.teardown()
		if l.isStopped() {
			l.p.stats.outLinks.Add(-1)
			return
		}
		l.down(err, time.Since(upAt))
		if time.Since(upAt) < bo.max {
			delay = bo.next() // a link that flaps must not reconnect in a tight loop
		} else {
			bo.reset()
			delay = 0 // a link that served a while is redialed at once
		}
	}
}

// sleep waits d before the next dial, reporting PeerDown for a reset meanwhile, and
// cutting the wait short when Send brings a new address. It returns false on stop.
func (l *peerLink) sleep(d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for {
		l.mu.Lock()
		stopped, lost, addrNew := l.stopped, l.lost, l.addrNew
		l.lost = false
		l.mu.Unlock()
		if stopped {
			return false
		}
		if lost {
			l.p.cfg.Handler.PeerDown(l.name)
		}
		if addrNew || timeout == nil {
			return true
		}
		select {
		case <-timeout:
			return true
		case <-l.kick:
		case <-l.stopc:
			return false
		}
	}
}

// connect dials the peer and runs the dialer's handshake. The connection is
// registered in l.conn from the start, so that stop and a reset can close it.
func (l *peerLink) connect() (net.Conn, *bufio.Reader, error) {
	l.mu.Lock()
	addr := l.addr
	l.addrNew = false
	l.mu.Unlock()
	c, err := l.p.dialer.DialContext(l.ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		_ = c.Close()
		return nil, nil, errPeerLinkStopped
	}
	l.conn, l.reset = c, false
	l.mu.Unlock()
	dr := &peerDeadlineReader{c: c}
	r := bufio.NewReaderSize(dr, peerReadBuf)
	cfg := &l.p.cfg
	if err := dialHandshake(c, r, l.p.key, cfg.Name, l.name, cfg.handshakeTimeout); err != nil {
		l.mu.Lock()
		l.conn = nil
		if l.reset {
			err = errPeerLinkReset
		}
		l.mu.Unlock()
		_ = c.Close()
		return nil, nil, fmt.Errorf("%s: %w", addr, err)
	}
	dr.timeout = cfg.readTimeout
	return c, r, nil
}

// connectFailed counts and logs a failed connect; a reset's PeerDown comes from
// the next sleep.
func (l *peerLink) connectFailed(err error) {
	switch {
	case errors.Is(err, errPeerLinkReset):
		return
	case errors.Is(err, errPeerHandshake):
		l.p.stats.handshakeFailures.Add(1)
	default:
		l.p.stats.dialFailures.Add(1)
	}
	l.p.log.LogAttrs(context.Background(), l.warns.level(), "peer link: connect failed",
		slog.String("peer", l.name), slog.Any("err", err))
}

// up reports a new connection: PeerDown first if a reset discarded frames while
// connecting, then PeerUp. It returns false, reporting nothing, if the link was
// stopped meanwhile.
func (l *peerLink) up() bool {
	if l.isStopped() {
		return false
	}
	s := &l.p.stats
	s.linksUp.Add(1)
	s.outLinks.Add(1)
	if l.everUp {
		s.reconnects.Add(1)
	}
	l.everUp = true
	l.mu.Lock()
	lost := l.lost
	l.lost = false
	l.mu.Unlock()
	if lost {
		l.p.cfg.Handler.PeerDown(l.name)
	}
	l.p.log.Info("peer link up", "peer", l.name)
	l.p.cfg.Handler.PeerUp(l.name)
	return true
}

// teardown forgets the connection and discards the frames queued for it: they may
// follow frames that were lost with the connection, so they are never sent on the
// next one (PeerDown tells the node to repair instead).
func (l *peerLink) teardown() {
	l.mu.Lock()
	l.conn = nil
	l.q.release()
	l.lost = false // PeerDown follows
	l.mu.Unlock()
}

func (l *peerLink) down(err error, upFor time.Duration) {
	s := &l.p.stats
	s.linkDrops.Add(1)
	s.outLinks.Add(-1)
	level := l.warns.level()
	if errors.Is(err, errPeerLinkReset) {
		level = slog.LevelDebug // already logged by the Send that overflowed
	}
	l.p.log.LogAttrs(context.Background(), level, "peer link down",
		slog.String("peer", l.name), slog.Duration("up_for", upFor), slog.Any("err", err))
	l.p.cfg.Handler.PeerDown(l.name)
}

// serve writes the queue to c until c fails or the link stops, with a heartbeat
// when nothing was written for a heartbeat interval. It returns once c is closed and
// its reader has returned.
func (l *peerLink) serve(c net.Conn, r *bufio.Reader) (err error) {
	readErr := make(chan error, 1)
	if !l.p.start(func() { readErr <- l.readHeartbeats(r) }) {
		_ = c.Close()
		return errPeerLinkStopped
	}
	readerDone := false
	defer func() {
		_ = c.Close()
		if !readerDone {
			<-readErr
		}
	}()
	hb := time.NewTicker(l.p.cfg.heartbeat)
	defer hb.Stop()
	wrote := false
	for {
		n, err := l.flush(c)
		if err != nil {
			return l.cause(err)
		}
		if n > 0 {
			wrote = true
			continue // more may have been queued during the write
		}
		select {
		case <-l.kick:
		case <-hb.C:
			if !wrote {
				if err := l.write(c, peerHeartbeatFrame[:]); err != nil {
					return l.cause(err)
				}
			}
			wrote = false
		case err := <-readErr:
			readerDone = true
			return l.cause(err)
		case <-l.stopc:
			return errPeerLinkStopped
		}
	}
}

// cause names why the connection ended: a reset closes it under Send, which shows
// as a plain I/O error here.
func (l *peerLink) cause(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reset {
		return errPeerLinkReset
	}
	return err
}

// flush takes everything queued and writes it with one writev. It returns the
// number of frames written.
func (l *peerLink) flush(c net.Conn) (int, error) {
	l.mu.Lock()
	chunks, frames, bytes := l.q.chunks, l.q.frames, l.q.bytes
	if frames == 0 {
		l.mu.Unlock()
		return 0, nil
	}
	l.q.chunks, l.q.frames, l.q.bytes = l.spare[:0], 0, 0
	l.mu.Unlock()
	l.iov = l.iov[:0]
	for _, ch := range chunks {
		l.iov = append(l.iov, ch.b)
	}
	l.wbuf = l.iov
	err := c.SetWriteDeadline(time.Now().Add(l.p.cfg.writeTimeout))
	if err == nil {
		_, err = l.wbuf.WriteTo(c)
	}
	releasePeerChunks(chunks)
	l.spare = chunks[:0]
	if err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	l.p.stats.framesOut.Add(uint64(frames))
	l.p.stats.bytesOut.Add(uint64(bytes))
	return frames, nil
}

func (l *peerLink) write(c net.Conn, b []byte) error {
	if err := c.SetWriteDeadline(time.Now().Add(l.p.cfg.writeTimeout)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// readHeartbeats is the outbound connection's reader: the acceptor only sends
// heartbeats, and their absence for the read timeout means the peer is half-dead.
func (l *peerLink) readHeartbeats(r *bufio.Reader) error {
	fr := newPeerFrameReader(r, 0)
	for {
		kind, _, err := fr.next()
		if err != nil {
			if err == io.EOF {
				return errors.New("closed by the peer")
			}
			return fmt.Errorf("read: %w", err)
		}
		if kind != PeerKindHeartbeat {
			return fmt.Errorf("%w: kind %d from the acceptor", ErrPeerFrame, kind)
		}
	}
}

// peerDeadlineReader sets the read deadline before each read of the socket (once
// per burst, not per frame), so that a silent peer fails the read after timeout.
// timeout is 0 during the handshake, which sets its own deadline.
type peerDeadlineReader struct {
	c       net.Conn
	timeout time.Duration
}

func (d *peerDeadlineReader) Read(b []byte) (int, error) {
	if d.timeout > 0 {
		if err := d.c.SetReadDeadline(time.Now().Add(d.timeout)); err != nil {
			return 0, err
		}
	}
	return d.c.Read(b)
}

// peerBackoff is an exponential backoff with jitter, so that the nodes of a cluster
// that lost one peer do not all redial it in step.
type peerBackoff struct{ min, max, cur time.Duration }

// next returns a delay in [cur/2, cur] and doubles cur up to max.
func (b *peerBackoff) next() time.Duration {
	b.cur = max(b.cur, b.min)
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	return d/2 + rand.N(d/2+1)
}

func (b *peerBackoff) reset() { b.cur = 0 }

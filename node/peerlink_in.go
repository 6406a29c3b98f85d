package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"
)

// peerInConn is a connection another node dialed to send to this one.
type peerInConn struct {
	c    net.Conn
	name string // the proven name of the peer, once the handshake is done
	// prev is the connection from the same peer that this one replaced: its reader
	// must have returned before this one delivers, to keep the peer's frames in order.
	prev *peerInConn
	done chan struct{} // closed when the reader has returned: no more handler calls
}

// acceptLoop accepts connections until Close and hands each to its own goroutine.
func (p *Peers) acceptLoop() {
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or the like: wait a little rather than spin, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.log.Warn("peer links: accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-p.done:
				return
			}
			continue
		}
		delay = 0
		select {
		case p.slots <- struct{}{}:
		default:
			_ = c.Close()
			p.stats.handshakeFailures.Add(1)
			p.log.LogAttrs(context.Background(), p.inWarns.level(), "peer links: too many handshakes in progress, connection refused",
				slog.String("remote", c.RemoteAddr().String()))
			continue
		}
		in := &peerInConn{c: c, done: make(chan struct{})}
		if !p.track(in) {
			<-p.slots
			_ = c.Close()
			return
		}
	}
}

// track registers an accepted connection, so that Close can close it, and starts
// its reader.
func (p *Peers) track(in *peerInConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.inbound[in] = struct{}{}
	p.startLocked(func() { p.serveInbound(in) })
	return true
}

// serveInbound is the reader goroutine of an inbound connection: the acceptor's
// handshake, then frames to the handler until the connection fails.
func (p *Peers) serveInbound(in *peerInConn) {
	defer p.forget(in)
	defer close(in.done)
	defer in.c.Close()
	dr := &peerDeadlineReader{c: in.c}
	r := bufio.NewReaderSize(dr, peerReadBuf)
	name, err := acceptHandshake(in.c, r, p.key, p.cfg.Name, p.cfg.handshakeTimeout)
	<-p.slots
	if err != nil {
		p.stats.handshakeFailures.Add(1)
		p.log.LogAttrs(context.Background(), p.inWarns.level(), "peer links: inbound handshake failed",
			slog.String("remote", in.c.RemoteAddr().String()), slog.Any("err", err))
		return
	}
	if !p.register(in, name) || !p.start(func() { p.heartbeatInbound(in) }) {
		return
	}
	dr.timeout = p.cfg.readTimeout
	if in.prev != nil {
		<-in.prev.done
		in.prev = nil
	}
	p.stats.inLinks.Add(1)
	defer p.stats.inLinks.Add(-1)
	p.log.Debug("peer inbound link up", "peer", name, "remote", in.c.RemoteAddr().String())
	err = p.readInbound(in, r)
	p.log.Debug("peer inbound link down", "peer", name, "err", err)
}

// register makes in the live inbound connection of name, closing the one it
// replaces: the peer dialed again, so it has given the old one up.
func (p *Peers) register(in *peerInConn, name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	in.name = name
	in.prev = p.inByName[name]
	p.inByName[name] = in
	if in.prev != nil {
		_ = in.prev.c.Close()
	}
	return true
}

func (p *Peers) forget(in *peerInConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inbound, in)
	if in.name != "" && p.inByName[in.name] == in {
		delete(p.inByName, in.name)
	}
}

// readInbound hands the frames of in to the handler. Counters are added once per
// burst (when the read buffer is empty), not once per frame, so that readers of
// different peers do not contend on them.
func (p *Peers) readInbound(in *peerInConn, r *bufio.Reader) error {
	fr := newPeerFrameReader(r, PeerMaxPayload)
	h := p.cfg.Handler
	var frames, bytes uint64
	for {
		kind, payload, err := fr.next()
		if err != nil {
			p.stats.framesIn.Add(frames)
			p.stats.bytesIn.Add(bytes)
			if err == io.EOF {
				return nil
			}
			return err
		}
		if kind != PeerKindHeartbeat {
			frames++
			bytes += uint64(peerFrameHeader + len(payload))
			h.HandlePeerFrame(in.name, kind, payload)
		}
		if fr.buffered() == 0 && frames > 0 {
			p.stats.framesIn.Add(frames)
			p.stats.bytesIn.Add(bytes)
			frames, bytes = 0, 0
		}
	}
}

// heartbeatInbound writes a heartbeat every interval on an inbound connection, the
// only thing this node writes on it, so that the dialer detects a half-dead node.
func (p *Peers) heartbeatInbound(in *peerInConn) {
	t := time.NewTicker(p.cfg.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-in.done:
			return
		case <-t.C:
		}
		err := in.c.SetWriteDeadline(time.Now().Add(p.cfg.writeTimeout))
		if err == nil {
			_, err = in.c.Write(peerHeartbeatFrame[:])
		}
		if err != nil {
			_ = in.c.Close() // the reader notices and returns
			return
		}
	}
}

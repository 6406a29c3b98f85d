package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"golang.org/x/sys/unix"
)

// Handler receives a server's connection events. Both methods are called from the
// server's workers, never concurrently for one connection, and in order for that
// connection; different connections are served concurrently. They may call Send
// and Close on any connection. They must not block for long: a blocked handler
// holds a worker, and Config.Workers of them stall every connection. A handler may
// be called before Upgrade returns.
type Handler interface {
	// OnMessage receives one complete text message, validated UTF-8 of at most
	// Config.MaxMessage bytes, already inflated. data is valid only until
	// OnMessage returns: copy what must be kept.
	OnMessage(c *Conn, data []byte)
	// OnClose is called exactly once per connection, whoever closed it: code and
	// reason are those sent by the server (Close, a protocol failure, a timeout,
	// Shutdown), those of the peer's close frame (CloseNoStatus for an empty one),
	// or CloseAbnormal when the connection ended without a close frame. After
	// OnClose, Send returns ErrClosed.
	OnClose(c *Conn, code ws.StatusCode, reason string)
}

// HandlerFuncs adapts two functions to Handler; a nil field ignores its event.
type HandlerFuncs struct {
	Message func(c *Conn, data []byte)
	Closed  func(c *Conn, code ws.StatusCode, reason string)
}

// OnMessage calls h.Message.
func (h HandlerFuncs) OnMessage(c *Conn, data []byte) {
	if h.Message != nil {
		h.Message(c, data)
	}
}

// OnClose calls h.Closed.
func (h HandlerFuncs) OnClose(c *Conn, code ws.StatusCode, reason string) {
	if h.Closed != nil {
		h.Closed(c, code, reason)
	}
}

// Server holds WebSocket connections on one epoll instance. Create it with New,
// hand it upgrade requests with Upgrade, stop it with Shutdown.
type Server struct {
	cfg      Config
	h        Handler
	log      *slog.Logger
	poll     *poller
	runq     *runQueue
	pool     *bufPool
	upgrader ws.HTTPUpgrader
	stats    Stats
	epoch    time.Time
	table    connTable
	delayq   delayQueue

	nextID  atomic.Uint32
	fds     atomic.Int64  // descriptors held: open and closing connections
	drained chan struct{} // gets a token when fds drops to zero

	closed     atomic.Bool // Shutdown began; set after shutCode
	shutCode   ws.StatusCode
	shutReason string
	stopping   atomic.Bool
	shutOnce   sync.Once
	shutDone   chan struct{}
	stopSweep  chan struct{}
	wg         sync.WaitGroup
}

// New starts a server: its epoll goroutine, its keepalive sweep and its workers.
func New(cfg Config, h Handler) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("wsconn: nil Handler")
	}
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		h:         h,
		log:       cfg.Logger,
		poll:      p,
		runq:      newRunQueue(),
		pool:      newBufPool(maxWire(cfg.MaxMessage) + maxHeaderLen),
		upgrader:  ws.HTTPUpgrader{Timeout: cfg.HandshakeTimeout},
		epoch:     time.Now(),
		drained:   make(chan struct{}, 1),
		shutDone:  make(chan struct{}),
		stopSweep: make(chan struct{}),
	}
	s.start(s.pollLoop)
	s.start(s.sweepLoop)
	if cfg.WriteDelay > 0 {
		s.start(s.delayLoop)
	}
	for range cfg.Workers {
		w := newWorker(s)
		s.start(w.loop)
	}
	return s, nil
}

// start runs fn on a goroutine that Shutdown waits for.
func (s *Server) start(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Len returns the number of open connections (Stats.Conns).
func (s *Server) Len() int { return int(s.stats.Conns.Load()) }

// Stats returns the server's live counters.
func (s *Server) Stats() *Stats { return &s.stats }

// now is the server's monotonic clock in nanoseconds.
func (s *Server) now() int64 { return int64(time.Since(s.epoch)) }

// Upgrade completes the WebSocket handshake of r (the API has authenticated it and
// checked its origin), hijacks the socket, registers it with epoll and returns; the
// calling goroutine is then free. userData is returned by Conn.UserData. Header
// problems are answered by gobwas/ws (400, 426) and returned as errors; after
// Shutdown began the answer is 503 and ErrServerClosed. permessage-deflate is
// accepted only when the client offers it (and Config.DisableCompression is off),
// with no context takeover in either direction.
//
// Slow handshakes are bounded before Upgrade by the http.Server's
// ReadHeaderTimeout, which the caller must set.
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, userData any) (*Conn, error) {
	switch {
	case s.closed.Load():
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, ErrServerClosed
	case r.TLS != nil:
		http.Error(w, "websocket over net/http TLS is not supported", http.StatusInternalServerError)
		return nil, ErrUnsupportedConn
	}
	nc, br, deflate, err := s.handshake(w, r)
	if err != nil {
		return nil, err
	}
	return s.register(nc, br, deflate, userData)
}

// negotiator holds one handshake's permessage-deflate negotiation; pooled so that
// the Negotiate callback is not a closure allocated per upgrade.
type negotiator struct {
	ext wsflate.Extension
	fn  func(httphead.Option) (httphead.Option, error)
}

var negotiatorPool = sync.Pool{New: func() any {
	n := &negotiator{ext: wsflate.Extension{Parameters: wsflate.Parameters{
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
	}}}
	n.fn = n.negotiate
	return n
}}

// negotiate declines an offer it cannot parse instead of failing the handshake
// (RFC 7692 5: a server declines an offer it does not support).
func (n *negotiator) negotiate(opt httphead.Option) (httphead.Option, error) {
	accept, err := n.ext.Negotiate(opt)
	if err != nil {
		return httphead.Option{}, nil
	}
	return accept, nil
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, bool, error) {
	u := s.upgrader
	var neg *negotiator
	if !s.cfg.DisableCompression {
		neg = negotiatorPool.Get().(*negotiator)
		u.Negotiate = neg.fn
	}
	nc, rw, _, err := u.Upgrade(r, w)
	deflate := false
	if neg != nil {
		_, deflate = neg.ext.Accepted()
		neg.ext.Reset()
		negotiatorPool.Put(neg)
	}
	if err != nil {
		if nc != nil {
			_ = nc.Close()
		}
		return nil, nil, false, fmt.Errorf("wsconn: upgrade: %w", err)
	}
	return nc, rw.Reader, deflate, nil
}

// register takes an upgraded socket into the epoll set.
func (s *Server) register(nc net.Conn, br *bufio.Reader, deflate bool, userData any) (*Conn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		_ = nc.Close()
		return nil, ErrUnsupportedConn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("wsconn: %w", err)
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("wsconn: %w", err)
	}
	c := &Conn{srv: s, nc: nc, rc: rc, userData: userData, fd: int32(fd), id: s.newID(),
		deflate: deflate, armed: evRead}
	now := s.now()
	c.lastRecv.Store(now)
	c.lastPing.Store(now)
	backlog := br.Buffered() > 0 // the client wrote before reading our 101
	if backlog {
		b, _ := br.Peek(br.Buffered())
		c.rd = &readState{backlog: bytes.Clone(b)}
	}
	if s.cfg.SocketSendBuffer > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, s.cfg.SocketSendBuffer)
	}
	// Count the descriptor before looking at closed: Shutdown sets closed before it
	// counts, so either it waits for this one or this sees closed.
	s.fds.Add(1)
	if s.closed.Load() {
		s.releaseFD()
		_ = nc.Close()
		return nil, ErrServerClosed
	}
	if err := s.table.store(fd, c); err != nil {
		s.releaseFD()
		_ = nc.Close()
		return nil, err
	}
	s.stats.Conns.Add(1)
	s.stats.Upgrades.Add(1)
	if err := s.poll.add(fd, c.id); err != nil {
		s.table.remove(fd, c)
		s.stats.Conns.Add(-1)
		s.releaseFD()
		_ = nc.Close()
		return nil, fmt.Errorf("wsconn: epoll_ctl add: %w", err)
	}
	if backlog { // c belongs to the workers now: do not read c.rd
		s.schedule(c, schedRead)
	}
	if s.closed.Load() { // Shutdown's sweep may have missed it
		c.Close(s.shutCode, s.shutReason)
	}
	return c, nil
}

func (s *Server) newID() uint32 {
	for {
		if id := s.nextID.Add(1); id != 0 { // 0 is the wake event's
			return id
		}
	}
}

// releaseFD counts a descriptor released and wakes Shutdown when none is left.
func (s *Server) releaseFD() {
	if s.fds.Add(-1) == 0 {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

// Shutdown closes every connection with code and reason (CloseServiceRestart to
// send clients elsewhere), refuses new upgrades, waits until every socket is
// released or ctx ends (then it tears the rest down without waiting for peers),
// and stops the server's goroutines. It returns ctx's error if ctx ended first. It
// is safe to call twice; the second call waits for the first.
func (s *Server) Shutdown(ctx context.Context, code ws.StatusCode, reason string) error {
	first := false
	s.shutOnce.Do(func() {
		first = true
		s.shutCode, s.shutReason = code, reason
		s.closed.Store(true)
	})
	if !first {
		<-s.shutDone
		return nil
	}
	defer close(s.shutDone)
	s.table.forEach(func(c *Conn) { c.Close(code, reason) })
	err := s.waitDrained(ctx)
	if err != nil {
		s.table.forEach(func(c *Conn) { s.schedule(c, schedKill) })
		_ = s.waitDrained(context.Background()) // kills need no peer: prompt
	}
	close(s.stopSweep)
	s.stopping.Store(true)
	s.poll.wake()
	s.runq.stop()
	s.wg.Wait()
	s.poll.close()
	return err
}

func (s *Server) waitDrained(ctx context.Context) error {
	for s.fds.Load() > 0 {
		select {
		case <-s.drained:
		case <-ctx.Done():
			return fmt.Errorf("wsconn: shutdown: %w", ctx.Err())
		}
	}
	return nil
}

// pollLoop is the epoll goroutine: it waits for readiness and queues connections
// for the workers. It does no I/O on connections itself.
func (s *Server) pollLoop() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := s.poll.wait(events)
		if err != nil {
			if s.stopping.Load() {
				return
			}
			s.log.Error("wsconn: epoll_wait", slog.Any("err", err))
			time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
			continue
		}
		for i := range events[:n] {
			s.dispatch(&events[i])
		}
		if s.stopping.Load() {
			return
		}
	}
}

func (s *Server) dispatch(ev *unix.EpollEvent) {
	if ev.Pad == 0 {
		s.poll.drainWake()
		return
	}
	c := s.table.load(int(ev.Fd))
	if c == nil || c.id != uint32(ev.Pad) {
		return // stale: the connection closed, the descriptor may be reused
	}
	var bits uint32
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		bits |= schedRead
	}
	if ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		bits |= schedWrite
	}
	s.schedule(c, bits)
}

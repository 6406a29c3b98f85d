package loadtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/client"
)

// conn is one WebSocket connection of a worker: a client.Client with its delivery
// stream and the bookkeeping of its state.
type conn struct {
	spec     connSpec
	w        *worker
	room     chat.ID
	roomText string // room's canonical text, as message_created carries it
	user     user
	url      string
	local    net.Addr
	cl       *client.Client
	st       stream

	started  time.Time
	upOnce   sync.Once
	up       chan struct{} // closed on the first Connected
	state    atomic.Int32  // the client's last reported state
	joined   atomic.Bool   // its room's join returned
	churning atomic.Bool   // between leaving and re-joining its room (mixed)
	busy     atomic.Int32  // actions under way (see acquire)
}

// start creates the client; it connects in the background.
func (c *conn) start() {
	c.started = time.Now()
	c.cl = client.New(client.Config{
		URL: c.url, Token: c.user.Token, LocalAddr: c.local,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second,
		OnEvent: c.onEvent, OnState: c.onState,
		KeepRepeats: true, // the checker counts the server's repeats and reorders
	})
}

// onState runs on the client's goroutine: count connections up and down, and time
// the first handshake.
func (c *conn) onState(s client.State) {
	prev := client.State(c.state.Swap(int32(s)))
	w := c.w
	switch {
	case s == client.Connected:
		w.connected.Add(1)
		first := false
		c.upOnce.Do(func() {
			first = true
			w.connLat.record(c.spec.Index, time.Since(c.started))
			w.established.Add(1)
			w.lastUp.Store(time.Now().UnixNano())
			close(c.up)
		})
		if !first {
			w.reconnects.Add(1)
		}
	case prev == client.Connected:
		w.connected.Add(-1)
	}
}

// onEvent runs on the client's reader goroutine (one at a time per connection): it
// feeds the stream and records the latency of messages this run sent.
func (c *conn) onEvent(ev client.Event) {
	now := time.Now()
	w := c.w
	w.events.add(ev.Type)
	if ev.Type != "message_created" {
		return
	}
	m, ok := scanCreated(ev.Data)
	if !ok || m.room != c.roomText {
		w.errs.add("event:bad_message_created")
		return
	}
	c.st.observe(m.seq)
	w.bumpRoomMax(c.spec.Room, m.seq)
	w.delivered.Add(1)
	if m.stamped {
		d := now.Sub(m.due)
		w.lat.record(c.spec.Index, d)
		if n := len(w.plan.Targets); n > 1 && m.sender >= 0 {
			if targetOf(m.sender, n) == c.spec.Target {
				w.latSame.record(c.spec.Index, d)
			} else {
				w.latCross.record(c.spec.Index, d)
			}
		}
	}
}

// isUp says the connection was established at least once.
func (c *conn) isUp() bool {
	select {
	case <-c.up:
		return true
	default:
		return false
	}
}

// connectAll starts every connection with at most DialConcurrency handshakes in
// flight, and returns once all are up or the connect timeout passed.
func (w *worker) connectAll(ctx context.Context) {
	deadline := time.NewTimer(w.plan.ConnectTimeout)
	defer deadline.Stop()
	expired := make(chan struct{})
	go func() {
		select {
		case <-deadline.C:
		case <-ctx.Done():
		}
		close(expired)
	}()
	sem := make(chan struct{}, w.plan.DialConcurrency)
	var wg sync.WaitGroup
	for _, c := range w.conns {
		select {
		case sem <- struct{}{}:
		case <-expired:
		}
		if isClosed(expired) {
			break
		}
		c.start()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			select {
			case <-c.up:
			case <-expired:
			}
		}()
	}
	wg.Wait()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// joinAll joins every established connection to its room and sets the stream's
// base to the join's last_seq. The phase as a whole is bounded by the connect
// timeout: a join still pending then is counted and its stream left unjoined.
func (w *worker) joinAll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, w.plan.ConnectTimeout)
	defer cancel()
	tried := make([]atomic.Bool, len(w.conns))
	_ = parallel(ctx, len(w.conns), 256, func(ctx context.Context, i int) error {
		c := w.conns[i]
		if !c.isUp() {
			return nil
		}
		tried[i].Store(true)
		jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		last, err := c.cl.Join(jctx, c.room)
		if err != nil {
			w.errs.add("join:" + errorKind(err))
			w.log.Debug("join failed", "conn", c.spec.Index, "err", err)
			return nil
		}
		c.st.setBase(last)
		w.bumpRoomMax(c.spec.Room, last)
		c.joined.Store(true)
		return nil
	})
	for i, c := range w.conns {
		if c.isUp() && !tried[i].Load() {
			w.errs.add("join:not_attempted") // the phase's time ran out first
		}
	}
}

// diagnoseFailures dials again, once, for up to 20 connections that never came up,
// to tell the report why: the client retries silently and does not say.
func (w *worker) diagnoseFailures(ctx context.Context) map[string]int64 {
	kinds := map[string]int64{}
	var failed []*conn
	for _, c := range w.conns {
		if !c.isUp() {
			failed = append(failed, c)
		}
	}
	if len(failed) > 20 {
		kinds["undiagnosed"] = int64(len(failed) - 20)
		failed = failed[:20]
	}
	var mu sync.Mutex
	_ = parallel(ctx, len(failed), len(failed), func(ctx context.Context, i int) error {
		c := failed[i]
		kind := "not_started" // the connect phase ended before its turn
		if c.cl != nil {
			kind = diagnose(ctx, c.url, c.user.Token, c.local)
		}
		mu.Lock()
		kinds[kind]++
		mu.Unlock()
		return nil
	})
	return kinds
}

// diagnose makes one handshake like client.Client's and classifies its outcome.
func diagnose(ctx context.Context, url, token string, local net.Addr) string {
	d := ws.Dialer{
		Header:  ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}}),
		Timeout: 5 * time.Second,
	}
	if local != nil {
		d.NetDial = (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, 6*time.Second)
	defer cancel()
	nc, _, _, err := d.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/ws")
	if err == nil {
		nc.Close()
		return "slow_handshake" // it works now: it only took longer than the timeout
	}
	return dialErrorKind(err)
}

// dialErrorKind names a handshake failure.
func dialErrorKind(err error) string {
	var se ws.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return "http_" + strconv.Itoa(int(se))
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no_source_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "dial_error"
}

// closeAll closes every client, many at a time (each Close waits for its goroutine).
func (w *worker) closeAll() {
	_ = parallel(context.Background(), len(w.conns), 512, func(_ context.Context, i int) error {
		if c := w.conns[i]; c.cl != nil {
			_ = c.cl.Close()
		}
		return nil
	})
}

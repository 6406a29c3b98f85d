package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
)

// State is the connection state a Client reports.
type State int

// The states of a Client.
const (
	Disconnected State = iota
	Connecting
	Connected
)

func (s State) String() string {
	return [...]string{"disconnected", "connecting", "connected"}[s]
}

// Config configures a Client.
type Config struct {
	// URL is the base URL of any node, e.g. http://127.0.0.1:8080.
	URL string
	// Token is the bearer token sent in the handshake.
	Token string
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults 100 ms and 10 s);
	// the n-th retry waits a uniformly random time in [0, min(Max, Min*2^n)].
	MinBackoff, MaxBackoff time.Duration
	// LocalAddr, when set, is the source address of connections (spreads load
	// tests over 127.0.0.x).
	LocalAddr net.Addr
	// OnEvent receives every server event (not acks or errors of commands).
	OnEvent func(Event)
	// KeepRepeats passes to OnEvent a message_created whose seq is at or below the
	// last one delivered in its room, which the client otherwise drops. The contract
	// says a resume replays exactly what was missed, so only a server fault repeats
	// or reorders a message: an application wants it dropped, a checker of the
	// server (the load tester) wants to count it.
	KeepRepeats bool
	// OnState receives every state change.
	OnState func(State)
	// ResendAfter is how long a command waits for its answer before it is sent
	// again on the same connection (default 5 s): a send whose outcome the server
	// could not know gets no answer, and the resend (same client_msg_id) gets the
	// stored message or a fresh commit.
	ResendAfter time.Duration
}

// Event is a server frame: an event, or the reply to a command.
type Event struct {
	Type  string          `json:"type"`
	ID    string          `json:"id,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *chat.Error     `json:"error,omitempty"`
}

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("client: closed")

// ErrRejected is returned when the server refuses the handshake for good (401/403):
// the Client stops reconnecting.
var ErrRejected = errors.New("client: handshake rejected")

// command is a frame waiting for its ack; it is resent after every reconnect.
type command struct {
	frame []byte
	reply chan Event
}

// Client is a reconnecting connection. Create it with New.
type Client struct {
	cfg Config

	mu       sync.Mutex
	state    State
	conn     net.Conn
	pending  map[string]*command // by id, awaiting ack
	order    []string            // ids in send order, for resending
	rooms    map[chat.ID]int64   // joined rooms -> last delivered seq
	nextID   uint64
	closed   bool
	fatalErr error

	wmu  sync.Mutex // serialises frame writes
	done chan struct{}
	wg   sync.WaitGroup
}

// New starts a Client; it connects in the background.
func New(cfg Config) *Client {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.ResendAfter <= 0 {
		cfg.ResendAfter = 5 * time.Second
	}
	c := &Client{cfg: cfg, pending: map[string]*command{}, rooms: map[chat.ID]int64{}, done: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

// State returns the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Close stops the client and fails every waiting call with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conn := c.conn
	c.mu.Unlock()
	close(c.done)
	if conn != nil {
		conn.Close()
	}
	c.wg.Wait()
	return nil
}

// Do sends a command and waits for its ack's data or its error. The command is
// resent after a reconnect until it is answered or ctx ends.
func (c *Client) Do(ctx context.Context, typ string, data any) (json.RawMessage, error) {
	c.mu.Lock()
	if c.closed || c.fatalErr != nil {
		err := c.fatalErr
		c.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return nil, err
	}
	c.nextID++
	id := fmt.Sprintf("c%d", c.nextID)
	frame, err := json.Marshal(map[string]any{"type": typ, "id": id, "data": data})
	if err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: encode %s: %w", typ, err)
	}
	cmd := &command{frame: frame, reply: make(chan Event, 1)}
	c.pending[id] = cmd
	c.order = append(c.order, id)
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		_ = c.write(conn, frame) // a failure shows up in the reader; the resend follows
	}
	defer c.forget(id)
	resend := time.NewTicker(c.cfg.ResendAfter)
	defer resend.Stop()
	for {
		select {
		case ev := <-cmd.reply:
			if ev.Type == "error" {
				if ev.Error == nil {
					return nil, errors.New("client: error frame without error")
				}
				return nil, ev.Error
			}
			return ev.Data, nil
		case <-resend.C:
			c.mu.Lock()
			conn := c.conn
			c.mu.Unlock()
			if conn != nil {
				_ = c.write(conn, frame)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, ErrClosed
		}
	}
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
	for i, v := range c.order {
		if v == id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

// Join joins a room (from its newest message on) and keeps it joined across
// reconnects, resuming from the last delivered seq. It returns the join's last_seq.
func (c *Client) Join(ctx context.Context, room chat.ID) (int64, error) {
	c.mu.Lock()
	since, known := c.rooms[room]
	if !known {
		// Track the room from now on, so a message that arrives before the ack is
		// counted and a reconnect in between cannot deliver it twice.
		c.rooms[room] = 0
	}
	c.mu.Unlock()
	data := map[string]any{"room_id": room}
	if known {
		data["since_seq"] = since
	}
	raw, err := c.Do(ctx, "join_room", data)
	if err != nil {
		return 0, err
	}
	var ack struct {
		LastSeq int64 `json:"last_seq"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil {
		return 0, fmt.Errorf("client: join ack: %w", err)
	}
	c.mu.Lock()
	if cur, ok := c.rooms[room]; !ok || cur < ack.LastSeq {
		c.rooms[room] = ack.LastSeq
	}
	c.mu.Unlock()
	return ack.LastSeq, nil
}

// JoinFrom joins a room replaying every message after since (0: the whole room).
func (c *Client) JoinFrom(ctx context.Context, room chat.ID, since int64) (int64, error) {
	c.mu.Lock()
	c.rooms[room] = since
	c.mu.Unlock()
	return c.Join(ctx, room)
}

// Leave leaves a room and stops resuming it.
func (c *Client) Leave(ctx context.Context, room chat.ID) error {
	c.mu.Lock()
	delete(c.rooms, room)
	c.mu.Unlock()
	_, err := c.Do(ctx, "leave_room", map[string]any{"room_id": room})
	return err
}

// Send sends a message with a fresh client_msg_id and returns it once durable.
// While disconnected it waits in the outbox and goes out after the reconnect.
func (c *Client) Send(ctx context.Context, room chat.ID, content string) (*chat.Message, error) {
	return c.SendWithID(ctx, room, content, chat.NewID().String())
}

// SendWithID is Send with the caller's client_msg_id (for resends across restarts).
func (c *Client) SendWithID(ctx context.Context, room chat.ID, content, clientMsgID string) (*chat.Message, error) {
	raw, err := c.Do(ctx, "send_message", map[string]any{"room_id": room, "content": content, "client_msg_id": clientMsgID})
	if err != nil {
		return nil, err
	}
	var ack struct {
		Message chat.Message `json:"message"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil {
		return nil, fmt.Errorf("client: send ack: %w", err)
	}
	return &ack.Message, nil
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	changed := c.state != s
	c.state = s
	c.mu.Unlock()
	if changed && c.cfg.OnState != nil {
		c.cfg.OnState(s)
	}
}

// run connects, reads until the connection fails, and reconnects with backoff.
func (c *Client) run() {
	defer c.wg.Done()
	defer c.setState(Disconnected)
	for attempt := 0; ; attempt++ {
		select {
		case <-c.done:
			return
		default:
		}
		c.setState(Connecting)
		conn, br, err := c.dial()
		if err != nil {
			if errors.Is(err, ErrRejected) {
				c.fail(err)
				return
			}
			if !c.sleep(c.backoff(attempt)) {
				return
			}
			continue
		}
		attempt = -1
		c.serve(conn, br)
		c.setState(Disconnected)
		// Spread reconnects: when a node goes away, all its clients lose their
		// connection at once and must not come back at once.
		if !c.sleep(time.Duration(rand.Int64N(int64(4*c.cfg.MinBackoff) + 1))) {
			return
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff << min(attempt, 20)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// fail makes every waiting and future call return err.
func (c *Client) fail(err error) {
	c.mu.Lock()
	c.fatalErr = err
	for id, cmd := range c.pending {
		select {
		case cmd.reply <- Event{Type: "error", Error: &chat.Error{Code: chat.CodeUnauthorized, Message: err.Error()}}:
		default:
		}
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func (c *Client) dial() (net.Conn, *bufio.Reader, error) {
	u := strings.Replace(strings.TrimRight(c.cfg.URL, "/"), "http", "ws", 1) + "/ws"
	d := ws.Dialer{
		Header:  ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + c.cfg.Token}}),
		Timeout: 10 * time.Second,
	}
	if c.cfg.LocalAddr != nil {
		nd := &net.Dialer{LocalAddr: c.cfg.LocalAddr, Timeout: 10 * time.Second}
		d.NetDial = nd.DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		var se ws.StatusError
		if errors.As(err, &se) && (int(se) == http.StatusUnauthorized || int(se) == http.StatusForbidden) {
			return nil, nil, fmt.Errorf("%w: %d", ErrRejected, int(se))
		}
		return nil, nil, fmt.Errorf("client: dial %s: %w", u, err)
	}
	// br holds whatever the server sent right after the handshake (it may speak
	// first, e.g. presence): reading goes on from it.
	if br == nil {
		br = bufio.NewReaderSize(conn, 8<<10)
	}
	return conn, br, nil
}

// serve runs one connection: re-join rooms, resend unanswered commands, then read.
func (c *Client) serve(conn net.Conn, br *bufio.Reader) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return
	}
	c.conn = conn
	resend := make([][]byte, 0, len(c.order))
	for _, id := range c.order {
		resend = append(resend, c.pending[id].frame)
	}
	rooms := make(map[chat.ID]int64, len(c.rooms))
	for r, s := range c.rooms {
		rooms[r] = s
	}
	c.mu.Unlock()
	c.setState(Connected)
	for room, since := range rooms {
		frame, _ := json.Marshal(map[string]any{"type": "join_room", "data": map[string]any{"room_id": room, "since_seq": since}})
		_ = c.write(conn, frame)
	}
	for _, f := range resend {
		_ = c.write(conn, f)
	}
	c.read(conn, br)
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
	conn.Close()
}

// write sends one masked text frame in one syscall.
func (c *Client) write(conn net.Conn, payload []byte) error {
	f := ws.MaskFrame(ws.NewTextFrame(payload)) // a copy: payload is resent as it is
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	bw := bufio.NewWriterSize(conn, len(payload)+14)
	if err := ws.WriteFrame(bw, f); err != nil {
		return err
	}
	return bw.Flush()
}

// read handles frames until the connection fails.
func (c *Client) read(conn net.Conn, br *bufio.Reader) {
	for {
		hdr, err := ws.ReadHeader(br)
		if err != nil {
			return
		}
		if hdr.Length > 16<<20 {
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		switch hdr.OpCode {
		case ws.OpPing:
			c.wmu.Lock()
			f := ws.MaskFrameInPlace(ws.NewPongFrame(payload))
			_ = ws.WriteFrame(conn, f)
			c.wmu.Unlock()
		case ws.OpClose:
			return
		case ws.OpText:
			if !hdr.Fin {
				return // the server never fragments
			}
			c.dispatch(payload)
		}
	}
}

// dispatch routes a frame: replies to their waiting command, events to OnEvent
// (message_created only when new for its room, unless Config.KeepRepeats).
func (c *Client) dispatch(payload []byte) {
	ev, ok := fastEvent(payload)
	if !ok {
		if err := json.Unmarshal(payload, &ev); err != nil {
			return
		}
	}
	if ev.ID != "" && (ev.Type == "ack" || ev.Type == "error" || ev.Type == "pong") {
		c.mu.Lock()
		cmd := c.pending[ev.ID]
		c.mu.Unlock()
		if cmd != nil {
			select {
			case cmd.reply <- ev:
			default:
			}
		}
		return
	}
	if ev.Type == "message_created" && !c.advance(ev.Data) && !c.cfg.KeepRepeats {
		return
	}
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(ev)
	}
}

// advance records a message_created's seq; false when it was already delivered.
func (c *Client) advance(data json.RawMessage) bool {
	var m struct {
		RoomID  chat.ID `json:"room_id"`
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	}
	if room, seq, ok := fastMessageSeq(data); ok {
		m.RoomID, m.Message.Seq = room, seq
	} else if json.Unmarshal(data, &m) != nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last, joined := c.rooms[m.RoomID]
	if joined && m.Message.Seq <= last {
		return false
	}
	if joined {
		c.rooms[m.RoomID] = m.Message.Seq
	}
	return true
}

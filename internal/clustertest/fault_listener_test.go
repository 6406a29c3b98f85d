package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
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

// listener is a raw WebSocket reader of a user's rooms: it records every
// message_created frame as the server sent it (no deduplication), and reconnects
// and resumes each room with since_seq = the highest seq it got. A join left
// unanswered for joinResendAfter is sent again, as the client package does; only
// then, in that room on that connection, are seqs it already has not recorded again
// (both joins may be answered, each with its own replay).
type listener struct {
	w     *workload
	name  string
	home  int
	token string
	rooms []chat.ID

	mu     sync.Mutex
	last   map[chat.ID]int64
	joined map[chat.ID]bool
	asked  map[chat.ID]time.Time // joins awaiting their answer, by when they were sent
	resent map[chat.ID]bool      // rooms whose join was sent again on this connection
	conn   net.Conn
	wmu    sync.Mutex // serialises frame writes
	closed bool

	stop chan struct{}
	done chan struct{}
}

func newListener(w *workload, name string, home int, token string, rooms []chat.ID) *listener {
	l := &listener{w: w, name: name, home: home, token: token, rooms: rooms,
		last: map[chat.ID]int64{}, joined: map[chat.ID]bool{}, asked: map[chat.ID]time.Time{}, resent: map[chat.ID]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, r := range rooms {
		// Every message after seq 0: the first join replays the whole room.
		w.h.Subscribe(name, w.c.nodes[home].name, r.String(), 0)
	}
	go l.run()
	return l
}

func (l *listener) lastSeq(room string) int64 {
	id, err := chat.ParseID(room)
	if err != nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[id]
}

func (l *listener) joinedAll() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.joined) == len(l.rooms)
}

func (l *listener) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	conn := l.conn
	l.mu.Unlock()
	close(l.stop)
	if conn != nil {
		conn.Close()
	}
	<-l.done
}

func (l *listener) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// run connects, serves the connection until it fails, and reconnects with a
// short jittered backoff, until close.
func (l *listener) run() {
	defer close(l.done)
	node := l.w.c.nodes[l.home].name
	for attempt := 0; !l.stopped(); attempt++ {
		conn, br, err := l.dial(l.w.url(l.home))
		if err != nil {
			d := min(50*time.Millisecond<<min(attempt, 5), time.Second)
			select {
			case <-l.stop:
				return
			case <-time.After(d/2 + time.Duration(rand.Int64N(int64(d/2)))):
			}
			continue
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			conn.Close()
			return
		}
		l.conn = conn
		l.mu.Unlock()
		if attempt > 0 {
			l.w.h.Note(l.name, node, fmt.Sprintf("reconnected after %d attempts: %s -> %s", attempt, conn.LocalAddr(), conn.RemoteAddr()))
		}
		attempt = -1
		l.serve(conn, br)
		l.mu.Lock()
		l.conn = nil
		l.mu.Unlock()
		conn.Close()
		l.w.h.Note(l.name, node, "disconnected")
	}
}

func (l *listener) dial(url string) (net.Conn, *bufio.Reader, error) {
	u := strings.Replace(strings.TrimRight(url, "/"), "http", "ws", 1) + "/ws"
	d := ws.Dialer{
		Header:  ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + l.token}}),
		Timeout: 5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 8<<10)
	}
	return conn, br, nil
}

// joinResendAfter is how long a join waits for its answer before it is sent again,
// as the client package does with every command (client.Config.ResendAfter): the
// server does not answer when it cannot know an outcome.
const joinResendAfter = 5 * time.Second

// join asks for every message of room after the highest seq received.
func (l *listener) join(conn net.Conn, room chat.ID) {
	l.mu.Lock()
	since := l.last[room]
	l.asked[room] = time.Now()
	l.mu.Unlock()
	frame, _ := json.Marshal(map[string]any{"type": "join_room", "id": "join:" + room.String(),
		"data": map[string]any{"room_id": room, "since_seq": since}})
	_ = l.write(conn, ws.NewTextFrame(frame))
}

func (l *listener) write(conn net.Conn, f ws.Frame) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return ws.WriteFrame(conn, ws.MaskFrameInPlace(f))
}

// resendJoins sends again the joins of conn left unanswered for joinResendAfter,
// until done is closed.
func (l *listener) resendJoins(conn net.Conn, done chan struct{}) {
	t := time.NewTicker(joinResendAfter / 5)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		var again []chat.ID
		l.mu.Lock()
		for room, at := range l.asked {
			if time.Since(at) >= joinResendAfter {
				again = append(again, room)
			}
		}
		l.mu.Unlock()
		for _, room := range again {
			l.w.h.Note(l.name, l.w.c.nodes[l.home].name, "join "+room.String()+" unanswered; sending it again")
			l.mu.Lock()
			l.resent[room] = true
			l.mu.Unlock()
			l.join(conn, room)
		}
	}
}

// serve joins every room and reads frames until the connection fails.
func (l *listener) serve(conn net.Conn, br *bufio.Reader) {
	l.mu.Lock()
	clear(l.asked)
	clear(l.resent)
	l.mu.Unlock()
	for _, r := range l.rooms {
		l.join(conn, r)
	}
	done := make(chan struct{})
	defer close(done)
	go l.resendJoins(conn, done)
	for {
		hdr, err := ws.ReadHeader(br)
		if err != nil || hdr.Length > 16<<20 {
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		switch hdr.OpCode {
		case ws.OpPing:
			_ = l.write(conn, ws.NewPongFrame(payload))
		case ws.OpClose:
			l.w.closed(l, payload)
			return
		case ws.OpText:
			l.handle(conn, payload)
		}
	}
}

// handle records a message_created, or notes a join's ack or error (a refused join
// is asked again, so that the listener stays subscribed).
func (l *listener) handle(conn net.Conn, payload []byte) {
	var f struct {
		Type  string          `json:"type"`
		ID    string          `json:"id"`
		Data  json.RawMessage `json:"data"`
		Error *chat.Error     `json:"error"`
	}
	if json.Unmarshal(payload, &f) != nil {
		return
	}
	node := l.w.c.nodes[l.home].name
	switch {
	case f.Type == "message_created":
		var d struct {
			RoomID  chat.ID      `json:"room_id"`
			Message chat.Message `json:"message"`
		}
		if json.Unmarshal(f.Data, &d) != nil {
			return
		}
		cmid := ""
		if d.Message.ClientMsgID != nil {
			cmid = *d.Message.ClientMsgID
		}
		l.mu.Lock()
		again := l.resent[d.RoomID] && d.Message.Seq <= l.last[d.RoomID]
		l.mu.Unlock()
		if again {
			// Both the join and its resend were answered, each replaying from the
			// since_seq it asked for (API.md: a re-join replays again): the listener
			// asked twice, the server did not duplicate.
			l.w.h.Note(l.name, node, fmt.Sprintf("%s seq %d replayed again for a resent join", d.RoomID, d.Message.Seq))
			return
		}
		l.w.h.Deliver(l.name, node, d.RoomID.String(), d.Message.Seq, d.Message.ID.String(), cmid)
		l.mu.Lock()
		l.last[d.RoomID] = max(l.last[d.RoomID], d.Message.Seq)
		l.mu.Unlock()
	case f.Type == "ack" && strings.HasPrefix(f.ID, "join:"):
		if room, err := chat.ParseID(strings.TrimPrefix(f.ID, "join:")); err == nil {
			l.mu.Lock()
			l.joined[room] = true
			delete(l.asked, room)
			l.mu.Unlock()
			var ack struct {
				LastSeq int64 `json:"last_seq"`
			}
			_ = json.Unmarshal(f.Data, &ack)
			l.w.h.Note(l.name, node, fmt.Sprintf("joined %s, last_seq %d", room, ack.LastSeq))
		}
	case f.Type == "error" && strings.HasPrefix(f.ID, "join:"):
		room, err := chat.ParseID(strings.TrimPrefix(f.ID, "join:"))
		if err != nil {
			return
		}
		l.mu.Lock()
		delete(l.asked, room)
		l.mu.Unlock()
		code := ""
		if f.Error != nil {
			code = string(f.Error.Code)
		}
		l.w.h.Note(l.name, node, "join "+room.String()+" refused: "+code+"; joining again")
		time.AfterFunc(200*time.Millisecond, func() {
			l.mu.Lock()
			current := l.conn == conn && !l.closed
			l.mu.Unlock()
			if current {
				l.join(conn, room)
			}
		})
	}
}

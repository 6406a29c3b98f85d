package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
	wsclient "github.com/chatd/chatd/client"
	"github.com/chatd/chatd/node"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// events records a client's events.
type events struct {
	mu  sync.Mutex
	all []wsclient.Event
}

func (e *events) add(ev wsclient.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// of returns the recorded events of type typ.
func (e *events) of(typ string) []wsclient.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []wsclient.Event
	for _, ev := range e.all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// seqsOf returns the seqs of the recorded message_created events of room.
func (e *events) seqsOf(room chat.ID) []int64 {
	var out []int64
	for _, ev := range e.of("message_created") {
		var d struct {
			RoomID  chat.ID      `json:"room_id"`
			Message chat.Message `json:"message"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.RoomID == room {
			out = append(out, d.Message.Seq)
		}
	}
	return out
}

// wsConnect opens a reconnecting client for c and waits until it is connected.
func (c *client) wsConnect(t testing.TB) (*wsclient.Client, *events) {
	t.Helper()
	rec := &events{}
	cl := wsclient.New(wsclient.Config{URL: c.e.srv.URL, Token: c.token, OnEvent: rec.add,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { cl.Close() })
	waitFor(t, "connected", 5*time.Second, func() bool { return cl.State() == wsclient.Connected })
	return cl, rec
}

func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWSMessagesReachEveryMemberOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		owner, member := e.register("wsown"), e.register("wsmem")
		room := owner.newGroupRoom(chat.RoomPublic)
		member.joinRoom(room.ID)
		ca, ea := owner.wsConnect(t)
		cb, eb := member.wsConnect(t)
		ctx := ctx5(t)
		for _, c := range []*wsclient.Client{ca, cb} {
			if _, err := c.Join(ctx, room.ID); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 5; i++ {
			if _, err := ca.Send(ctx, room.ID, fmt.Sprintf("ws %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		// REST sends reach WebSocket subscribers too.
		member.mustJSON("POST", roomPath(room.ID, "/messages"), map[string]any{"content": "by rest"}, http.StatusCreated, nil)
		for _, rec := range []*events{ea, eb} {
			waitFor(t, "6 messages", 5*time.Second, func() bool { return len(rec.seqsOf(room.ID)) >= 6 })
		}
		a, b := ea.seqsOf(room.ID), eb.seqsOf(room.ID)
		if fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 6 {
			t.Fatalf("owner saw %v, member saw %v", a, b)
		}
		for i := 1; i < len(a); i++ {
			if a[i] != a[i-1]+1 {
				t.Fatalf("seqs not consecutive: %v", a)
			}
		}
	})
}

func TestWSResumeAfterDisconnectIsExact(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		owner := e.register("wsres")
		room := owner.newGroupRoom(chat.RoomPublic)
		ctx := ctx5(t)
		// History longer than the owner's recent buffer forces a store replay.
		for i := 0; i < 120; i++ {
			e.sendDirect(t, room.ID, owner, fmt.Sprintf("old %d", i))
		}
		cl, rec := owner.wsConnect(t)
		if _, err := cl.JoinFrom(ctx, room.ID, 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "replay of 120", 5*time.Second, func() bool { return len(rec.seqsOf(room.ID)) >= 120 })
		// Cut every connection: the client reconnects and resumes with since_seq while
		// messages keep arriving.
		e.api.hub.kickConns(owner.user.ID)
		for i := 0; i < 30; i++ {
			e.sendDirect(t, room.ID, owner, fmt.Sprintf("during %d", i))
		}
		waitFor(t, "connected again", 5*time.Second, func() bool { return cl.State() == wsclient.Connected })
		for i := 0; i < 10; i++ {
			if _, err := cl.Send(ctx, room.ID, fmt.Sprintf("after %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "all 160", 5*time.Second, func() bool { return len(rec.seqsOf(room.ID)) >= 160 })
		got := rec.seqsOf(room.ID)
		for i, s := range got {
			if s != int64(i+1) {
				t.Fatalf("delivery %d has seq %d (missing or duplicate): %v", i, s, got)
			}
		}
	})
}

// sendDirect stores a message through the node, without the rate limit.
func (e *testEnv) sendDirect(t testing.TB, room chat.ID, c *client, content string) {
	t.Helper()
	_, _, err := e.node.Send(context.Background(), &node.SendRequest{RoomID: room, Sender: c.user,
		Type: chat.MessageText, Content: content, ContentHTML: content})
	if err != nil {
		t.Fatal(err)
	}
}

// kickConns drops every connection of user, as a network failure would.
func (h *wsHub) kickConns(user chat.ID) {
	h.mu.Lock()
	var conns []*wsClient
	for c := range h.users[user] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(ws.StatusGoingAway, "test disconnect")
	}
}

// rawWS is a bare WebSocket connection for malformed-frame tests.
type rawWS struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func (c *client) dialRaw(t testing.TB, header http.Header) (*rawWS, error) {
	return c.dialRawWith(t, header, nil)
}

// dialRawWith is dialRaw with a custom TCP dialer (socket options).
func (c *client) dialRawWith(t testing.TB, header http.Header, nd *net.Dialer) (*rawWS, error) {
	if header == nil {
		header = http.Header{}
	}
	if c.token != "" {
		header.Set("Authorization", "Bearer "+c.token)
	}
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(header), Timeout: 5 * time.Second}
	if nd != nil {
		d.NetDial = nd.DialContext
	}
	conn, br, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(c.e.srv.URL, "http")+"/ws")
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawWS{t: t, conn: conn, br: br}, nil
}

func (r *rawWS) write(op ws.OpCode, payload []byte) {
	f := ws.MaskFrameInPlace(ws.NewFrame(op, true, payload))
	if err := ws.WriteFrame(r.conn, f); err != nil {
		r.t.Fatal(err)
	}
}

// next reads the next data frame; for a close frame it returns its code.
func (r *rawWS) next() (op ws.OpCode, payload []byte, code ws.StatusCode) {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		hdr, err := ws.ReadHeader(r.br)
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		payload = make([]byte, hdr.Length)
		if _, err := io.ReadFull(r.br, payload); err != nil {
			r.t.Fatalf("read payload: %v", err)
		}
		switch hdr.OpCode {
		case ws.OpPing, ws.OpPong:
			continue
		case ws.OpClose:
			code, _ = ws.ParseCloseFrameData(payload)
			return hdr.OpCode, payload, code
		}
		if strings.HasPrefix(string(payload), `{"type":"presence_updated"`) {
			continue // presence comes and goes on its own schedule
		}
		return hdr.OpCode, payload, 0
	}
}

// closeCode skips data frames until the close frame and returns its code.
func (r *rawWS) closeCode() ws.StatusCode {
	r.t.Helper()
	for {
		op, _, code := r.next()
		if op == ws.OpClose {
			return code
		}
	}
}

func (r *rawWS) expectError(code chat.Code) {
	r.t.Helper()
	op, payload, _ := r.next()
	var f struct {
		Type  string      `json:"type"`
		Error *chat.Error `json:"error"`
	}
	if op != ws.OpText || json.Unmarshal(payload, &f) != nil || f.Type != "error" || f.Error == nil || f.Error.Code != code {
		r.t.Fatalf("got %v %s, want an error frame with code %s", op, payload, code)
	}
}

func TestWSBadFrames(t *testing.T) {
	e := newEnv(t, "embedded")
	u := e.register("wsbad")
	cases := []struct {
		name string
		send func(r *rawWS)
		code chat.Code     // error frame expected, connection stays open
		cls  ws.StatusCode // or a close code
	}{
		{"invalid json", func(r *rawWS) { r.write(ws.OpText, []byte("{nope")) }, chat.CodeBadRequest, 0},
		{"unknown type", func(r *rawWS) { r.write(ws.OpText, []byte(`{"type":"fly","id":"1","data":{}}`)) }, chat.CodeBadRequest, 0},
		{"missing field", func(r *rawWS) { r.write(ws.OpText, []byte(`{"type":"join_room","id":"1","data":{}}`)) }, chat.CodeBadRequest, 0},
		{"unknown field", func(r *rawWS) {
			r.write(ws.OpText, []byte(`{"type":"leave_room","id":"1","data":{"room_id":"x","evil":1}}`))
		}, chat.CodeBadRequest, 0},
		{"binary frame", func(r *rawWS) { r.write(ws.OpBinary, []byte("hi")) }, "", ws.StatusUnsupportedData},
		{"invalid utf-8", func(r *rawWS) { r.write(ws.OpText, []byte{'"', 0xff, 0xfe, '"'}) }, "", ws.StatusInvalidFramePayloadData},
		{"over 64 KiB", func(r *rawWS) { r.write(ws.OpText, make([]byte, 64<<10+1)) }, "", ws.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := u.dialRaw(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.send(r)
			if tc.cls != 0 {
				op, _, code := r.next()
				if op != ws.OpClose || code != tc.cls {
					t.Fatalf("got op %v code %d, want close %d", op, code, tc.cls)
				}
				return
			}
			r.expectError(tc.code)
			// The connection stays open: a ping is still answered by its id.
			r.write(ws.OpText, []byte(`{"type":"ping","id":"p1","data":{}}`))
			op, payload, _ := r.next()
			if op != ws.OpText || !strings.Contains(string(payload), `"pong"`) || !strings.Contains(string(payload), `"p1"`) {
				t.Fatalf("after a bad frame, ping got %v %s", op, payload)
			}
		})
	}
}

func TestWSHandshakeRefusals(t *testing.T) {
	e := newEnv(t, "embedded")
	u := e.register("wshs")
	host := strings.TrimPrefix(e.srv.URL, "http://")
	cases := []struct {
		name   string
		client *client
		origin string
		query  string
		want   int
	}{
		{"no token", e.anon(), "", "", http.StatusUnauthorized},
		{"bad token", &client{e: e, token: "x.y.z"}, "", "", http.StatusUnauthorized},
		{"foreign origin", u, "http://evil.example", "", http.StatusForbidden},
		{"look-alike origin", u, "http://" + host + ".evil.example", "", http.StatusForbidden},
		{"scheme-less origin", u, host, "", http.StatusForbidden},
		{"own origin", u, "http://" + host, "", http.StatusSwitchingProtocols},
		{"no origin", u, "", "", http.StatusSwitchingProtocols},
		{"query token", e.anon(), "http://" + host, "?token=" + u.token, http.StatusSwitchingProtocols},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/ws"+tc.query, nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.client.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.client.token)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				body, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want >= 400 {
				var env errorEnvelope
				if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Error == nil {
					t.Fatalf("refusal without the error envelope: %v", err)
				}
			}
		})
	}
}

func TestWSRateLimitAndTyping(t *testing.T) {
	e := newEnv(t, "embedded")
	a, b := e.register("wsrl"), e.register("wsty")
	room := a.newGroupRoom(chat.RoomPublic)
	b.joinRoom(room.ID)
	ca, _ := a.wsConnect(t)
	cb, eb := b.wsConnect(t)
	ctx := ctx5(t)
	for _, c := range []*wsclient.Client{ca, cb} {
		if _, err := c.Join(ctx, room.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < chat.SendLimit; i++ {
		if _, err := ca.Send(ctx, room.ID, fmt.Sprint(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	_, err := ca.Send(ctx, room.ID, "one too many")
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != chat.CodeRateLimited || ce.RetryAfterMs <= 0 {
		t.Fatalf("11th send: %v, want rate_limited with retry_after_ms", err)
	}
	if _, err := ca.Do(ctx, "typing_start", map[string]any{"room_id": room.ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "typing on", 3*time.Second, func() bool { return len(eb.of("user_typing")) >= 1 })
	// No refresh: the indicator ends by itself after 5 s.
	waitFor(t, "typing expiry", 8*time.Second, func() bool { return len(eb.of("user_typing")) >= 2 })
	var d typingEvent
	evs := eb.of("user_typing")
	if err := json.Unmarshal(evs[1].Data, &d); err != nil || d.Typing || d.UserID != a.user.ID {
		t.Fatalf("second typing event %s, want typing=false for %s", evs[1].Data, a.user.ID)
	}
}

func TestWSLogoutClosesSockets(t *testing.T) {
	e := newEnv(t, "embedded")
	u := e.register("wsout")
	r, err := u.dialRaw(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.mustJSON("POST", "/auth/logout", nil, http.StatusNoContent, nil)
	if code := r.closeCode(); code != ws.StatusPolicyViolation {
		t.Fatalf("after logout: close code %d, want 1008", code)
	}
}

func TestWSPresenceAcrossDevices(t *testing.T) {
	e := newEnv(t, "embedded")
	alice, bob := e.register("wspa"), e.register("wspb")
	room := alice.newGroupRoom(chat.RoomPublic)
	bob.joinRoom(room.ID)
	_, eb := bob.wsConnect(t)
	statusOf := func() []string {
		var out []string
		for _, ev := range eb.of("presence_updated") {
			var p PresenceEvent
			if json.Unmarshal(ev.Data, &p) == nil && p.UserID == alice.user.ID {
				out = append(out, string(p.Status))
			}
		}
		return out
	}
	phone, _ := alice.wsConnect(t)
	waitFor(t, "alice online", 5*time.Second, func() bool { return len(statusOf()) == 1 })
	laptop, _ := alice.wsConnect(t)
	phone.Close()
	laptop.Close()
	waitFor(t, "alice offline", 5*time.Second, func() bool { return len(statusOf()) == 2 })
	if got := statusOf(); got[0] != "online" || got[1] != "offline" {
		t.Fatalf("presence of alice seen by bob: %v, want [online offline]", got)
	}
	var me chat.User
	alice.mustJSON("GET", "/users/"+alice.user.ID.String(), nil, http.StatusOK, &me)
}

func TestWSSlowConsumerIsCutOthersKeepUp(t *testing.T) {
	// Default queue bounds (256 frames); a small server send buffer and a tiny receive
	// buffer on the slow client make its backlog reach the queue quickly, while the
	// fast member has the whole queue as slack even on a loaded machine.
	e := newEnvWith(t, "embedded", func(c *Config) { c.WS.SocketSendBuffer = 32 << 10 })
	owner, slow := e.register("wsfast"), e.register("wsslow")
	room := owner.newGroupRoom(chat.RoomPublic)
	slow.joinRoom(room.ID)
	fast, rec := owner.wsConnect(t)
	var fastDrops atomic.Int32
	ctx := ctx5(t)
	if _, err := fast.Join(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	// The slow member joins and then never reads.
	tiny := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	r, err := slow.dialRawWith(t, nil, tiny)
	if err != nil {
		t.Fatal(err)
	}
	r.write(ws.OpText, []byte(fmt.Sprintf(`{"type":"join_room","id":"j","data":{"room_id":%q}}`, room.ID)))
	waitFor(t, "slow member joined", 5*time.Second, func() bool {
		e.api.hub.mu.Lock()
		defer e.api.hub.mu.Unlock()
		f := e.api.hub.rooms[room.ID]
		if f == nil {
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.members) == 2
	})
	go func() {
		for fast.State() == wsclient.Connected {
			time.Sleep(time.Millisecond)
		}
		fastDrops.Add(1)
	}()
	big := strings.Repeat("x", 1000)
	const n = 400
	for i := 0; i < n; i++ {
		e.sendDirect(t, room.ID, owner, fmt.Sprintf("%d %s", i, big))
	}
	waitFor(t, "fast member got all", 30*time.Second, func() bool { return len(rec.seqsOf(room.ID)) >= n })
	waitFor(t, "slow member cut", 30*time.Second, func() bool {
		e.api.hub.mu.Lock()
		defer e.api.hub.mu.Unlock()
		return len(e.api.hub.users[slow.user.ID]) == 0
	})
	if fastDrops.Load() != 0 {
		t.Fatalf("the fast member was disconnected")
	}
	if code := r.closeCodeAfterDrain(); code != ws.StatusPolicyViolation {
		t.Fatalf("slow consumer closed with %d, want 1008", code)
	}
}

// closeCodeAfterDrain reads everything buffered until the close frame.
func (r *rawWS) closeCodeAfterDrain() ws.StatusCode {
	r.t.Helper()
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		hdr, err := ws.ReadHeader(r.br)
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(r.br, payload); err != nil {
			r.t.Fatalf("read payload: %v", err)
		}
		if hdr.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(payload)
			return code
		}
	}
}

func TestWSRemovedMemberStopsReceiving(t *testing.T) {
	e := newEnv(t, "embedded")
	owner, member := e.register("wsrmo"), e.register("wsrmm")
	room := owner.newGroupRoom(chat.RoomPrivate)
	owner.addMember(room.ID, member, http.StatusCreated)
	cm, em := member.wsConnect(t)
	ctx := ctx5(t)
	if _, err := cm.Join(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	e.sendDirect(t, room.ID, owner, "before")
	waitFor(t, "first message", 5*time.Second, func() bool { return len(em.seqsOf(room.ID)) == 1 })
	owner.mustJSON("DELETE", roomPath(room.ID, "/members/"+member.user.ID.String()), nil, http.StatusNoContent, nil)
	e.sendDirect(t, room.ID, owner, "after")
	// The owner's own subscription proves the message went out; the member's must not get it.
	co, eo := owner.wsConnect(t)
	if _, err := co.JoinFrom(ctx, room.ID, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "owner replay", 5*time.Second, func() bool { return len(eo.seqsOf(room.ID)) >= 3 })
	if got := em.seqsOf(room.ID); len(got) != 1 {
		t.Fatalf("removed member received %v after removal", got)
	}
	// And cannot join again.
	if _, err := cm.Join(ctx, room.ID); err == nil || chat.AsError(err) == nil || chat.AsError(err).Code != chat.CodeNotFound {
		t.Fatalf("re-join after removal: %v, want not_found", err)
	}
}

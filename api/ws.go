package api

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/wsconn"
)

// WebSocket limits of the contract's "Pinned details".
const (
	defaultMaxConnsPerUser = 100
	defaultMaxConnsPerIP   = 10000
	// maxQueuedCommands bounds a connection's commands waiting to be handled; a
	// client that pipelines more is closed 1008 rather than buffered without end.
	maxQueuedCommands = 256
	// maxPendingDuringReplay bounds the live events held for a connection while its
	// join replays history; past it the connection is cut (1008) and resumes.
	maxPendingDuringReplay = 4096
	// replayPage is how many messages one store query of a replay reads.
	replayPage = 100
	// sweepEvery is how often expired tokens and typing indicators are checked.
	sweepEvery = time.Second
)

// wsHub holds this node's WebSocket connections: per room (the fan-out groups), per
// user (notifications, presence) and per token (logout closes a token's sockets).
//
// Lock order: wsHub.mu -> roomFanout.mu -> wsClient.mu. wsconn.Conn.Send never calls
// back into the hub synchronously (OnClose defers its cleanup), so it may be called
// under roomFanout.mu, which is what keeps a room's frames in one order.
type wsHub struct {
	s   *Server
	srv *wsconn.Server

	mu     sync.Mutex
	rooms  map[chat.ID]*roomFanout
	users  map[chat.ID]map[*wsClient]struct{}
	tokens map[string]map[*wsClient]struct{}
	perIP  map[string]int
	typing map[typingKey]time.Time
	// current is each user's current room: the one they most recently joined here.
	current map[chat.ID]chat.ID

	presence       presenceCoalescer
	announcer      presenceAnnouncer
	presenceFrames presenceFrameCache
	reads          readBatcher

	maxPerUser, maxPerIP int
	stop                 chan struct{}
	stopOnce             sync.Once
}

type typingKey struct{ room, user chat.ID }

func newHub(s *Server) (*wsHub, error) {
	h := &wsHub{
		s:          s,
		rooms:      make(map[chat.ID]*roomFanout),
		users:      make(map[chat.ID]map[*wsClient]struct{}),
		tokens:     make(map[string]map[*wsClient]struct{}),
		perIP:      make(map[string]int),
		typing:     make(map[typingKey]time.Time),
		current:    make(map[chat.ID]chat.ID),
		presence:   presenceCoalescer{last: make(map[chat.ID]time.Time), pending: make(map[chat.ID]bool)},
		maxPerUser: s.cfg.MaxConnsPerUser,
		maxPerIP:   s.cfg.MaxConnsPerIP,
		stop:       make(chan struct{}),
	}
	if h.maxPerUser <= 0 {
		h.maxPerUser = defaultMaxConnsPerUser
	}
	if h.maxPerIP <= 0 {
		h.maxPerIP = defaultMaxConnsPerIP
	}
	wcfg := s.cfg.WS
	wcfg.Logger = s.log
	srv, err := wsconn.New(wcfg, h)
	if err != nil {
		return nil, err
	}
	h.srv = srv
	s.node.SetUserSink(userSink{h})
	go h.sweep()
	go h.flushReads()
	go h.publishPresenceLoop()
	return h, nil
}

// handleUpgrade answers GET /ws: token (header or ?token=), origin, connection caps,
// then the upgrade. Every refusal happens before the upgrade, with the envelope.
func (h *wsHub) handleUpgrade(w http.ResponseWriter, r *http.Request) error {
	if !h.originAllowed(r) {
		return chat.Errorf(chat.CodeForbidden, "origin not allowed")
	}
	token := r.URL.Query().Get("token")
	var (
		sess *Session
		err  error
	)
	if token != "" && r.Header.Get("Authorization") == "" {
		sess, err = h.s.auth.verify(r.Context(), token)
	} else {
		sess, err = h.s.auth.fromRequest(r)
	}
	if err != nil {
		return err
	}
	user, err := h.s.users.get(r.Context(), h.s, sess)
	if err != nil {
		return err
	}
	ip := clientIP(r)
	c := &wsClient{hub: h, sess: sess, user: *user, ip: ip, rooms: make(map[chat.ID]*roomFanout)}
	if err := h.admit(c); err != nil {
		return err
	}
	conn, err := h.srv.Upgrade(w, r, c)
	if err != nil {
		h.release(c)
		h.s.reqLog(r).Debug("websocket upgrade failed", "err", err)
		return nil // the upgrader has answered
	}
	c.conn.Store(conn)
	h.connected(c)
	return nil
}

// originAllowed implements the contract's origin rule: no Origin (non-browser
// clients) is allowed; otherwise the origin must be the server's own (its Host) or
// one configured, compared exactly on scheme, host and port, so look-alikes such as
// http://localhost:8080.evil.example fail.
func (h *wsHub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range h.s.cfg.AllowedOrigins {
		if strings.ToLower(strings.TrimRight(o, "/")) == norm {
			return true
		}
	}
	return false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// admit counts the connection against the caps, or refuses it with 429.
func (h *wsHub) admit(c *wsClient) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.users[c.sess.UserID]) >= h.maxPerUser || h.perIP[c.ip] >= h.maxPerIP {
		return &chat.Error{Code: chat.CodeTooManyConns, Message: "too many connections", RetryAfterMs: 1000}
	}
	addTo(h.users, c.sess.UserID, c)
	addTo(h.tokens, c.sess.TokenID, c)
	h.perIP[c.ip]++
	return nil
}

// release forgets a closed connection everywhere.
func (h *wsHub) release(c *wsClient) {
	c.mu.Lock()
	rooms := c.rooms
	c.rooms = map[chat.ID]*roomFanout{}
	c.mu.Unlock()
	for id, f := range rooms {
		h.leaveRoom(c, id, f)
	}
	h.mu.Lock()
	removeFrom(h.users, c.sess.UserID, c)
	if len(h.users[c.sess.UserID]) == 0 {
		delete(h.current, c.sess.UserID)
	}
	removeFrom(h.tokens, c.sess.TokenID, c)
	if h.perIP[c.ip]--; h.perIP[c.ip] <= 0 {
		delete(h.perIP, c.ip)
	}
	h.mu.Unlock()
	// Also after a failed upgrade: the connection was counted while another of the
	// user's was announced or retracted.
	h.disconnected(c)
}

func addTo[K comparable](m map[K]map[*wsClient]struct{}, k K, c *wsClient) {
	set := m[k]
	if set == nil {
		set = make(map[*wsClient]struct{})
		m[k] = set
	}
	set[c] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*wsClient]struct{}, k K, c *wsClient) {
	if set := m[k]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// OnMessage implements wsconn.Handler: it queues the frame for the connection's
// command loop, which handles one command at a time, in order.
func (h *wsHub) OnMessage(conn *wsconn.Conn, data []byte) {
	c, ok := conn.UserData().(*wsClient)
	if !ok {
		return
	}
	// A client may speak before Upgrade has returned to handleUpgrade: its replies
	// need the connection now.
	c.conn.CompareAndSwap(nil, conn)
	c.enqueue(data)
}

// OnClose implements wsconn.Handler; the cleanup runs on its own goroutine so that a
// close triggered inside Send (a slow consumer) never re-enters the hub's locks.
func (h *wsHub) OnClose(conn *wsconn.Conn, code ws.StatusCode, reason string) {
	c, ok := conn.UserData().(*wsClient)
	if !ok {
		return
	}
	c.closed.Store(true)
	go h.release(c)
}

// closeToken closes every socket of a token (logout).
func (h *wsHub) closeToken(tokenID string) {
	h.mu.Lock()
	var conns []*wsClient
	for c := range h.tokens[tokenID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(wsconn.ClosePolicyViolation, "token revoked")
	}
}

// sweep closes sockets whose token expired and ends stale typing indicators.
func (h *wsHub) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		if time.Since(lastBeat) >= h.s.cfg.PresenceHeartbeat {
			lastBeat = time.Now()
			go h.heartbeat()
		}
		now := h.s.cfg.Now()
		var expired []*wsClient
		var stale []typingKey
		h.mu.Lock()
		for _, set := range h.tokens {
			for c := range set {
				if c.sess.ExpiresAt <= now {
					expired = append(expired, c)
				}
			}
		}
		wall := time.Now()
		for k, deadline := range h.typing {
			if wall.After(deadline) {
				stale = append(stale, k)
				delete(h.typing, k)
			}
		}
		h.mu.Unlock()
		for _, c := range expired {
			c.close(wsconn.ClosePolicyViolation, "token expired")
		}
		for _, k := range stale {
			h.publishTyping(k.room, k.user, false)
		}
	}
}

// shutdown closes every connection with 1012 (service restart) and writes the read
// markers still waiting for their batch.
func (h *wsHub) shutdown(ctx context.Context) {
	h.stopOnce.Do(func() { close(h.stop) })
	h.srv.Shutdown(ctx, wsconn.CloseServiceRestart, "server restart")
	h.flushReadsOnce()
}

// userSink delivers user events (notifications, presence) to the user's sockets.
type userSink struct{ h *wsHub }

func (u userSink) Deliver(ev *node.Event) {
	switch ev.Type {
	case node.EventTokenRevoked:
		if t, ok := node.DecodeData[node.TokenRevokedEvent](ev); ok {
			u.h.s.auth.revoked.add(t.TokenID, t.ExpiresAt)
			u.h.closeToken(t.TokenID)
		}
		return
	case node.EventPresenceBatch:
		u.h.deliverPresence(ev)
		return
	case node.EventUserChanged:
		u.h.s.users.forget(ev.UserID)
		return
	}
	if strings.HasPrefix(string(ev.Type), "_") {
		return // internal, of a newer node: never a client's frame
	}
	frame := encodeEvent(ev)
	if frame == nil {
		return
	}
	u.h.mu.Lock()
	conns := make([]*wsClient, 0, len(u.h.users[ev.UserID]))
	for c := range u.h.users[ev.UserID] {
		conns = append(conns, c)
	}
	u.h.mu.Unlock()
	for _, c := range conns {
		c.send(frame)
	}
}

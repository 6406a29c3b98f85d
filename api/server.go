package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
	"github.com/chatd/chatd/scan"
	"github.com/chatd/chatd/wsconn"
)

// Config configures the API. Zero values take the documented defaults.
type Config struct {
	// JWTSecret signs access tokens (HS256). Required; at least 32 bytes.
	JWTSecret []byte
	// Issuer and Audience are pinned in every token and checked on every request.
	// Default "chatd" for both.
	Issuer, Audience string
	// AllowedOrigins lists browser origins allowed besides the server's own.
	AllowedOrigins []string
	// OperatorToken guards /cluster; empty disables those endpoints (404).
	OperatorToken string
	// Now is the clock; default chat.Now. Tests and clock-skew faults set it.
	Now func() chat.Time
	// Gatherer serves /metrics; nil leaves /metrics unrouted.
	Gatherer prometheus.Gatherer
	// Registerer receives the API's and the WebSocket connections' metrics; nil
	// keeps them unregistered.
	Registerer prometheus.Registerer
	// MaxConnsPerUser and MaxConnsPerIP cap WebSocket connections (defaults 100 and
	// 10,000); an upgrade over a cap is refused with 429.
	MaxConnsPerUser, MaxConnsPerIP int
	// WS configures the WebSocket connections (wsconn's defaults when zero).
	WS wsconn.Config
	// Presence counts users' connections cluster-wide; nil counts in memory.
	Presence persist.Presence
	// Blobs keeps attachments and thumbnails; nil refuses uploads with 503.
	Blobs persist.Blobs
	// Scanner scans every upload before it is published; nil publishes uploads
	// unscanned (scan_status "unscanned"), which only the embedded default allows.
	Scanner *scan.Client
	// QuarantineDir holds uploads while they are checked; default os.TempDir(). Files
	// there are never served and are removed once the upload is decided.
	QuarantineDir string
	// PresenceHeartbeat is how often the node renews the presence entries and
	// last_seen of the users connected to it (default a minute; below
	// chat.PresenceTTL). It bounds how long presence takes to recover after Redis
	// restarted empty.
	PresenceHeartbeat time.Duration
}

// Server serves the REST API. Build it with New and mount Handler.
type Server struct {
	cfg     Config
	store   persist.Store
	node    *node.Node
	limiter persist.RateLimiter
	log     *slog.Logger
	auth    *authenticator
	md      *Renderer
	mux     *http.ServeMux
	touch   touchCache
	// roomTypes caches room types for the send path (notify.go); zero value ready.
	roomTypes roomTypeCache
	// users caches users for the send and upgrade paths (usercache.go).
	users userCache
	// hub holds this node's WebSocket connections (ws.go).
	hub      *wsHub
	presence persist.Presence
	m        *metrics
	// web is the UI's assets, read into memory at startup (web.go).
	web *webAssets
	// decodes bounds the images being decoded at once (thumbnails), each up to
	// media.MaxPixels x 4 bytes.
	decodes chan struct{}
}

// New builds the API over a store, a node and a rate limiter.
func New(cfg Config, store persist.Store, nd *node.Node, limiter persist.RateLimiter, log *slog.Logger) (*Server, error) {
	if len(cfg.JWTSecret) < 32 {
		return nil, errors.New("api: JWT secret must be at least 32 bytes")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "chatd"
	}
	if cfg.Audience == "" {
		cfg.Audience = "chatd"
	}
	if cfg.Now == nil {
		cfg.Now = chat.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Presence == nil {
		cfg.Presence = persist.NewMemoryPresence()
	}
	if cfg.QuarantineDir == "" {
		cfg.QuarantineDir = os.TempDir()
	}
	if cfg.PresenceHeartbeat <= 0 {
		cfg.PresenceHeartbeat = presenceHeartbeat
	}
	if cfg.PresenceHeartbeat >= chat.PresenceTTL {
		return nil, fmt.Errorf("api: presence heartbeat %v must be under the presence TTL %v", cfg.PresenceHeartbeat, chat.PresenceTTL)
	}
	s := &Server{
		cfg:     cfg,
		store:   store,
		node:    nd,
		limiter: limiter,
		log:     log,
		md:      NewRenderer(),
		mux:     http.NewServeMux(),
	}
	s.presence = cfg.Presence
	s.decodes = make(chan struct{}, 2)
	s.m = newMetrics()
	s.auth = newAuthenticator(cfg, store)
	s.touch.init()
	assets, err := loadWebAssets(webFS())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.web = assets
	hub, err := newHub(s)
	if err != nil {
		return nil, fmt.Errorf("api: websocket hub: %w", err)
	}
	s.hub = hub
	if cfg.Registerer != nil {
		s.registerMetrics(cfg.Registerer)
	}
	s.routes()
	return s, nil
}

// Shutdown closes every WebSocket connection with 1012 (service restart), so that
// clients reconnect to another node and resume; HTTP requests are the http.Server's.
func (s *Server) Shutdown(ctx context.Context) { s.hub.shutdown(ctx) }

// Handler returns the HTTP handler of every route; every request gets an id
// (X-Request-Id) that its log lines carry, and with debug logging an access line.
func (s *Server) Handler() http.Handler { return withRequestID(s.accessLog(s.mux)) }

// handlerFunc is a route that returns its error instead of writing it, so one place
// (serve) renders every failure in the contract's envelope.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authedFunc is a route that needs a signed-in user.
type authedFunc func(w http.ResponseWriter, r *http.Request, sess *Session) error

// public registers a route that needs no token.
func (s *Server) public(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, h)
	})
}

// authed registers a route that needs a valid, unrevoked bearer token.
func (s *Server) authed(pattern string, h authedFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
			sess, err := s.auth.fromRequest(r)
			if err != nil {
				return err
			}
			s.touch.seen(r.Context(), s.store, sess.UserID, s.cfg.Now())
			return h(w, r, sess)
		})
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	if err := h(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// routes registers every REST route of the contract. Each resource's handlers live in
// their own file (handlers_<resource>.go) with a register<Resource> method.
func (s *Server) routes() {
	s.public("GET /healthz", func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.public("GET /readyz", s.handleReady)
	s.public("GET /ws", s.hub.handleUpgrade)
	for _, register := range routeRegistrars {
		register(s)
	}
	// The web UI: index.html for the app's paths, hashed assets (web.go). Any other
	// unknown path, API or not, keeps the 404 envelope below.
	s.registerWeb()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
}

// routeRegistrars are the per-resource route registrations; each handlers_*.go file
// adds its own in an init function, so adding a resource touches no shared file.
var routeRegistrars []func(*Server)

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness: store unreachable", "err", err)
		return chat.Errorf(chat.CodeUnavailable, "store unreachable")
	}
	if !s.node.Ready() {
		return chat.Errorf(chat.CodeUnavailable, "not joined to the cluster yet")
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// maintenanceEvery is how often expired notifications and revoked tokens are purged.
const maintenanceEvery = time.Hour

// RunMaintenance purges what has expired (notifications after chat.NotificationTTL,
// revoked tokens past their expiry, uploads no message carried within
// chat.UploadTTL) once at start and then every hour, until ctx ends.
func (s *Server) RunMaintenance(ctx context.Context) {
	t := time.NewTicker(maintenanceEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := s.store.PurgeExpired(pctx, s.cfg.Now().Add(-chat.NotificationTTL)); err != nil && ctx.Err() == nil {
			s.log.Warn("purge expired", "err", err)
		}
		s.purgeUploads(pctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Command chatd runs one node of the chat cluster. With no flags it serves on
// http://localhost:8080 over the embedded store in ./data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/api"
	"github.com/chatd/chatd/node"
	"github.com/chatd/chatd/persist"
	"github.com/chatd/chatd/scan"
	"github.com/chatd/chatd/wsconn"
)

func main() {
	cfg, err := parseConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(2)
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("chatd stopped", "err", err)
		os.Exit(1)
	}
}

func newLogger(cfg *config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h)
}

// run builds the node, serves until ctx ends, then shuts down in order: stop taking
// requests, flush the group commit, close the store.
func run(ctx context.Context, cfg *config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	nc := nodeConfig(cfg, reg)
	if nc.Name == "" {
		nc.Name = node.DefaultConfig().Name
	}
	log = log.With("node", nc.Name) // every line, the store's and the node's too

	st, err := openStorage(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()
	store := st.store

	nd, err := node.New(nc, store, log)
	if err != nil {
		return err
	}
	defer nd.Close()

	secret, generated := cfg.secret()
	if generated {
		log.Warn("no --jwt-secret given: using a random one; tokens will not survive a restart")
	}
	srv, err := api.New(api.Config{
		JWTSecret:         secret,
		AllowedOrigins:    splitList(cfg.AllowedOrigins),
		OperatorToken:     cfg.OperatorToken,
		Gatherer:          reg,
		Registerer:        reg,
		Presence:          st.presence,
		MaxConnsPerUser:   cfg.MaxConnsPerUser,
		MaxConnsPerIP:     cfg.MaxConnsPerIP,
		WS:                wsconn.Config{WriteDelay: cfg.WSWriteDelay},
		PresenceHeartbeat: cfg.PresenceBeat,
		Blobs:             st.blobs,
		Scanner:           st.scanner,
		QuarantineDir:     st.quarantine,
	}, store, nd, st.limiter, log)
	if err != nil {
		return err
	}
	go srv.RunMaintenance(ctx)
	if cfg.DebugListen != "" {
		ln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			return fmt.Errorf("debug listener: %w", err)
		}
		go func() {
			if err := serveDebug(ctx, ln, reg, log); err != nil {
				log.Error("debug listener stopped", "addr", cfg.DebugListen, "err", err)
			}
		}()
	}
	hs := api.NewHTTPServer(cfg.Listen, srv.Handler(), log)
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("chatd serving", "listen", cfg.Listen, "url", "http://localhost"+portOf(cfg.Listen))

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	nd.Leave()         // the other members take this node's rooms over
	srv.Shutdown(sctx) // WebSocket clients reconnect elsewhere (1012) and resume
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}

// nodeConfig builds the node's configuration: a cluster member when --join or
// --cluster-key is given, else a cluster of one (no gossip or peer ports opened).
func nodeConfig(cfg *config, reg prometheus.Registerer) node.Config {
	cc := cfg.clusterConfig()
	nc := node.Config{Name: cc.Name, Registerer: reg}
	if len(cc.Join) > 0 || len(cc.Key) > 0 {
		nc.Cluster = &node.ClusterConfig{
			Membership: node.MembershipConfig{
				Bind: cc.GossipBind, Advertise: cc.Advertise, Join: cc.Join,
				Meta: node.NodeMeta{HTTPAddr: cfg.Listen}, // empty hosts get the advertise IP
			},
			PeerBind:      cc.PeerBind,
			PeerAdvertise: cc.PeerBind,
			Key:           cc.Key,
		}
	}
	return nc
}

// storage is what a node keeps its state in.
type storage struct {
	store    persist.Store
	limiter  persist.RateLimiter
	presence persist.Presence
	redis    *redis.Client
	// blobs, scanner (nil: none) and quarantine serve attachments (attachments.go).
	blobs      persist.Blobs
	scanner    *scan.Client
	quarantine string
}

func (s *storage) close() {
	s.store.Close()
	if s.redis != nil {
		s.redis.Close()
	}
}

// openStorage picks Postgres when configured, else the embedded store; Redis backs
// rate limits and presence when configured, else memory.
func openStorage(ctx context.Context, cfg *config, log *slog.Logger) (*storage, error) {
	var (
		st  storage
		err error
	)
	if cfg.PostgresURL != "" {
		st.store, err = persist.OpenPostgres(ctx, cfg.PostgresURL, log)
		log.Info("store: postgres")
	} else {
		st.store, err = persist.OpenEmbedded(ctx, cfg.DataDir, log)
		log.Info("store: embedded", "dir", cfg.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := openAttachments(ctx, cfg, &st, log); err != nil {
		st.store.Close()
		return nil, err
	}
	if cfg.RedisURL == "" {
		st.limiter, st.presence = persist.NewMemoryRateLimiter(), persist.NewMemoryPresence()
		return &st, nil
	}
	st.redis, err = persist.OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		st.store.Close()
		return nil, fmt.Errorf("open redis: %w", err)
	}
	st.limiter, st.presence = persist.NewRedisRateLimiter(st.redis), persist.NewRedisPresence(st.redis)
	return &st, nil
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return ""
}

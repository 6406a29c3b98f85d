package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// debugHandler serves net/http/pprof and the metrics on the operator-only listener
// (--debug-listen). It is a separate listener, not routes of the public one, so that
// profiles (which expose memory contents and cost CPU) are reachable only where the
// operator binds it: loopback, or a pod port no Service exposes.
func debugHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}

// serveDebug runs the operator listener on ln until ctx ends. A CPU profile or trace
// runs for as long as asked (?seconds=), so there is no write timeout; reads are bounded.
func serveDebug(ctx context.Context, ln net.Listener, g prometheus.Gatherer, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           debugHandler(g),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("debug listener is not on loopback: keep it off any public network", "addr", ln.Addr().String())
	}
	log.Info("debug listener (pprof, metrics)", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

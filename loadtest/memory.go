package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// Memory per connection is a difference of two samples of the servers, and Go's
// memory holds garbage until a GC runs: the setup's registrations hash passwords
// with argon2id (19 MiB each), and an idle server may not collect for two minutes
// (the runtime's forced GC). Read naively, the "before" carries the setup's garbage
// and memory per connection comes out small or negative.
//
// So idle takes each sample after a GC that followed the phase before it: forced
// through the node's pprof endpoint when one is given (GET
// /debug/pprof/heap?gc=1 on the operator listener), else waited for (at most
// GCWait; the runtime forces one every 2 minutes). Then it waits for the resident
// size to stop moving, while the runtime returns freed memory to the system.

// memorySample returns a sample of the servers taken after a GC that ended after
// since, and whether such a GC was seen on every target.
func (co *coordinator) memorySample(ctx context.Context, since time.Time) (serverSample, bool) {
	cfg := co.cfg
	limit := cfg.GCWait
	if len(cfg.Pprof) > 0 {
		co.forceGC(ctx)
		limit = 10 * time.Second // the GC is done when pprof answers; this covers the clock
	} else if limit > 0 {
		co.say(fmt.Sprintf("waiting for a GC on the servers (at most %s; --pprof forces one)", limit))
	}
	s, gc := waitGC(ctx, co.rest.hc, cfg.Targets, since, limit)
	if !gc {
		co.say("no GC seen on the servers: memory per connection may include garbage")
	}
	return settleRSS(ctx, co.rest.hc, cfg.Targets, 30*time.Second, s), gc
}

// forceGC asks every pprof endpoint for a heap profile after a GC.
func (co *coordinator) forceGC(ctx context.Context) {
	for _, t := range co.cfg.Pprof {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, t.URL+"/debug/pprof/heap?gc=1", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = co.rest.hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		cancel()
		if err != nil {
			co.cfg.Log.Warn("force a GC through pprof", "target", t.URL, "err", err)
		}
	}
}

// waitGC polls until every target reports a GC that ended after since, at most limit.
func waitGC(ctx context.Context, hc *http.Client, ts []Target, since time.Time, limit time.Duration) (serverSample, bool) {
	deadline := time.Now().Add(limit)
	for {
		s := scrapeAll(ctx, hc, ts)
		if s.OK && s.LastGC >= float64(since.UnixNano())/1e9 {
			return s, true
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return s, false
		}
		sleepCtx(ctx, time.Second)
	}
}

// settleRSS waits, at most limit, until the targets' resident memory stops moving
// (two successive samples a second apart within 1%) and returns the last sample.
func settleRSS(ctx context.Context, hc *http.Client, ts []Target, limit time.Duration, prev serverSample) serverSample {
	deadline := time.Now().Add(limit)
	for stable := 0; stable < 2 && time.Now().Before(deadline) && ctx.Err() == nil; {
		sleepCtx(ctx, time.Second)
		cur := scrapeAll(ctx, hc, ts)
		if cur.OK && prev.OK && math.Abs(cur.RSS-prev.RSS) <= 0.01*prev.RSS {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
	return prev
}

package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus series (names from DESIGN.md "Observability").
type metrics struct {
	rateLimited prometheus.Counter
	redisErrors prometheus.Counter
	// fanout is the time one room event takes on this node from the sink's Deliver to
	// its frame queued on every local subscriber: the encode (once) plus one enqueue per
	// receiver. It grows with the room's local size and with lock contention, not with
	// slow clients (queues never block).
	fanout prometheus.Histogram
	// send is the time a stored message takes on this node, from the send reaching
	// the API (REST handler or the connection's command loop) to its durable answer:
	// admission, the owner's commit and the way back. Compared with the client's ack
	// latency, it tells the server's share from the network's and the client's.
	send prometheus.Histogram
	// uploads counts upload outcomes by result (published, malware, unscannable,
	// unavailable, refused, error).
	uploads    *prometheus.CounterVec
	scanErrors prometheus.Counter
	// joins counts WebSocket join_room commands by result: "joined", or "refused"
	// (bad input, not a member, no such room, store unavailable). joined and refused
	// are its two series, resolved once: a join is on every connection's path.
	joins           *prometheus.CounterVec
	joined, refused prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_rate_limited_total", Help: "Sends refused by the per-user rate limit.",
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_redis_errors_total", Help: "Rate-limit or presence calls that Redis could not answer.",
		}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_fanout_seconds", Help: "Time to encode one room event and queue it to every local subscriber.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 4, 10), // 5 µs .. 1.3 s
		}),
		send: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_send_seconds", Help: "Time from a send reaching the API to its durable answer (stored messages).",
			Buckets: prometheus.ExponentialBuckets(250e-6, 2, 14), // 250 µs .. 2 s
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_uploads_total", Help: "Attachment uploads by outcome.",
		}, []string{"result"}),
		scanErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_scan_errors_total", Help: "Malware scans that got no verdict (clamd down, slow or confused); those uploads were refused.",
		}),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_ws_joins_total", Help: "WebSocket join_room commands by result (joined, refused).",
		}, []string{"result"}),
	}
	m.joined, m.refused = m.joins.WithLabelValues("joined"), m.joins.WithLabelValues("refused")
	return m
}

// register exports the API's series and the WebSocket connections' counters.
func (s *Server) registerMetrics(reg prometheus.Registerer) {
	st := s.hub.srv.Stats()
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	reg.MustRegister(
		s.m.rateLimited, s.m.redisErrors, s.m.fanout, s.m.send, s.m.uploads, s.m.scanErrors, s.m.joins,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_connections", Help: "Open WebSocket connections."},
			func() float64 { return float64(st.Conns.Load()) }),
		counter("chatd_slow_consumer_disconnects_total", "Connections closed 1008 because they could not keep up.", st.SlowConsumerCloses.Load),
		counter("chatd_ws_frames_dropped_total", "WebSocket frames discarded unwritten because their connection was closed as too slow or torn down.", st.FramesDropped.Load),
		counter("chatd_ws_frames_in_total", "WebSocket frames received.", st.FramesIn.Load),
		counter("chatd_ws_frames_out_total", "WebSocket frames written.", st.FramesOut.Load),
		counter("chatd_ws_bytes_in_total", "WebSocket bytes read.", st.BytesIn.Load),
		counter("chatd_ws_bytes_out_total", "WebSocket bytes written.", st.BytesOut.Load),
		counter("chatd_ws_writes_total", "writev calls flushing WebSocket frames.", st.Writes.Load),
		counter("chatd_ws_idle_closes_total", "Connections closed by the idle or frame timeouts.", st.IdleCloses.Load),
		counter("chatd_ws_protocol_closes_total", "Connections failed by the frame parser.", st.ProtocolCloses.Load),
	)
}

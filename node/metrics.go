package node

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus series; names are part of what operators build
// dashboards and alerts on (DESIGN.md "Observability"): keep them.
type metrics struct {
	committed     prometheus.Counter
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
	fenced        prometheus.Counter
	storeErrors   prometheus.Counter
	roomsOwned    prometheus.Gauge
	ownership     prometheus.Counter
	fanout        prometheus.Counter
	ringChanges   prometheus.Counter
	peerFrames    prometheus.Counter
	gapRepairs    prometheus.Counter
	// peers are the links of the cluster this node joined, read at scrape time (nil
	// before it joins, or when it runs alone: the series stay at 0).
	peers atomic.Pointer[Peers]
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_messages_committed_total", Help: "Messages made durable by this node's group commit.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_group_commit_batch_size", Help: "Messages per group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_group_commit_seconds", Help: "Duration of one group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_fenced_writes_total", Help: "Room batches the store refused because this node's ownership epoch was stale.",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_store_errors_total", Help: "Store calls of the message path that failed.",
		}),
		roomsOwned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_rooms_owned", Help: "Rooms this node currently owns.",
		}),
		ownership: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ownership_changes_total", Help: "Rooms this node took or lost ownership of.",
		}),
		fanout: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_fanout_deliveries_total", Help: "Room events handed to local sinks.",
		}),
		ringChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ring_changes_total", Help: "Ring rebuilds after membership changes.",
		}),
		peerFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_peer_link_frames_total", Help: "Frames this node sent on peer links.",
		}),
		gapRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_gap_repairs_total", Help: "Gaps in a room's events repaired from the store.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.committed, m.batchSize, m.commitSeconds, m.fenced, m.storeErrors,
			m.roomsOwned, m.ownership, m.fanout, m.ringChanges, m.peerFrames, m.gapRepairs)
		reg.MustRegister(m.peerLinkCollectors()...)
	}
	return m
}

// peerLinkCollectors export the peer links' own counters (PeerStats): traffic each
// way, link churn and queue overflows, which tell a slow or flapping peer.
func (m *metrics) peerLinkCollectors() []prometheus.Collector {
	stat := func(f func(PeerStats) float64) func() float64 {
		return func() float64 {
			if p := m.peers.Load(); p != nil {
				return f(p.Stats())
			}
			return 0
		}
	}
	counter := func(name, help string, f func(PeerStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			stat(func(s PeerStats) float64 { return float64(f(s)) }))
	}
	links := func(dir string, f func(PeerStats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chatd_peer_links", Help: "Peer links up now, by direction (out: this node sends on it).",
			ConstLabels: prometheus.Labels{"direction": dir},
		}, stat(func(s PeerStats) float64 { return float64(f(s)) }))
	}
	return []prometheus.Collector{
		counter("chatd_peer_link_bytes_out_total", "Bytes of data frames written to peer links.", func(s PeerStats) uint64 { return s.BytesOut }),
		counter("chatd_peer_link_bytes_in_total", "Bytes of data frames read from peer links.", func(s PeerStats) uint64 { return s.BytesIn }),
		counter("chatd_peer_link_frames_in_total", "Data frames read from peer links.", func(s PeerStats) uint64 { return s.FramesIn }),
		counter("chatd_peer_link_reconnects_total", "Links re-established to a peer that had one before.", func(s PeerStats) uint64 { return s.Reconnects }),
		counter("chatd_peer_link_drops_total", "Outbound peer links lost after being up.", func(s PeerStats) uint64 { return s.LinkDrops }),
		counter("chatd_peer_link_dial_failures_total", "Outbound peer connections that could not be opened.", func(s PeerStats) uint64 { return s.DialFailures }),
		counter("chatd_peer_link_handshake_failures_total", "Peer link handshakes failed or refused, both directions.", func(s PeerStats) uint64 { return s.HandshakeFailures }),
		counter("chatd_peer_link_queue_resets_total", "Peer links reset because their bounded send queue overflowed (its frames dropped).", func(s PeerStats) uint64 { return s.QueueResets }),
		links("out", func(s PeerStats) int64 { return s.OutLinks }),
		links("in", func(s PeerStats) int64 { return s.InLinks }),
	}
}

package node

import (
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
	}
	return m
}

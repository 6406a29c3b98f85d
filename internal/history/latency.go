package history

import (
	"slices"
	"time"
)

// latencies fills the report's send-to-delivery latencies: every receiver's first
// delivery of every acked message, split by the receiver's node being the sender's.
func (c *checker) latencies(first map[subKey]map[string]Event) {
	var lat, same, cross []time.Duration
	for _, o := range c.order {
		if o.kind() != KindOK {
			continue
		}
		for k, m := range first {
			if k.room != o.room {
				continue
			}
			if d, ok := m[o.end.MessageID]; ok {
				l := d.Time.Sub(o.invoke.Time)
				lat = append(lat, l)
				if d.Node == o.node {
					same = append(same, l)
				} else {
					cross = append(cross, l)
				}
			}
		}
	}
	c.rep.Latency = latencyOf(lat)
	c.rep.SameNode, c.rep.CrossNode = latencyOf(same), latencyOf(cross)
}

// latencyOf summarises durations (sorting them in place).
func latencyOf(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	q := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Latency{N: len(d), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: d[len(d)-1]}
}

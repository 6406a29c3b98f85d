package loadtest

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// merge folds the workers' results into the report. Histograms are merged bucket by
// bucket (exact percentiles), counters are summed, and the delivery tallies are
// merged per room before the verdict, since a room's highest seq may be known to
// one worker only.
func (r *Report) merge(results []*workerResult) error {
	connLat, lat, ackLat, lag, sendLag := newHist(), newHist(), newHist(), newHist(), newHist()
	latSame, latCross := newHist(), newHist()
	tallies := map[int]*tally{}
	r.Errors, r.Events = map[string]int64{}, map[string]int64{}
	r.Connections.FailureKind = map[string]int64{}
	inProcess := 0
	for _, w := range results {
		for _, h := range []struct {
			dst *hdrhistogram.Histogram
			enc []byte
		}{{connLat, w.ConnLat}, {lat, w.Lat}, {ackLat, w.AckLat}, {lag, w.Lag}, {latSame, w.LatSame}, {latCross, w.LatCross}, {sendLag, w.SendLag}} {
			if err := mergeEncoded(h.dst, h.enc); err != nil {
				return fmt.Errorf("loadtest: worker %d: %w", w.Index, err)
			}
		}
		r.mergeCounters(w)
		for _, t := range w.Tallies {
			if tallies[t.Room] == nil {
				tallies[t.Room] = &tally{Room: t.Room}
			}
			tallies[t.Room].merge(t)
		}
		if w.ReportsCPU {
			r.Client.CPUSeconds += w.CPUSeconds
			inProcess++
		}
		r.Client.WallSeconds = max(r.Client.WallSeconds, w.WallSeconds)
	}
	r.Connections.Handshake = summarize(connLat)
	r.Deliveries.Latency = summarize(lat)
	if latSame.TotalCount()+latCross.TotalCount() > 0 {
		same, cross := summarize(latSame), summarize(latCross)
		r.Deliveries.SameNode, r.Deliveries.CrossNode = &same, &cross
	}
	r.Messages.AckLatency = summarize(ackLat)
	r.Delivery = verdict(tallies)
	if r.Connections.Seconds > 0 {
		r.Connections.PerSecond = float64(r.Connections.Established) / r.Connections.Seconds
	}
	if load := r.Phases.LoadEnd - r.Phases.LoadStart; load > 0 && publishes(r.Scenario) {
		r.Messages.PerSecond = float64(r.Messages.Acked) / load
		r.Deliveries.PerSecond = float64(r.Deliveries.Count) / load
	}
	for k, n := range r.Errors {
		if !isExpected(k) {
			r.Failures += n
		}
	}
	l := summarize(lag)
	r.Client.Cores, r.Client.Processes = cores(), inProcess
	r.Client.LagP99, r.Client.LagMax = l.P99, l.Max
	if sendLag.TotalCount() > 0 {
		sl := summarize(sendLag)
		r.Client.SendLagP99, r.Client.SendLagMax = sl.P99, sl.Max
	}
	r.Client.judge()
	steadyFrom := -1.0
	if r.Settings.WarmupSeconds > 0 {
		steadyFrom = r.Phases.LoadStart + r.Settings.WarmupSeconds
	}
	series, steady, err := mergeSeries(results, steadyFrom)
	if err != nil {
		return err
	}
	r.Series = series
	if steadyFrom >= 0 {
		s := summarize(steady)
		r.Deliveries.Steady = &s
	}
	return nil
}

// mergeCounters adds one worker's counts and phase times (the latest of each).
func (r *Report) mergeCounters(w *workerResult) {
	c := &r.Connections
	c.Established += w.Established
	c.Failed += w.Failed
	c.Reconnects += w.Reconnects
	c.Seconds = max(c.Seconds, w.ConnectSeconds)
	for k, n := range w.FailureKinds {
		c.FailureKind[k] += n
	}
	r.Messages.Sent += w.Sent
	r.Messages.Acked += w.Acked
	r.Deliveries.Count += w.Delivered
	for k, n := range w.Errors {
		r.Errors[k] += n
	}
	for k, n := range w.Events {
		r.Events[k] += n
	}
	p := &r.Phases
	p.Connected = max(p.Connected, w.Phases.Connected)
	p.Joined = max(p.Joined, w.Phases.Joined)
	p.LoadStart = max(p.LoadStart, w.Phases.LoadStart)
	p.LoadEnd = max(p.LoadEnd, w.Phases.LoadEnd)
	p.Drained = max(p.Drained, w.Phases.Drained)
}

// mergeSeries adds the workers' seconds up index by index (the workers start within
// milliseconds of each other) and reads each second's merged percentiles. steady
// merges the latencies of the seconds that began at or after steadyFrom (seconds
// since the connect phase began; negative: none).
func mergeSeries(results []*workerResult, steadyFrom float64) (series []Point, steady *hdrhistogram.Histogram, err error) {
	steady = newHist()
	n := 0
	for _, w := range results {
		n = max(n, len(w.Series))
	}
	out := make([]Point, n)
	began := 0.0 // when the second being merged began: the previous point's time
	for i := range out {
		h := newHist()
		p := &out[i]
		for _, w := range results {
			if i >= len(w.Series) {
				continue
			}
			q := w.Series[i]
			p.T = max(p.T, q.T)
			p.Conns += q.Conns
			p.Established += q.Established
			p.Sent += q.Sent
			p.Acked += q.Acked
			p.Delivered += q.Delivered
			p.Errors += q.Errors
			if err := mergeEncoded(h, q.Hist); err != nil {
				return nil, nil, fmt.Errorf("loadtest: worker %d second %d: %w", w.Index, i, err)
			}
		}
		s := summarize(h)
		p.P50, p.P99, p.Max = s.P50, s.P99, s.Max
		if steadyFrom >= 0 && began >= steadyFrom {
			steady.Merge(h)
		}
		began = p.T
	}
	return out, steady, nil
}

// server derives the server figures from /metrics read before the connections
// (base), once every connection was up and joined (ready), and after the drain.
func (r *Report) server(base, ready, end serverSample) {
	s := &r.Server
	s.Sampled = base.OK && ready.OK && end.OK
	if !s.Sampled {
		return
	}
	s.RSSBefore, s.RSSConnected, s.RSSAfter = base.RSS, ready.RSS, end.RSS
	s.Connections = ready.Connections
	if n := float64(r.Connections.Established); n > 0 {
		s.BytesPerConn = (ready.RSS - base.RSS) / n
		s.NetBytesPerConn = (ready.RSS - ready.FreeHeld - base.RSS + base.FreeHeld) / n
		s.GoMemPerConn = (ready.GoInuse - base.GoInuse) / n
		s.LiveHeapPerConn = (ready.LiveHeap - base.LiveHeap) / n
		s.GoroutinesPerConn = (ready.Goroutines - base.Goroutines) / n
	}
	s.ConnectCPUSeconds = ready.CPUSeconds - base.CPUSeconds
	if s.ConnectCPUSeconds > 0 {
		s.UpgradesPerCPU = float64(r.Connections.Established) / s.ConnectCPUSeconds
	}
	s.CPUSeconds = end.CPUSeconds - ready.CPUSeconds
	if s.CPUSeconds > 0 {
		s.DeliveriesPerCPU = float64(r.Deliveries.Count) / s.CPUSeconds
	}
	s.Committed = end.Committed - ready.Committed
	s.RateLimited = end.RateLimited - base.RateLimited
	s.SlowConsumers = end.SlowCloses - base.SlowCloses
}

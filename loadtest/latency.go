package loadtest

import (
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 us to 5 minutes at 3 significant
// digits: a slow outlier is clamped to the top, never dropped.
const (
	histMin    = 1
	histMax    = int64(5 * time.Minute / time.Microsecond)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// recordInto records d (clamped to the histogram's range) into h.
func recordInto(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	_ = h.RecordValue(min(max(us, histMin), histMax))
}

// recorderShards spreads the recording of many reader goroutines over locks.
const recorderShards = 16

// recorder is a concurrent latency histogram with a per-interval view: hdrhistogram
// has no locking of its own, and one lock for thousands of readers would be the
// generator's bottleneck, so recordings go to one of a few shards by the caller's key.
type recorder struct {
	shards [recorderShards]struct {
		mu       sync.Mutex
		total    *hdrhistogram.Histogram
		interval *hdrhistogram.Histogram
		_        [40]byte // keep shards on separate cache lines
	}
}

func newRecorder() *recorder {
	r := &recorder{}
	for i := range r.shards {
		r.shards[i].total, r.shards[i].interval = newHist(), newHist()
	}
	return r
}

// record adds one latency; key picks the shard (e.g. the connection index).
func (r *recorder) record(key int, d time.Duration) {
	s := &r.shards[uint(key)%recorderShards]
	s.mu.Lock()
	recordInto(s.interval, d)
	s.mu.Unlock()
}

// cut moves the interval since the last cut into the totals and returns it.
func (r *recorder) cut() *hdrhistogram.Histogram {
	out := newHist()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		out.Merge(s.interval)
		s.total.Merge(s.interval)
		s.interval.Reset()
		s.mu.Unlock()
	}
	return out
}

// total returns everything recorded up to the last cut.
func (r *recorder) total() *hdrhistogram.Histogram {
	out := newHist()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		out.Merge(s.total)
		s.mu.Unlock()
	}
	return out
}

// Latency is the summary of a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// summarize reads the headline percentiles of h (recorded in microseconds).
func summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// String formats the summary on one line.
func (l Latency) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max), l.Count)
}

// fmtMs prints milliseconds with a precision that suits their size.
func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.0fus", ms*1000)
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}

// encodeHist serialises h in the standard compressed V2 form (a few hundred bytes
// for a sparse histogram): workers ship their histograms to the coordinator this
// way, so merged percentiles are exact rather than averages of percentiles.
func encodeHist(h *hdrhistogram.Histogram) []byte {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil // cannot happen for a valid histogram; an empty one is the safe reading
	}
	return b
}

// decodeHist reverses encodeHist; nil or empty input is an empty histogram.
func decodeHist(b []byte) (*hdrhistogram.Histogram, error) {
	if len(b) == 0 {
		return newHist(), nil
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("loadtest: decode histogram: %w", err)
	}
	return h, nil
}

// mergeEncoded merges encoded histograms into dst.
func mergeEncoded(dst *hdrhistogram.Histogram, enc []byte) error {
	h, err := decodeHist(enc)
	if err != nil {
		return err
	}
	dst.Merge(h)
	return nil
}

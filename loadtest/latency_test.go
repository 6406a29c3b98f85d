package loadtest

import (
	"testing"
	"time"
)

func TestSummarizePercentiles(t *testing.T) {
	h := newHist()
	for i := 1; i <= 1000; i++ {
		recordInto(h, time.Duration(i)*time.Millisecond)
	}
	l := summarize(h)
	near := func(name string, got, want float64) {
		t.Helper()
		if got < want*0.995 || got > want*1.005 {
			t.Errorf("%s = %v ms, want %v ms (within the histogram's 3 digits)", name, got, want)
		}
	}
	if l.Count != 1000 {
		t.Fatalf("count %d", l.Count)
	}
	near("p50", l.P50, 500)
	near("p90", l.P90, 900)
	near("p99", l.P99, 990)
	near("p99.9", l.P999, 999)
	near("max", l.Max, 1000)
	near("mean", l.Mean, 500.5)
	if (Latency{}).String() != "no samples" || summarize(newHist()) != (Latency{}) {
		t.Error("an empty histogram must summarise to zero")
	}
}

func TestRecordClampsOutOfRange(t *testing.T) {
	h := newHist()
	recordInto(h, -time.Second) // a clock step back must not vanish
	recordInto(h, time.Hour)
	if h.TotalCount() != 2 || h.Min() != histMin || !h.ValuesAreEquivalent(h.Max(), histMax) {
		t.Fatalf("count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
}

func TestRecorderCutAndTotal(t *testing.T) {
	r := newRecorder()
	for i := range 100 {
		r.record(i, time.Duration(i+1)*time.Millisecond)
	}
	first := r.cut()
	if first.TotalCount() != 100 {
		t.Fatalf("first interval %d, want 100", first.TotalCount())
	}
	r.record(7, time.Second)
	if got := r.cut().TotalCount(); got != 1 {
		t.Fatalf("second interval %d, want 1", got)
	}
	if got := r.total().TotalCount(); got != 101 {
		t.Fatalf("total %d, want 101", got)
	}
}

func TestEncodedHistogramsMergeExactly(t *testing.T) {
	a, b, all := newHist(), newHist(), newHist()
	for i := 1; i <= 500; i++ {
		recordInto(a, time.Duration(i)*time.Microsecond*10)
		recordInto(all, time.Duration(i)*time.Microsecond*10)
	}
	for i := 1; i <= 50; i++ {
		recordInto(b, time.Duration(i)*time.Millisecond*100)
		recordInto(all, time.Duration(i)*time.Millisecond*100)
	}
	merged := newHist()
	for _, h := range [][]byte{encodeHist(a), encodeHist(b), nil} {
		if err := mergeEncoded(merged, h); err != nil {
			t.Fatal(err)
		}
	}
	if summarize(merged) != summarize(all) {
		t.Fatalf("merged %+v, want %+v", summarize(merged), summarize(all))
	}
	if _, err := decodeHist([]byte("not a histogram")); err == nil {
		t.Fatal("garbage must not decode")
	}
}

func TestMergeSeries(t *testing.T) {
	h1, h2 := newHist(), newHist()
	recordInto(h1, time.Millisecond)
	recordInto(h2, 9*time.Millisecond)
	res := []*workerResult{
		{Series: []Point{{T: 1, Conns: 10, Sent: 5, Delivered: 50, Hist: encodeHist(h1)}, {T: 2, Conns: 10}}},
		{Series: []Point{{T: 1.01, Conns: 20, Sent: 1, Delivered: 7, Hist: encodeHist(h2)}}},
	}
	s, steady, err := mergeSeries(res, -1)
	if err != nil {
		t.Fatal(err)
	}
	if steady.TotalCount() != 0 {
		t.Fatalf("no warm-up asked, but %d steady latencies", steady.TotalCount())
	}
	if len(s) != 2 || s[0].T != 1.01 || s[0].Conns != 30 || s[0].Sent != 6 || s[0].Delivered != 57 || s[1].Conns != 10 {
		t.Fatalf("series %+v", s)
	}
	if s[0].P50 != 1 || s[0].Max < 8.99 || s[0].Hist != nil {
		t.Fatalf("second 0 latencies %+v", s[0])
	}
}

// The steady-state histogram holds only the seconds that began after the warm-up.
func TestMergeSeriesSteady(t *testing.T) {
	early, late := newHist(), newHist()
	for range 10 {
		recordInto(early, time.Second)
	}
	recordInto(late, 3*time.Millisecond)
	recordInto(late, 5*time.Millisecond)
	res := []*workerResult{{Series: []Point{
		{T: 10, Hist: encodeHist(early)}, // began at 0
		{T: 11, Hist: encodeHist(early)}, // began at 10: still in the warm-up (load from 8, warm-up 3 s)
		{T: 12, Hist: encodeHist(late)},  // began at 11
		{T: 13, Hist: encodeHist(late)},
	}}}
	_, steady, err := mergeSeries(res, 11)
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(steady); steady.TotalCount() != 4 || got.Max > 5.1 {
		t.Fatalf("steady: %d latencies, %+v; want the 4 after the warm-up, max 5 ms", steady.TotalCount(), got)
	}
}

func TestFmtMs(t *testing.T) {
	for ms, want := range map[float64]string{0.25: "250us", 2.5: "2.50ms", 25: "25.0ms", 2500: "2.50s"} {
		if got := fmtMs(ms); got != want {
			t.Errorf("fmtMs(%v) = %q, want %q", ms, got, want)
		}
	}
}

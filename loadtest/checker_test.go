package loadtest

import "testing"

// feed builds a stream based at base and observes seqs.
func feed(base int64, seqs ...int64) *stream {
	s := &stream{}
	s.setBase(base)
	for _, q := range seqs {
		s.observe(q)
	}
	return s
}

func TestStreamInOrder(t *testing.T) {
	s := feed(10, 11, 12, 13)
	if s.received != 3 || s.lost != 0 || s.dups != 0 || s.reorders != 0 || s.last != 13 {
		t.Fatalf("got %+v", s)
	}
}

func TestStreamGapIsLoss(t *testing.T) {
	s := feed(0, 1, 2, 5, 6)
	if s.lost != 2 || s.received != 4 || s.last != 6 {
		t.Fatalf("lost %d received %d last %d, want 2 4 6", s.lost, s.received, s.last)
	}
}

func TestStreamDuplicate(t *testing.T) {
	s := feed(0, 1, 2, 2, 3, 1)
	if s.dups != 2 || s.lost != 0 || s.received != 3 {
		t.Fatalf("dups %d lost %d received %d, want 2 0 3", s.dups, s.lost, s.received)
	}
}

func TestStreamLateArrivalIsReorderNotLoss(t *testing.T) {
	s := feed(0, 1, 3, 2, 4)
	if s.reorders != 1 || s.lost != 0 || s.dups != 0 || s.received != 4 {
		t.Fatalf("reorders %d lost %d dups %d received %d, want 1 0 0 4", s.reorders, s.lost, s.dups, s.received)
	}
	// The same late seq again is a duplicate.
	s.observe(2)
	if s.dups != 1 {
		t.Fatalf("dups %d, want 1", s.dups)
	}
}

func TestStreamBeforeBaseIsIgnored(t *testing.T) {
	s := feed(5, 4, 5, 6) // at or below the join point: not owed, not a duplicate
	if s.received != 1 || s.dups != 0 || s.lost != 0 {
		t.Fatalf("got received %d dups %d lost %d", s.received, s.dups, s.lost)
	}
}

func TestStreamEventsBeforeJoinAck(t *testing.T) {
	// A live message can reach the reader before Join returns the ack's last_seq.
	s := &stream{}
	s.observe(8)
	s.observe(9)
	s.setBase(7)
	s.observe(10)
	if s.received != 3 || s.lost != 0 || s.last != 10 {
		t.Fatalf("received %d lost %d last %d, want 3 0 10", s.received, s.lost, s.last)
	}
	s.setBase(100) // a second setBase (a re-join) changes nothing
	if s.base != 7 {
		t.Fatalf("base %d, want 7", s.base)
	}
}

func TestVerdictTailLossAcrossWorkers(t *testing.T) {
	// Room 0: two workers, three streams; the room reached seq 10 (known to worker B
	// from an ack). One stream stopped at 8, one has a gap.
	a, b := &tally{Room: 0}, &tally{Room: 0}
	a.add(feed(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
	a.add(feed(0, 1, 2, 3, 4, 5, 6, 7, 8))
	b.add(feed(2, 3, 4, 6, 7, 8, 9, 10))
	b.MaxSeq = max(b.MaxSeq, 10)
	unjoined := &stream{}
	b.add(unjoined)
	all := map[int]*tally{0: {Room: 0}}
	all[0].merge(*a)
	all[0].merge(*b)
	d := verdict(all)
	want := Delivery{Streams: 3, Expected: 10 + 10 + 8, Received: 10 + 8 + 7, Lost: 1, Undelivered: 2, Unjoined: 1}
	if d != want {
		t.Fatalf("verdict %+v, want %+v", d, want)
	}
	if d.OK() {
		t.Fatal("a run with losses must not be OK")
	}
	if !verdict(map[int]*tally{1: func() *tally { x := &tally{}; x.add(feed(0, 1, 2)); return x }()}).OK() {
		t.Fatal("a complete stream must be OK")
	}
}

func TestVerdictUnreceivedLastMessage(t *testing.T) {
	// Every stream missed the newest message; only the sender's ack knew its seq.
	x := &tally{}
	x.add(feed(0, 1, 2))
	x.add(feed(0, 1, 2))
	x.MaxSeq = max(x.MaxSeq, 3)
	d := verdict(map[int]*tally{0: x})
	if d.Undelivered != 2 || d.Lost != 0 || d.Expected != 6 || d.OK() {
		t.Fatalf("undelivered %d lost %d expected %d ok %v, want 2 0 6 false", d.Undelivered, d.Lost, d.Expected, d.OK())
	}
}

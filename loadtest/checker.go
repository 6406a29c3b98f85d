package loadtest

import "sync"

// stream checks one connection's view of one room: every seq above the join point
// exactly once, in order. Seqs are per room, gap-free and strictly increasing
// (API.md), and nothing else writes to the test's rooms, so the check needs no
// list of what was sent: a gap is a loss, a seq at or below the last one is a
// duplicate or a late (reordered) delivery, and at the end every stream must have
// reached the highest seq anyone saw in its room.
//
// The connections' clients keep repeats (client.Config.KeepRepeats): a duplicate or
// late frame from the server reaches this check instead of being absorbed by the
// client's own seq filter, which is what an application built on it would see.
//
// A stream is fed by its connection's reader goroutine and read by others (churn,
// the final tally), hence the mutex; it is never contended in the hot path.
type stream struct {
	mu       sync.Mutex
	based    bool
	base     int64   // the join's last_seq: deliveries are expected above it
	pending  []int64 // seqs seen before the join's ack returned
	last     int64   // highest seq delivered
	received int64   // deliveries above base, duplicates excluded
	lost     int64   // seqs currently missing below last
	missing  map[int64]struct{}
	dups     int64
	reorders int64
}

// maxMissing bounds the set of remembered gaps: past it a late arrival is counted as
// a duplicate (the loss count stays exact).
const maxMissing = 10_000

// setBase sets the join point once the join's ack returns and replays what arrived
// before it.
func (s *stream) setBase(base int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.based {
		return
	}
	s.based, s.base, s.last = true, base, base
	pending := s.pending
	s.pending = nil
	for _, seq := range pending {
		if seq > base {
			s.observeLocked(seq)
		}
	}
}

// observe records the delivery of seq.
func (s *stream) observe(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.based {
		s.pending = append(s.pending, seq)
		return
	}
	s.observeLocked(seq)
}

func (s *stream) observeLocked(seq int64) {
	switch {
	case seq == s.last+1:
		s.last = seq
		s.received++
	case seq > s.last+1:
		if s.missing == nil {
			s.missing = make(map[int64]struct{})
		}
		for g := s.last + 1; g < seq && len(s.missing) < maxMissing; g++ {
			s.missing[g] = struct{}{}
		}
		s.lost += seq - s.last - 1
		s.last = seq
		s.received++
	default: // at or below last
		if _, late := s.missing[seq]; late {
			delete(s.missing, seq)
			s.lost--
			s.reorders++
			s.received++
			return
		}
		if seq > s.base {
			s.dups++
		}
	}
}

// lastSeq returns the highest seq delivered (the base before any).
func (s *stream) lastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// tally is the delivery account of a set of streams of one room. Its fields add up
// across streams and workers; the losses at the tail (streams that never reached the
// room's highest seq) are computed once the room's highest seq is known everywhere.
type tally struct {
	Room     int   `json:"room"`
	Streams  int64 `json:"streams"`
	SumBase  int64 `json:"sum_base"`
	SumLast  int64 `json:"sum_last"`
	MaxSeq   int64 `json:"max_seq"` // highest seq seen in the room: acks and deliveries
	Received int64 `json:"received"`
	Gaps     int64 `json:"gaps"` // seqs missing below a stream's last
	Dups     int64 `json:"dups"`
	Reorders int64 `json:"reorders"`
	Unjoined int64 `json:"unjoined"` // streams whose join never returned
}

// add folds one stream into the tally.
func (t *tally) add(s *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.based {
		t.Unjoined++
		return
	}
	t.Streams++
	t.SumBase += s.base
	t.SumLast += s.last
	t.Received += s.received
	t.Gaps += s.lost
	t.Dups += s.dups
	t.Reorders += s.reorders
	t.MaxSeq = max(t.MaxSeq, s.last)
}

// merge folds another tally of the same room into t.
func (t *tally) merge(o tally) {
	t.Streams += o.Streams
	t.SumBase += o.SumBase
	t.SumLast += o.SumLast
	t.MaxSeq = max(t.MaxSeq, o.MaxSeq)
	t.Received += o.Received
	t.Gaps += o.Gaps
	t.Dups += o.Dups
	t.Reorders += o.Reorders
	t.Unjoined += o.Unjoined
}

// Delivery is the verdict over every stream of a run.
type Delivery struct {
	Streams  int64 `json:"streams"`  // connection-room subscriptions checked
	Expected int64 `json:"expected"` // deliveries owed: each stream, every seq above its join
	Received int64 `json:"received"` // distinct in-order (or late) deliveries
	// Lost are gaps: seqs a stream skipped while a later one of its room arrived.
	Lost int64 `json:"lost"`
	// Undelivered are seqs a stream had not reached when the drain ended (its
	// timeout): late or lost, the run cannot tell; an overloaded server shows here.
	Undelivered int64 `json:"undelivered"`
	Dups        int64 `json:"duplicates"`
	Reorders    int64 `json:"reordered"`
	Unjoined    int64 `json:"unjoined"` // subscriptions that never joined (connection failed)
}

// OK says every joined stream got everything exactly once, in order, by the end.
func (d Delivery) OK() bool {
	return d.Lost == 0 && d.Undelivered == 0 && d.Dups == 0 && d.Reorders == 0
}

// verdict sums the tallies of all rooms (merged across workers).
func verdict(tallies map[int]*tally) Delivery {
	var d Delivery
	for _, t := range tallies {
		d.Streams += t.Streams
		d.Expected += t.Streams*t.MaxSeq - t.SumBase
		d.Received += t.Received
		d.Lost += t.Gaps
		d.Undelivered += t.Streams*t.MaxSeq - t.SumLast
		d.Dups += t.Dups
		d.Reorders += t.Reorders
		d.Unjoined += t.Unjoined
	}
	return d
}

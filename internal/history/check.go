package history

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Row is a message as the store holds it after the run. Rows must include every
// message of every room the history touches.
type Row struct {
	Room        string
	Seq         int64
	ID          string
	ClientMsgID string // empty for messages no client sent (system messages)
	Sender      string
	Type        string
}

// Anomaly names one kind of wrong outcome the checker counts.
type Anomaly string

// The anomalies. Client message ids are assumed unique across the whole history
// (tests use fresh UUIDs), so one client_msg_id names one message.
const (
	// LostAcked: an acknowledged send is not in the store.
	LostAcked Anomaly = "lost-acked"
	// AckMismatch: an acknowledged send is stored at another room, seq or id than
	// its ack said.
	AckMismatch Anomaly = "ack-mismatch"
	// Duplicate: one client_msg_id stored twice, or one receiver got one message
	// (a room's seq, or a client_msg_id) twice.
	Duplicate Anomaly = "duplicate"
	// TwoAtOneSeq: two different messages at one (room, seq), across the store, the
	// acks and the deliveries (split brain).
	TwoAtOneSeq Anomaly = "two-at-one-seq"
	// FailedButPresent: a send that got an error reply is stored or was delivered.
	FailedButPresent Anomaly = "failed-but-present"
	// NeverSent: a message with a client_msg_id that no sender invoked is stored or
	// was delivered.
	NeverSent Anomaly = "never-sent-but-received"
	// Phantom: a delivered message is not in the store.
	Phantom Anomaly = "delivered-not-stored"
	// Order: a receiver got a room's seqs out of strictly increasing order, or jumped
	// over stored messages (it may get them later, which is still out of order).
	Order Anomaly = "receiver-order"
	// Gap: a receiver that stayed subscribed to a room lacks a stored message of it
	// (after the seq it subscribed from).
	Gap Anomaly = "receiver-gap"
	// FIFO: a sender's acked send in a room has a seq below one of its own acked
	// sends that completed before it was invoked.
	FIFO Anomaly = "sender-fifo"
	// Undelivered: an acked send was never delivered to a receiver that stayed
	// subscribed to its room (acked-but-not-delivered did not reach 0 at the end).
	Undelivered Anomaly = "acked-not-delivered"
	// StoreGap: a room's stored seqs are not exactly 1..max.
	StoreGap Anomaly = "store-seq-gap"
)

// Anomalies lists every anomaly, in the order reports show them.
var Anomalies = []Anomaly{LostAcked, AckMismatch, Duplicate, TwoAtOneSeq, FailedButPresent,
	NeverSent, Phantom, Order, Gap, FIFO, Undelivered, StoreGap}

// Options tunes Check.
type Options struct {
	// MinFaults is how many fault events the history must hold for the run to be
	// valid (0: none needed, as in a run without faults).
	MinFaults int
	// RequireOwnershipChange makes a run without any change of a room's observed
	// owner or epoch invalid.
	RequireOwnershipChange bool
	// MinCompleted is the fraction of invoked operations that must have completed
	// (ok or fail) for the run to be valid. Zero means 0.95.
	MinCompleted float64
	// Bucket is the resolution of the acked-but-not-delivered timeline. Zero means
	// one second; it widens so that the timeline has at most 600 samples.
	Bucket time.Duration
	// MaxExamples bounds the examples shown per anomaly. Zero means 5.
	MaxExamples int
}

// PendingPoint is one sample of the acked-but-not-delivered timeline: how many
// (acked message, subscribed receiver) pairs were waiting At after the history began.
type PendingPoint struct {
	At    time.Duration
	Count int
}

// Latency summarises send-to-delivery times: from a send's invoke to each
// receiver's first delivery of the acked message.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// Report is the checker's verdict.
type Report struct {
	// Valid is false when the run proves nothing (see Unknown).
	Valid   bool
	Unknown []string

	Invoked, OK, Failed, Info int
	// Completed is (OK + Failed) / Invoked.
	Completed float64

	Deliveries, Receivers, Rows int
	Faults, OwnershipChanges    int

	Counts   map[Anomaly]int
	Examples map[Anomaly][]string

	// Pending is acked-but-not-delivered over time; its last point is the end.
	Pending    []PendingPoint
	MaxPending int
	Latency    Latency
	// SameNode and CrossNode split Latency by whether the receiver got the message
	// through the node the sender sent it through (whoever owned the room).
	SameNode, CrossNode Latency
}

// Anomalies returns the total count of anomalies.
func (r *Report) Anomalies() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// Err is nil for a valid run without anomalies; otherwise it says "unknown" (and
// why) or counts the anomalies, with the whole report.
func (r *Report) Err() error {
	switch {
	case !r.Valid:
		return fmt.Errorf("history: result unknown: %s\n%s", strings.Join(r.Unknown, "; "), r)
	case r.Anomalies() > 0:
		return fmt.Errorf("history: %d anomalies\n%s", r.Anomalies(), r)
	}
	return nil
}

// String renders the report: the counts, the anomalies with examples, the latency
// and the pending timeline.
func (r *Report) String() string {
	var b strings.Builder
	verdict := "valid"
	if !r.Valid {
		verdict = "UNKNOWN (" + strings.Join(r.Unknown, "; ") + ")"
	}
	fmt.Fprintf(&b, "verdict: %s\n", verdict)
	fmt.Fprintf(&b, "ops: %d invoked, %d ok, %d fail, %d info (%.1f%% completed); %d deliveries to %d receivers; %d rows; %d faults; %d ownership changes\n",
		r.Invoked, r.OK, r.Failed, r.Info, 100*r.Completed, r.Deliveries, r.Receivers, r.Rows, r.Faults, r.OwnershipChanges)
	fmt.Fprintf(&b, "anomalies: %d", r.Anomalies())
	for _, a := range Anomalies {
		fmt.Fprintf(&b, ", %s %d", a, r.Counts[a])
	}
	b.WriteString("\n")
	for _, a := range Anomalies {
		for _, ex := range r.Examples[a] {
			fmt.Fprintf(&b, "  %s: %s\n", a, ex)
		}
	}
	for _, l := range []struct {
		name string
		l    Latency
	}{{"", r.Latency}, {" (same node)", r.SameNode}, {" (cross node)", r.CrossNode}} {
		fmt.Fprintf(&b, "send-to-delivery%s: n=%d p50=%v p90=%v p99=%v max=%v\n", l.name, l.l.N,
			l.l.P50.Round(time.Microsecond), l.l.P90.Round(time.Microsecond),
			l.l.P99.Round(time.Microsecond), l.l.Max.Round(time.Microsecond))
	}
	step := time.Duration(0)
	if len(r.Pending) > 1 {
		step = r.Pending[1].At - r.Pending[0].At
	}
	fmt.Fprintf(&b, "acked-not-delivered every %v (max %d):", step, r.MaxPending)
	for i := 0; i < len(r.Pending); {
		j := i
		for j+1 < len(r.Pending) && r.Pending[j+1].Count == r.Pending[i].Count {
			j++
		}
		if j > i {
			fmt.Fprintf(&b, " %dx%d", r.Pending[i].Count, j-i+1)
		} else {
			fmt.Fprintf(&b, " %d", r.Pending[i].Count)
		}
		i = j + 1
	}
	b.WriteString("\n")
	return b.String()
}

// op is one send, assembled from its invoke and completion.
type op struct {
	process, node, room, cmid string
	invoke                    Event
	end                       *Event // nil: never completed
}

func (o *op) kind() Kind {
	if o.end == nil {
		return ""
	}
	return o.end.Kind
}

// roomSeq is a position in a room.
type roomSeq struct {
	room string
	seq  int64
}

// subKey is a receiver's subscription to a room.
type subKey struct{ receiver, room string }

// checker holds the indexes of one Check.
type checker struct {
	opt Options
	rep *Report

	events []Event
	ops    map[string]*op // by client_msg_id
	order  []*op          // in invoke order

	rows       []Row
	rowsByCmid map[string][]Row
	rowsByID   map[string]Row
	roomSeqs   map[string][]int64 // stored seqs per room, sorted

	deliveries map[subKey][]Event // in history order
	subs       map[subKey]*Event  // first subscribe
	unsubbed   map[subKey]bool
}

// Check checks a history against the store's rows, after heal and drain.
func Check(h *History, rows []Row, opt Options) *Report {
	return CheckEvents(h.Events(), rows, opt)
}

// CheckEvents is Check for a list of events in history order.
func CheckEvents(events []Event, rows []Row, opt Options) *Report {
	if opt.MinCompleted == 0 {
		opt.MinCompleted = 0.95
	}
	if opt.Bucket <= 0 {
		opt.Bucket = time.Second
	}
	if opt.MaxExamples <= 0 {
		opt.MaxExamples = 5
	}
	c := &checker{
		opt:        opt,
		rep:        &Report{Counts: map[Anomaly]int{}, Examples: map[Anomaly][]string{}},
		events:     events,
		ops:        map[string]*op{},
		rows:       rows,
		rowsByCmid: map[string][]Row{},
		rowsByID:   map[string]Row{},
		roomSeqs:   map[string][]int64{},
		deliveries: map[subKey][]Event{},
		subs:       map[subKey]*Event{},
		unsubbed:   map[subKey]bool{},
	}
	c.index()
	c.validity()
	c.checkStore()
	c.checkOps()
	c.checkTwoAtOneSeq()
	c.checkReceivers()
	c.checkFIFO()
	c.checkDelivery()
	return c.rep
}

func (c *checker) flag(a Anomaly, format string, args ...any) { c.flagN(a, 1, format, args...) }

// flagN counts n anomalies of kind a with one example.
func (c *checker) flagN(a Anomaly, n int, format string, args ...any) {
	c.rep.Counts[a] += n
	if len(c.rep.Examples[a]) < c.opt.MaxExamples {
		c.rep.Examples[a] = append(c.rep.Examples[a], fmt.Sprintf(format, args...))
	}
}

func (c *checker) index() {
	for i := range c.events {
		e := &c.events[i]
		switch e.Kind {
		case KindInvoke:
			if _, dup := c.ops[e.ClientMsgID]; dup || e.ClientMsgID == "" {
				continue // a test's bug; the first invoke stands
			}
			o := &op{process: e.Process, node: e.Node, room: e.Room, cmid: e.ClientMsgID, invoke: *e}
			c.ops[e.ClientMsgID] = o
			c.order = append(c.order, o)
		case KindOK, KindFail, KindInfo:
			if o := c.ops[e.ClientMsgID]; o != nil && o.end == nil {
				o.end = e
			}
		case KindDeliver:
			k := subKey{e.Process, e.Room}
			c.deliveries[k] = append(c.deliveries[k], *e)
			c.rep.Deliveries++
		case KindSubscribe:
			if k := (subKey{e.Process, e.Room}); c.subs[k] == nil {
				c.subs[k] = e
			}
		case KindUnsubscribe:
			c.unsubbed[subKey{e.Process, e.Room}] = true
		case KindFault:
			c.rep.Faults++
		}
	}
	receivers := map[string]bool{}
	for k := range c.deliveries {
		receivers[k.receiver] = true
	}
	for k := range c.subs {
		receivers[k.receiver] = true
	}
	c.rep.Receivers = len(receivers)
	for _, r := range c.rows {
		if r.ClientMsgID != "" {
			c.rowsByCmid[r.ClientMsgID] = append(c.rowsByCmid[r.ClientMsgID], r)
		}
		c.rowsByID[r.ID] = r
		c.roomSeqs[r.Room] = append(c.roomSeqs[r.Room], r.Seq)
	}
	for room, seqs := range c.roomSeqs {
		slices.Sort(seqs)
		c.roomSeqs[room] = seqs
	}
	c.rep.Rows = len(c.rows)
	for _, o := range c.order {
		c.rep.Invoked++
		switch o.kind() {
		case KindOK:
			c.rep.OK++
		case KindFail:
			c.rep.Failed++
		default:
			c.rep.Info++ // unknown, or never completed
		}
	}
}

// validity decides whether the run can prove anything.
func (c *checker) validity() {
	r := c.rep
	if r.Invoked > 0 {
		r.Completed = float64(r.OK+r.Failed) / float64(r.Invoked)
	}
	owners := map[string]Event{}
	for _, e := range c.events {
		if e.Kind != KindOwner {
			continue
		}
		if prev, ok := owners[e.Room]; ok && (prev.Node != e.Node || prev.Epoch != e.Epoch) {
			r.OwnershipChanges++
		}
		owners[e.Room] = e
	}
	if r.Invoked == 0 {
		r.Unknown = append(r.Unknown, "no operation was invoked")
	} else if r.Completed < c.opt.MinCompleted {
		r.Unknown = append(r.Unknown, fmt.Sprintf("only %.1f%% of operations completed (ok or fail), %.0f%% needed",
			100*r.Completed, 100*c.opt.MinCompleted))
	}
	if r.Faults < c.opt.MinFaults {
		r.Unknown = append(r.Unknown, fmt.Sprintf("the fault did not happen (%d fault events, %d needed)", r.Faults, c.opt.MinFaults))
	}
	if c.opt.RequireOwnershipChange && r.OwnershipChanges == 0 {
		r.Unknown = append(r.Unknown, "ownership never moved")
	}
	r.Valid = len(r.Unknown) == 0
}

// checkStore: one row per client_msg_id, and each room's seqs exactly 1..max.
func (c *checker) checkStore() {
	for cmid, rows := range c.rowsByCmid {
		if len(rows) > 1 {
			var where []string
			for _, r := range rows {
				where = append(where, fmt.Sprintf("%s seq %d id %s", short(r.Room), r.Seq, short(r.ID)))
			}
			c.flag(Duplicate, "client_msg_id %s stored %d times: %s", short(cmid), len(rows), strings.Join(where, ", "))
		}
	}
	for _, room := range sortedKeys(c.roomSeqs) {
		seqs := c.roomSeqs[room]
		want := int64(1)
		for _, s := range seqs {
			for ; want < s; want++ {
				c.flag(StoreGap, "room %s has no stored seq %d (max %d)", short(room), want, seqs[len(seqs)-1])
			}
			if s == want {
				want++
			}
		}
	}
}

// checkOps: acked sends are stored where their ack said; failed ones nowhere; stored
// and delivered messages were sent by someone.
func (c *checker) checkOps() {
	delivered := map[string]Event{} // client_msg_id -> a delivery
	for _, k := range sortedSubKeys(c.deliveries) {
		for _, d := range c.deliveries[k] {
			if d.ClientMsgID == "" {
				continue
			}
			if _, ok := delivered[d.ClientMsgID]; !ok {
				delivered[d.ClientMsgID] = d
			}
		}
	}
	for _, o := range c.order {
		rows := c.rowsByCmid[o.cmid]
		switch o.kind() {
		case KindOK:
			if len(rows) == 0 {
				c.flag(LostAcked, "%s's send %s acked at %s seq %d (id %s, event %d) is not in the store",
					o.process, short(o.cmid), short(o.room), o.end.Seq, short(o.end.MessageID), o.end.Index)
				continue
			}
			r := rows[0]
			if r.Room != o.room || r.Seq != o.end.Seq || (o.end.MessageID != "" && r.ID != o.end.MessageID) {
				c.flag(AckMismatch, "%s's send %s acked as %s seq %d id %s, stored as %s seq %d id %s",
					o.process, short(o.cmid), short(o.room), o.end.Seq, short(o.end.MessageID), short(r.Room), r.Seq, short(r.ID))
			}
		case KindFail:
			if len(rows) > 0 {
				c.flag(FailedButPresent, "%s's send %s failed (%s, event %d) but is stored at %s seq %d",
					o.process, short(o.cmid), o.end.Error, o.end.Index, short(rows[0].Room), rows[0].Seq)
			} else if d, ok := delivered[o.cmid]; ok {
				c.flag(FailedButPresent, "%s's send %s failed (%s, event %d) but %s got it at seq %d (event %d)",
					o.process, short(o.cmid), o.end.Error, o.end.Index, d.Process, d.Seq, d.Index)
			}
		}
	}
	never := map[string]string{}
	for _, r := range c.rows {
		if r.ClientMsgID != "" && c.ops[r.ClientMsgID] == nil {
			never[r.ClientMsgID] = fmt.Sprintf("stored at %s seq %d", short(r.Room), r.Seq)
		}
	}
	for cmid, d := range delivered {
		if c.ops[cmid] == nil && never[cmid] == "" {
			never[cmid] = fmt.Sprintf("delivered to %s at %s seq %d (event %d)", d.Process, short(d.Room), d.Seq, d.Index)
		}
	}
	for _, cmid := range sortedKeys(never) {
		c.flag(NeverSent, "client_msg_id %s was never sent but is %s", short(cmid), never[cmid])
	}
	phantom := map[string]bool{}
	for _, k := range sortedSubKeys(c.deliveries) {
		for _, d := range c.deliveries[k] {
			if _, ok := c.rowsByID[d.MessageID]; !ok && !phantom[d.MessageID] {
				phantom[d.MessageID] = true
				c.flag(Phantom, "%s got message %s at %s seq %d (event %d), which is not in the store",
					d.Process, short(d.MessageID), short(d.Room), d.Seq, d.Index)
			}
		}
	}
}

// checkTwoAtOneSeq: the store, the acks and the deliveries agree on which message is
// at each (room, seq).
func (c *checker) checkTwoAtOneSeq() {
	at := map[roomSeq]map[string]string{} // -> message id -> where it was seen first
	see := func(room string, seq int64, id, where string) {
		if id == "" || seq == 0 {
			return
		}
		k := roomSeq{room, seq}
		if at[k] == nil {
			at[k] = map[string]string{}
		}
		if _, ok := at[k][id]; !ok {
			at[k][id] = where
		}
	}
	for _, r := range c.rows {
		see(r.Room, r.Seq, r.ID, "store")
	}
	for _, o := range c.order {
		if o.kind() == KindOK {
			see(o.room, o.end.Seq, o.end.MessageID, fmt.Sprintf("ack to %s (event %d)", o.process, o.end.Index))
		}
	}
	for _, k := range sortedSubKeys(c.deliveries) {
		for _, d := range c.deliveries[k] {
			see(d.Room, d.Seq, d.MessageID, fmt.Sprintf("delivery to %s (event %d)", d.Process, d.Index))
		}
	}
	keys := make([]roomSeq, 0, len(at))
	for k, ids := range at {
		if len(ids) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].room != keys[j].room {
			return keys[i].room < keys[j].room
		}
		return keys[i].seq < keys[j].seq
	})
	for _, k := range keys {
		var parts []string
		for _, id := range sortedKeys(at[k]) {
			parts = append(parts, fmt.Sprintf("%s (%s)", short(id), at[k][id]))
		}
		c.flag(TwoAtOneSeq, "room %s seq %d holds %s", short(k.room), k.seq, strings.Join(parts, " and "))
	}
}

// checkReceivers: each receiver got each room's messages once, in strictly
// increasing seq order without jumping over stored messages, and one that stayed
// subscribed got every stored message after the seq it subscribed from.
func (c *checker) checkReceivers() {
	keys := sortedSubKeys(c.deliveries)
	for k := range c.subs {
		if _, ok := c.deliveries[k]; !ok {
			keys = append(keys, k)
		}
	}
	sortSubKeys(keys)
	for _, k := range keys {
		var prev int64 = -1
		if s := c.subs[k]; s != nil {
			prev = s.Seq
		}
		seen := map[int64]Event{}
		seenCmid := map[string]Event{}
		for _, d := range c.deliveries[k] {
			if first, dup := seen[d.Seq]; dup {
				c.flag(Duplicate, "%s got %s seq %d twice (events %d and %d)", k.receiver, short(k.room), d.Seq, first.Index, d.Index)
				continue
			}
			if first, dup := seenCmid[d.ClientMsgID]; dup && d.ClientMsgID != "" {
				c.flag(Duplicate, "%s got client_msg_id %s twice, at seq %d (event %d) and seq %d (event %d)",
					k.receiver, short(d.ClientMsgID), first.Seq, first.Index, d.Seq, d.Index)
			}
			switch {
			case prev >= 0 && d.Seq <= prev:
				c.flag(Order, "%s got %s seq %d after seq %d (event %d)", k.receiver, short(k.room), d.Seq, prev, d.Index)
			case prev >= 0 && d.Seq > prev+1:
				if skipped := c.storedBetween(k.room, prev, d.Seq); skipped > 0 {
					c.flag(Order, "%s jumped from %s seq %d to %d over %d stored messages (event %d)",
						k.receiver, short(k.room), prev, d.Seq, skipped, d.Index)
				}
			}
			seen[d.Seq] = d
			if d.ClientMsgID != "" {
				seenCmid[d.ClientMsgID] = d
			}
			prev = max(prev, d.Seq)
		}
		s := c.subs[k]
		if s == nil || c.unsubbed[k] {
			continue
		}
		var missing []int64
		for _, seq := range c.roomSeqs[k.room] {
			if _, ok := seen[seq]; seq > s.Seq && !ok {
				missing = append(missing, seq)
			}
		}
		if len(missing) > 0 {
			c.flagN(Gap, len(missing), "%s (subscribed to %s after seq %d) lacks %d stored messages: %s",
				k.receiver, short(k.room), s.Seq, len(missing), seqList(missing))
		}
	}
}

// storedBetween counts the room's stored seqs strictly between lo and hi.
func (c *checker) storedBetween(room string, lo, hi int64) int {
	seqs := c.roomSeqs[room]
	i, _ := slices.BinarySearch(seqs, lo+1)
	j, _ := slices.BinarySearch(seqs, hi)
	return max(0, j-i)
}

// checkFIFO: a sender's acked sends in a room that did not overlap are stored in the
// order they were sent.
func (c *checker) checkFIFO() {
	type key struct{ process, room string }
	acked := map[key][]*op{}
	for _, o := range c.order {
		if o.kind() == KindOK {
			k := key{o.process, o.room}
			acked[k] = append(acked[k], o)
		}
	}
	for _, k := range sortedFIFOKeys(acked, func(k key) string { return k.process + "\x00" + k.room }) {
		ops := acked[k]
		for j, b := range ops {
			var worst *op
			for _, a := range ops[:j] {
				if a.end.Index < b.invoke.Index && a.end.Seq >= b.end.Seq && (worst == nil || a.end.Seq > worst.end.Seq) {
					worst = a
				}
			}
			if worst != nil {
				c.flag(FIFO, "%s in %s: %s acked at seq %d (event %d), then %s invoked (event %d) acked at seq %d",
					k.process, short(k.room), short(worst.cmid), worst.end.Seq, worst.end.Index, short(b.cmid), b.invoke.Index, b.end.Seq)
			}
		}
	}
}

// maxSamples bounds the pending timeline: the bucket widens for long histories.
const maxSamples = 600

// checkDelivery: every acked message reached every receiver that stayed subscribed
// to its room; the pending timeline and send-to-delivery latency.
func (c *checker) checkDelivery() {
	if len(c.events) == 0 {
		return
	}
	type pair struct {
		ack, delivered time.Time // delivered zero: never
	}
	var pairs []pair
	first := map[subKey]map[string]Event{} // receiver/room -> message id -> first delivery
	for k, ds := range c.deliveries {
		m := map[string]Event{}
		for _, d := range ds {
			if _, ok := m[d.MessageID]; !ok {
				m[d.MessageID] = d
			}
		}
		first[k] = m
	}
	c.latencies(first)
	for _, k := range sortedSubKeysOf(c.subs) {
		s := c.subs[k]
		if c.unsubbed[k] {
			continue
		}
		for _, o := range c.order {
			if o.kind() != KindOK || o.room != k.room || o.end.Seq <= s.Seq {
				continue
			}
			p := pair{ack: o.end.Time}
			if d, ok := first[k][o.end.MessageID]; ok {
				p.delivered = d.Time
			} else {
				c.flag(Undelivered, "%s's send %s acked at %s seq %d (event %d) never reached %s",
					o.process, short(o.cmid), short(o.room), o.end.Seq, o.end.Index, k.receiver)
			}
			pairs = append(pairs, p)
		}
	}
	start, end := c.events[0].Time, c.events[0].Time
	for _, e := range c.events {
		if e.Time.Before(start) {
			start = e.Time
		}
		if e.Time.After(end) {
			end = e.Time
		}
	}
	bucket := c.opt.Bucket
	if span := end.Sub(start); span/bucket > maxSamples {
		bucket = span / maxSamples
	}
	for t := start; ; t = t.Add(bucket) {
		if t.After(end) {
			t = end
		}
		n := 0
		for _, p := range pairs {
			if !p.ack.After(t) && (p.delivered.IsZero() || p.delivered.After(t)) {
				n++
			}
		}
		c.rep.Pending = append(c.rep.Pending, PendingPoint{At: t.Sub(start), Count: n})
		c.rep.MaxPending = max(c.rep.MaxPending, n)
		if !t.Before(end) {
			break
		}
	}
}

// short abbreviates an id for examples: the last 8 characters.
func short(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

// seqList renders seqs compactly, as ranges: "3-5 9".
func seqList(seqs []int64) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		} else {
			parts = append(parts, fmt.Sprint(seqs[i]))
		}
		i = j + 1
		if len(parts) == 20 && i < len(seqs) {
			parts = append(parts, "…")
			break
		}
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortSubKeys(keys []subKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].receiver != keys[j].receiver {
			return keys[i].receiver < keys[j].receiver
		}
		return keys[i].room < keys[j].room
	})
}

func sortedSubKeys(m map[subKey][]Event) []subKey {
	keys := make([]subKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortSubKeys(keys)
	return keys
}

func sortedSubKeysOf(m map[subKey]*Event) []subKey {
	keys := make([]subKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortSubKeys(keys)
	return keys
}

func sortedFIFOKeys[K comparable, V any](m map[K]V, name func(K) string) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return name(keys[i]) < name(keys[j]) })
	return keys
}

package history

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// model is a run described logically; render turns it into a history and the
// store's rows, so that mutations can be made either to the run (before rendering)
// or to what was recorded (after).
type model struct {
	t0        time.Time
	rooms     []string
	receivers []string
	msgs      []*mmsg
}

// mmsg is one message of the model: a send (cmid set) or a system message.
type mmsg struct {
	sender, room, cmid, id string
	seq                    int64 // 0: not stored
	invoke, end            time.Time
	outcome                Kind // KindOK, KindFail, KindInfo; "" for system messages
}

// commitTime is when a stored message became durable.
func (m *mmsg) commitTime() time.Time {
	if m.outcome == KindOK {
		return m.end
	}
	return m.invoke.Add(30 * time.Millisecond)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// goodModel: two rooms, three senders sending one after another, three receivers
// subscribed to both rooms from the start; one send fails (not stored), one is
// unknown and not stored, one is unknown and stored.
func goodModel() *model {
	m := &model{t0: t0, rooms: []string{"room-a", "room-b"}, receivers: []string{"r1", "r2", "r3"}}
	next := map[string]int64{}
	for _, room := range m.rooms {
		next[room]++
		m.msgs = append(m.msgs, &mmsg{sender: "system", room: room, id: "sys-" + room, seq: next[room],
			invoke: t0.Add(-time.Second), end: t0.Add(-time.Second)})
	}
	for i := range 60 {
		room := m.rooms[0]
		if i%4 == 3 {
			room = m.rooms[1]
		}
		inv := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		g := &mmsg{sender: fmt.Sprintf("s%d", i%3+1), room: room, cmid: fmt.Sprintf("cmid-%02d", i),
			id: fmt.Sprintf("msg-%02d", i), invoke: inv, end: inv.Add(30 * time.Millisecond), outcome: KindOK}
		switch i {
		case 7:
			g.outcome = KindFail
		case 11, 13:
			g.outcome = KindInfo
		}
		if g.outcome == KindOK || i == 13 {
			next[room]++
			g.seq = next[room]
		}
		m.msgs = append(m.msgs, g)
	}
	return m
}

// render produces the history (sorted by time, indexed) and the rows. Receivers get
// every stored message of each room in seq order, each after every lower seq
// committed.
func (m *model) render() ([]Event, []Row) {
	var evs []Event
	var rows []Row
	evs = append(evs, Event{Time: m.t0.Add(900 * time.Millisecond), Kind: KindFault, Fault: "kill", Node: "n1"})
	evs = append(evs, Event{Time: m.t0, Kind: KindOwner, Room: m.rooms[0], Node: "n1", Epoch: 1})
	evs = append(evs, Event{Time: m.t0.Add(1500 * time.Millisecond), Kind: KindOwner, Room: m.rooms[0], Node: "n2", Epoch: 2})
	for _, r := range m.receivers {
		for _, room := range m.rooms {
			evs = append(evs, Event{Time: m.t0.Add(-2 * time.Second), Kind: KindSubscribe, Process: r, Node: "n1", Room: room})
		}
	}
	byRoom := map[string][]*mmsg{}
	for _, g := range m.msgs {
		if g.cmid != "" {
			evs = append(evs, Event{Time: g.invoke, Kind: KindInvoke, Process: g.sender, Node: "n1", Room: g.room, ClientMsgID: g.cmid})
			end := Event{Time: g.end, Kind: g.outcome, Process: g.sender, Node: "n1", Room: g.room, ClientMsgID: g.cmid}
			switch g.outcome {
			case KindOK:
				end.Seq, end.MessageID = g.seq, g.id
			case KindFail:
				end.Error = "rate_limited"
			case KindInfo:
				end.Error = "context deadline exceeded"
			}
			evs = append(evs, end)
		}
		if g.seq > 0 {
			rows = append(rows, Row{Room: g.room, Seq: g.seq, ID: g.id, ClientMsgID: g.cmid, Sender: g.sender})
			byRoom[g.room] = append(byRoom[g.room], g)
		}
	}
	for _, room := range m.rooms {
		stored := byRoom[room]
		sort.Slice(stored, func(i, j int) bool { return stored[i].seq < stored[j].seq })
		var ready time.Time
		for _, g := range stored {
			if c := g.commitTime(); c.After(ready) {
				ready = c
			}
			for i, r := range m.receivers {
				evs = append(evs, Event{Time: ready.Add(time.Duration(5+i) * time.Millisecond), Kind: KindDeliver,
					Process: r, Node: "n2", Room: room, Seq: g.seq, MessageID: g.id, ClientMsgID: g.cmid})
			}
		}
	}
	return finish(evs), rows
}

// finish sorts events by time (stably) and numbers them.
func finish(evs []Event) []Event {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	for i := range evs {
		evs[i].Index = i
	}
	return evs
}

var strict = Options{MinFaults: 1, RequireOwnershipChange: true}

// flagged returns the anomalies the report counts, sorted.
func flagged(r *Report) []Anomaly {
	var out []Anomaly
	for _, a := range Anomalies {
		if r.Counts[a] > 0 {
			out = append(out, a)
		}
	}
	return out
}

func TestGoodHistoryPasses(t *testing.T) {
	evs, rows := goodModel().render()
	rep := CheckEvents(evs, rows, strict)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if rep.Invoked != 60 || rep.OK != 57 || rep.Failed != 1 || rep.Info != 2 {
		t.Errorf("ops %d/%d/%d/%d, want 60 invoked, 57 ok, 1 fail, 2 info", rep.Invoked, rep.OK, rep.Failed, rep.Info)
	}
	if rep.Receivers != 3 || rep.Rows != 60 || rep.Faults != 1 || rep.OwnershipChanges != 1 {
		t.Errorf("receivers %d rows %d faults %d ownership changes %d, want 3, 60, 1, 1",
			rep.Receivers, rep.Rows, rep.Faults, rep.OwnershipChanges)
	}
	if rep.Latency.N != 57*3 || rep.Latency.P50 < 30*time.Millisecond || rep.Latency.Max > time.Second {
		t.Errorf("latency %+v", rep.Latency)
	}
	if last := rep.Pending[len(rep.Pending)-1]; last.Count != 0 {
		t.Errorf("pending at the end %d, want 0", last.Count)
	}
	t.Log(rep)
}

// TestLatencySplitByNode: deliveries through the sender's node count as same-node,
// the others as cross-node (the good model sends through n1 and delivers on n2).
func TestLatencySplitByNode(t *testing.T) {
	evs, rows := goodModel().render()
	rep := CheckEvents(evs, rows, strict)
	if rep.SameNode.N != 0 || rep.CrossNode.N != rep.Latency.N {
		t.Fatalf("same %d, cross %d of %d; want 0 and all", rep.SameNode.N, rep.CrossNode.N, rep.Latency.N)
	}
	for _, i := range eventsOf(evs, func(e Event) bool { return e.Kind == KindDeliver && e.Process == "r1" }) {
		evs[i].Node = "n1"
	}
	rep = CheckEvents(evs, rows, strict)
	if rep.SameNode.N != 57 || rep.CrossNode.N != 57*2 {
		t.Errorf("same %d, cross %d; want r1's 57 deliveries same-node, r2's and r3's 114 cross-node", rep.SameNode.N, rep.CrossNode.N)
	}
}

// eventsOf returns the positions of the events matching f.
func eventsOf(evs []Event, f func(Event) bool) []int {
	var out []int
	for i, e := range evs {
		if f(e) {
			out = append(out, i)
		}
	}
	return out
}

func deliveryTo(receiver, room string) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == KindDeliver && e.Process == receiver && e.Room == room && e.ClientMsgID != ""
	}
}

func maxSeq(rows []Row, room string) int64 {
	var m int64
	for _, r := range rows {
		if r.Room == room {
			m = max(m, r.Seq)
		}
	}
	return m
}

// TestMutationsAreFlagged mutates the good history in each way a broken cluster
// could, and expects exactly the anomalies each mutation implies.
func TestMutationsAreFlagged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  func(m *model) // applied before rendering
		mutate func(evs []Event, rows []Row) ([]Event, []Row)
		want   []Anomaly
	}{
		{
			name: "drop a delivery",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				i := eventsOf(evs, deliveryTo("r2", "room-a"))[3]
				return slices.Delete(evs, i, i+1), rows
			},
			// r2 lacks it, it was acked, and r2 jumped over it.
			want: []Anomaly{Order, Gap, Undelivered},
		},
		{
			name: "duplicate a delivery",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				i := eventsOf(evs, deliveryTo("r1", "room-a"))[4]
				return slices.Insert(evs, i+1, evs[i]), rows
			},
			want: []Anomaly{Duplicate},
		},
		{
			name: "duplicate a row",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				r := rows[5]
				r.ID, r.Seq = "msg-again", maxSeq(rows, r.Room)+1
				return evs, append(rows, r)
			},
			// Stored twice; and no receiver got the second copy.
			want: []Anomaly{Duplicate, Gap},
		},
		{
			name: "swap two seqs in the store",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				var a []int
				for i, r := range rows {
					if r.Room == "room-a" && r.ClientMsgID != "" {
						a = append(a, i)
					}
				}
				rows[a[2]].Seq, rows[a[3]].Seq = rows[a[3]].Seq, rows[a[2]].Seq
				return evs, rows
			},
			want: []Anomaly{AckMismatch, TwoAtOneSeq},
		},
		{
			name: "swap two deliveries",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				// r3 got the later message first: swap what arrived, keep when.
				d := eventsOf(evs, deliveryTo("r3", "room-a"))
				a, b := &evs[d[2]], &evs[d[3]]
				a.Seq, b.Seq = b.Seq, a.Seq
				a.MessageID, b.MessageID = b.MessageID, a.MessageID
				a.ClientMsgID, b.ClientMsgID = b.ClientMsgID, a.ClientMsgID
				return evs, rows
			},
			want: []Anomaly{Order},
		},
		{
			name: "resurrect a failed send",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				f := evs[eventsOf(evs, func(e Event) bool { return e.Kind == KindFail })[0]]
				return evs, append(rows, Row{Room: f.Room, Seq: maxSeq(rows, f.Room) + 1, ID: "msg-zombie", ClientMsgID: f.ClientMsgID})
			},
			want: []Anomaly{FailedButPresent, Gap},
		},
		{
			name: "deliver a failed send",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				f := evs[eventsOf(evs, func(e Event) bool { return e.Kind == KindFail })[0]]
				return append(evs, Event{Time: t0.Add(time.Hour), Kind: KindDeliver, Process: "r1", Room: f.Room,
					Seq: maxSeq(rows, f.Room) + 1, MessageID: "msg-zombie", ClientMsgID: f.ClientMsgID}), rows
			},
			want: []Anomaly{FailedButPresent, Phantom},
		},
		{
			name: "reorder a sender's acks",
			model: func(m *model) {
				// s1's first two acked sends to room-a, one after the other, get each
				// other's seqs: the store, the acks and the deliveries all agree.
				var mine []*mmsg
				for _, g := range m.msgs {
					if g.sender == "s1" && g.room == "room-a" && g.outcome == KindOK {
						mine = append(mine, g)
					}
				}
				mine[0].seq, mine[1].seq = mine[1].seq, mine[0].seq
			},
			want: []Anomaly{FIFO},
		},
		{
			name: "lose an acked message",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				return evs, slices.Delete(rows, 6, 7)
			},
			want: []Anomaly{LostAcked, Phantom, StoreGap},
		},
		{
			name: "store a message nobody sent",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				seq := maxSeq(rows, "room-b") + 1
				for _, r := range []string{"r1", "r2", "r3"} {
					evs = append(evs, Event{Time: t0.Add(time.Hour), Kind: KindDeliver, Process: r, Room: "room-b",
						Seq: seq, MessageID: "msg-ghost", ClientMsgID: "cmid-ghost"})
				}
				return evs, append(rows, Row{Room: "room-b", Seq: seq, ID: "msg-ghost", ClientMsgID: "cmid-ghost"})
			},
			want: []Anomaly{NeverSent},
		},
		{
			name: "two messages at one seq",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				// A stale owner delivered its own message at a seq the store gave another.
				d := evs[eventsOf(evs, deliveryTo("r1", "room-a"))[5]]
				d.MessageID, d.ClientMsgID = "msg-stale", ""
				d.Process = "r4"
				return append(evs, d), rows
			},
			want: []Anomaly{TwoAtOneSeq, Phantom},
		},
		{
			name: "a hole in the store",
			mutate: func(evs []Event, rows []Row) ([]Event, []Row) {
				rows = slices.DeleteFunc(rows, func(r Row) bool { return r.ID == "sys-room-b" })
				return slices.DeleteFunc(evs, func(e Event) bool { return e.MessageID == "sys-room-b" }), rows
			},
			want: []Anomaly{StoreGap},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := goodModel()
			if tc.model != nil {
				tc.model(m)
			}
			evs, rows := m.render()
			if tc.mutate != nil {
				evs, rows = tc.mutate(evs, rows)
				evs = finish(evs)
			}
			rep := CheckEvents(evs, rows, strict)
			if got := flagged(rep); !slices.Equal(got, tc.want) {
				t.Fatalf("flagged %v, want %v\n%s", got, tc.want, rep)
			}
			if !rep.Valid || rep.Err() == nil {
				t.Fatalf("valid %v, err %v: want a valid run with anomalies", rep.Valid, rep.Err())
			}
			t.Log(rep.Err())
		})
	}
}

func TestInvalidRunsAreUnknown(t *testing.T) {
	evs, rows := goodModel().render()
	noFault := slices.DeleteFunc(slices.Clone(evs), func(e Event) bool { return e.Kind == KindFault })
	noMove := slices.DeleteFunc(slices.Clone(evs), func(e Event) bool { return e.Kind == KindOwner && e.Node == "n2" })
	// Two more sends that never completed: 57+1 of 62 completed is 93.5%.
	incomplete := append(slices.Clone(evs),
		Event{Time: t0.Add(time.Minute), Kind: KindInvoke, Process: "s1", Room: "room-a", ClientMsgID: "cmid-x1"},
		Event{Time: t0.Add(time.Minute), Kind: KindInvoke, Process: "s2", Room: "room-a", ClientMsgID: "cmid-x2"})
	for _, tc := range []struct {
		name string
		evs  []Event
		want string
	}{
		{"no fault", noFault, "the fault did not happen"},
		{"ownership never moved", noMove, "ownership never moved"},
		{"too few completed", incomplete, "93.5% of operations completed"},
		{"nothing invoked", nil, "no operation was invoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := CheckEvents(finish(tc.evs), rows, strict)
			err := rep.Err()
			if rep.Valid || err == nil || !strings.Contains(err.Error(), "unknown") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("valid %v, err %v; want unknown: %s", rep.Valid, err, tc.want)
			}
		})
	}
	// Without the requirements, the same runs are valid.
	if rep := CheckEvents(finish(noMove), rows, Options{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
}

// TestPendingTimeline: a late delivery shows in the timeline and the latency, and is
// no anomaly once it arrived; one that never arrives is.
func TestPendingTimeline(t *testing.T) {
	evs, rows := goodModel().render()
	// r3 gets room-b's last message 3 s late (it is r3's last of room-b, so its
	// order is unchanged).
	d := eventsOf(evs, deliveryTo("r3", "room-b"))
	late := d[len(d)-1]
	evs[late].Time = evs[late].Time.Add(3 * time.Second)
	rep := CheckEvents(finish(evs), rows, Options{Bucket: 250 * time.Millisecond})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if rep.MaxPending != 1 || rep.Pending[len(rep.Pending)-1].Count != 0 {
		t.Fatalf("max pending %d, end %d; want 1 and 0\n%s", rep.MaxPending, rep.Pending[len(rep.Pending)-1].Count, rep)
	}
	waiting := 0
	for _, p := range rep.Pending {
		if p.Count > 0 {
			waiting++
		}
	}
	if waiting < 10 || waiting > 13 { // 3 s at 250 ms
		t.Errorf("pending for %d samples, want about 12\n%s", waiting, rep)
	}
	if rep.Latency.Max < 3*time.Second {
		t.Errorf("max latency %v, want over 3 s", rep.Latency.Max)
	}
}

func TestWriteAndReadFile(t *testing.T) {
	evs, rows := goodModel().render()
	h := New()
	for _, e := range evs {
		h.Append(e)
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := h.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Events()
	if len(got) != len(evs) {
		t.Fatalf("read %d events, wrote %d", len(got), len(evs))
	}
	for i := range got {
		if !got[i].Time.Equal(evs[i].Time) {
			t.Fatalf("event %d: time %v, want %v", i, got[i].Time, evs[i].Time)
		}
		got[i].Time = evs[i].Time
		if got[i] != evs[i] {
			t.Fatalf("event %d: %+v, want %+v", i, got[i], evs[i])
		}
	}
	if a, b := Check(h, rows, strict).String(), Check(back, rows, strict).String(); a != b {
		t.Fatalf("reports differ:\n%s\n%s", a, b)
	}
}

// TestConcurrentRecording: many goroutines record at once (run with -race); every
// event is kept, numbered in one total order, each goroutine's in its own order.
func TestConcurrentRecording(t *testing.T) {
	h := New()
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", w)
			for i := range each {
				h.Deliver(p, "n1", "room", int64(i+1), fmt.Sprintf("%s-%d", p, i), "")
			}
		}()
	}
	wg.Wait()
	evs := h.Events()
	if len(evs) != workers*each || h.Len() != workers*each {
		t.Fatalf("%d events, want %d", len(evs), workers*each)
	}
	last := map[string]int64{}
	for i, e := range evs {
		if e.Index != i {
			t.Fatalf("event %d has index %d", i, e.Index)
		}
		if e.Seq != last[e.Process]+1 {
			t.Fatalf("%s: seq %d after %d", e.Process, e.Seq, last[e.Process])
		}
		last[e.Process] = e.Seq
	}
}

package persist

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
)

func testCommitBasic(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	epoch, last, err := f.s.AcquireRoom(f.ctx, r.ID, "node-a")
	must(t, err)
	if epoch != 1 || last != 0 {
		t.Fatalf("AcquireRoom = %d, %d; want 1, 0", epoch, last)
	}
	f.epoch[r.ID], f.seq[r.ID] = epoch, last
	first := f.send(r.ID, u.ID, "hello **world**")
	reply := f.newMsg(r.ID, u.ID, "a reply")
	reply.ParentID = &first.ID
	reply.ClientMsgID = ptr("client-1")
	reply.Type = chat.MessageImage
	third := f.newMsg(r.ID, u.ID, "third")
	f.commit(r.ID, reply, third)

	got, err := f.s.MessageByID(f.ctx, reply.ID, u.ID)
	must(t, err)
	if got.RoomID != r.ID || got.Seq != 2 || got.Sender.ID != u.ID || got.Sender.Username != "u" ||
		got.Type != chat.MessageImage || got.Content != "a reply" || got.ContentHTML != "<p>a reply</p>" ||
		got.ParentID == nil || *got.ParentID != first.ID || got.ClientMsgID == nil || *got.ClientMsgID != "client-1" ||
		got.CreatedAt != reply.CreatedAt || got.EditedAt != nil || got.Deleted ||
		got.Attachments == nil || len(got.Attachments) != 0 || got.Reactions == nil || len(got.Reactions) != 0 {
		t.Fatalf("MessageByID = %+v", got)
	}
	room, err := f.s.RoomByID(f.ctx, r.ID, u.ID)
	must(t, err)
	if room.LastMessageAt == nil || *room.LastMessageAt != third.CreatedAt {
		t.Fatalf("last_message_at = %v, want %v", room.LastMessageAt, third.CreatedAt)
	}
	recent, err := f.s.RecentMessages(f.ctx, r.ID, 2)
	must(t, err)
	if got := seqsOf(recent); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("RecentMessages(2) seqs = %v", got)
	}
	after, err := f.s.MessagesAfterSeq(f.ctx, r.ID, 1, 0)
	must(t, err)
	if got := seqsOf(after); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("MessagesAfterSeq(1) seqs = %v", got)
	}
	after, err = f.s.MessagesAfterSeq(f.ctx, r.ID, 0, 1)
	must(t, err)
	if got := seqsOf(after); !slices.Equal(got, []int64{1}) {
		t.Fatalf("MessagesAfterSeq(0, 1) seqs = %v", got)
	}
	if after, err := f.s.MessagesAfterSeq(f.ctx, r.ID, 3, 10); err != nil || after == nil || len(after) != 0 {
		t.Fatalf("MessagesAfterSeq(3) = %#v, %v; want empty", after, err)
	}
	// A new owner takes the next epoch and sees the committed seq.
	epoch, last, err = f.s.AcquireRoom(f.ctx, r.ID, "node-b")
	must(t, err)
	if epoch != 2 || last != 3 {
		t.Fatalf("second AcquireRoom = %d, %d; want 2, 3", epoch, last)
	}
	_, _, err = f.s.AcquireRoom(f.ctx, chat.NewID(), "node-a")
	wantIs(t, err, chat.ErrNotFound)
	// An empty batch is a fence check only.
	res, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: r.ID, Epoch: 2, PrevSeq: 3}})
	must(t, err)
	if res[0] != nil {
		t.Fatalf("empty batch result = %v", res[0])
	}
	if res, err := f.s.CommitBatch(f.ctx, nil); err != nil || len(res) != 0 {
		t.Fatalf("CommitBatch(nil) = %v, %v", res, err)
	}
}

func testCommitFencedEpoch(t *testing.T, f *fx) {
	u := f.user("u")
	r1, r2 := f.room(u.ID, chat.RoomPublic, "r1"), f.room(u.ID, chat.RoomPublic, "r2")
	e1, _, err := f.s.AcquireRoom(f.ctx, r1.ID, "node-a")
	must(t, err)
	e2, _, err := f.s.AcquireRoom(f.ctx, r2.ID, "node-a")
	must(t, err)
	// node-b takes r1 over; node-a's next batch for r1 is refused, r2's commits.
	if _, _, err := f.s.AcquireRoom(f.ctx, r1.ID, "node-b"); err != nil {
		t.Fatal(err)
	}
	stale := f.newMsg(r1.ID, u.ID, "stale")
	stale.Seq = 1
	fresh := f.newMsg(r2.ID, u.ID, "fresh")
	fresh.Seq = 1
	res, err := f.s.CommitBatch(f.ctx, []RoomBatch{
		{RoomID: r1.ID, Epoch: e1, PrevSeq: 0, Messages: []*chat.Message{stale}},
		{RoomID: r2.ID, Epoch: e2, PrevSeq: 0, Messages: []*chat.Message{fresh}},
	})
	must(t, err)
	wantIs(t, res[0], chat.ErrFenced)
	if res[1] != nil {
		t.Fatalf("r2 result = %v", res[1])
	}
	_, err = f.s.MessageByID(f.ctx, stale.ID, u.ID)
	wantIs(t, err, chat.ErrNotFound)
	if _, err := f.s.MessageByID(f.ctx, fresh.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	room, _ := f.s.RoomByID(f.ctx, r1.ID, u.ID)
	if room.LastMessageAt != nil {
		t.Fatal("a fenced batch moved last_message_at")
	}
	_, last, _ := f.s.AcquireRoom(f.ctx, r1.ID, "node-c")
	if last != 0 {
		t.Fatalf("a fenced batch moved last_seq to %d", last)
	}
}

func testCommitFencedSeq(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	f.sendN(r.ID, u.ID, 2)
	epoch := f.epoch[r.ID]
	for _, prev := range []int64{0, 1, 3} { // behind, behind, ahead
		m := f.newMsg(r.ID, u.ID, fmt.Sprintf("prev %d", prev))
		m.Seq = prev + 1
		res, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: r.ID, Epoch: epoch, PrevSeq: prev, Messages: []*chat.Message{m}}})
		must(t, err)
		wantIs(t, res[0], chat.ErrFenced)
		if _, err := f.s.MessageByID(f.ctx, m.ID, u.ID); err == nil {
			t.Fatalf("a batch with stale PrevSeq %d was written", prev)
		}
	}
	// A replay of a committed batch is fenced too: (room, seq) never holds two messages.
	f.send(r.ID, u.ID, "three")
	ms, err := f.s.MessagesAfterSeq(f.ctx, r.ID, 0, 100)
	must(t, err)
	if got := seqsOf(ms); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("seqs = %v", got)
	}
}

func testCommitUniqueSeq(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	m := f.send(r.ID, u.ID, "one")
	// Below the fence, the schema itself refuses a second message at a (room, seq).
	var d db
	switch s := f.s.(type) {
	case *pgStore:
		d = s.db
	case *embeddedStore:
		d = s.db
	}
	_, err := d.exec(f.ctx, insertMessageSQL, chat.NewID(), r.ID, m.Seq, u.ID, "text", "dup", "", nil, nil, f.tick())
	if k, _ := d.violation(err); k != uniqueViolation {
		t.Fatalf("duplicate (room, seq) insert: err %v, want a unique violation", err)
	}
}

func testCommitClientMsgID(t *testing.T, f *fx) {
	a, b := f.user("a"), f.user("b")
	r1, r2 := f.room(a.ID, chat.RoomPublic, "r1"), f.room(a.ID, chat.RoomPublic, "r2")
	f.join(r1.ID, b.ID)
	m := f.newMsg(r1.ID, a.ID, "first")
	m.ClientMsgID = ptr("k1")
	f.commit(r1.ID, m)
	// Another sender may use the same key.
	mb := f.newMsg(r1.ID, b.ID, "b's")
	mb.ClientMsgID = ptr("k1")
	f.commit(r1.ID, mb)
	// The same sender and key again, even in another room: the whole call fails.
	f.acquire(r2.ID)
	dup := f.newMsg(r2.ID, a.ID, "again")
	dup.ClientMsgID, dup.Seq = ptr("k1"), 1
	other := f.newMsg(r1.ID, b.ID, "innocent")
	other.Seq = f.seq[r1.ID] + 1
	res, err := f.s.CommitBatch(f.ctx, []RoomBatch{
		{RoomID: r1.ID, Epoch: f.epoch[r1.ID], PrevSeq: f.seq[r1.ID], Messages: []*chat.Message{other}},
		{RoomID: r2.ID, Epoch: f.epoch[r2.ID], PrevSeq: 0, Messages: []*chat.Message{dup}},
	})
	if err == nil || res != nil {
		t.Fatalf("CommitBatch with a duplicate client_msg_id = %v, %v; want a fault", res, err)
	}
	wantIs(t, err, ErrDuplicateClientMsgID)
	for _, id := range []chat.ID{dup.ID, other.ID} {
		_, err := f.s.MessageByID(f.ctx, id, a.ID)
		wantIs(t, err, chat.ErrNotFound)
	}
	// Nothing moved: the same batch without the duplicate commits at the same seqs.
	f.commit(r1.ID, other)
	got, err := f.s.MessageByClientID(f.ctx, a.ID, "k1")
	must(t, err)
	if got.ID != m.ID {
		t.Fatalf("MessageByClientID = %s, want %s", got.ID, m.ID)
	}
	got, err = f.s.MessageByClientID(f.ctx, b.ID, "k1")
	must(t, err)
	if got.ID != mb.ID {
		t.Fatalf("MessageByClientID(b) = %s, want %s", got.ID, mb.ID)
	}
	_, err = f.s.MessageByClientID(f.ctx, a.ID, "k2")
	wantIs(t, err, chat.ErrNotFound)
}

func testCommitInvalid(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	f.acquire(r.ID)
	e := f.epoch[r.ID]
	m1, m2 := f.newMsg(r.ID, u.ID, "1"), f.newMsg(r.ID, u.ID, "2")
	m1.Seq, m2.Seq = 1, 3 // a gap
	if _, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: r.ID, Epoch: e, Messages: []*chat.Message{m1, m2}}}); err == nil {
		t.Fatal("a batch with a seq gap was accepted")
	}
	m2.Seq = 2
	if _, err := f.s.CommitBatch(f.ctx, []RoomBatch{
		{RoomID: r.ID, Epoch: e, Messages: []*chat.Message{m1}},
		{RoomID: r.ID, Epoch: e, PrevSeq: 1, Messages: []*chat.Message{m2}},
	}); err == nil {
		t.Fatal("a call with one room twice was accepted")
	}
	wrong := f.newMsg(chat.NewID(), u.ID, "elsewhere")
	wrong.Seq = 1
	if _, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: r.ID, Epoch: e, Messages: []*chat.Message{wrong}}}); err == nil {
		t.Fatal("a message of another room was accepted")
	}
	if ms, _ := f.s.MessagesAfterSeq(f.ctx, r.ID, 0, 10); len(ms) != 0 {
		t.Fatalf("refused batches wrote %d messages", len(ms))
	}
}

func testCommitConcurrent(t *testing.T, f *fx) {
	u := f.user("u")
	const rooms, batches, per = 8, 20, 5
	ids := make([]chat.ID, rooms)
	epochs := make([]int64, rooms)
	for i := range ids {
		ids[i] = f.room(u.ID, chat.RoomPublic, fmt.Sprintf("r%d", i)).ID
		e, _, err := f.s.AcquireRoom(f.ctx, ids[i], "node")
		must(t, err)
		epochs[i] = e
	}
	var wg sync.WaitGroup
	errs := make(chan error, rooms)
	for i := range ids {
		wg.Add(1)
		go func() { // one writer per room, as the owner's shards are
			defer wg.Done()
			for b := 0; b < batches; b++ {
				ms := make([]*chat.Message, per)
				for j := range ms {
					ms[j] = &chat.Message{ID: chat.NewID(), RoomID: ids[i], Seq: int64(b*per + j + 1), Sender: chat.User{ID: u.ID},
						Type: chat.MessageText, Content: "x", CreatedAt: chat.Now(), ClientMsgID: ptr(fmt.Sprintf("%d-%d-%d", i, b, j))}
				}
				res, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: ids[i], Epoch: epochs[i], PrevSeq: int64(b * per), Messages: ms}})
				if err == nil && res[0] != nil {
					err = res[0]
				}
				if err != nil {
					errs <- fmt.Errorf("room %d batch %d: %w", i, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range ids {
		ms, err := f.s.MessagesAfterSeq(f.ctx, ids[i], 0, batches*per+10)
		must(t, err)
		if len(ms) != batches*per {
			t.Fatalf("room %d has %d messages, want %d", i, len(ms), batches*per)
		}
		for j, m := range ms {
			if m.Seq != int64(j+1) {
				t.Fatalf("room %d: message %d has seq %d", i, j, m.Seq)
			}
		}
	}
}

// testCommitTakeover has node A commit as fast as it can while node B takes the
// room over: every batch A commits after B's AcquireRoom is fenced, so the room
// holds exactly the lastSeq B was given, and B continues from there.
func testCommitTakeover(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	epochA, _, err := f.s.AcquireRoom(f.ctx, r.ID, "node-a")
	must(t, err)
	started := make(chan struct{})
	var lastA int64
	var errA error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for prev := int64(0); prev < 10000; prev++ {
			if prev == 5 {
				close(started)
			}
			m := &chat.Message{ID: chat.NewID(), RoomID: r.ID, Seq: prev + 1, Sender: chat.User{ID: u.ID},
				Type: chat.MessageText, Content: "from A", CreatedAt: chat.Now()}
			res, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: r.ID, Epoch: epochA, PrevSeq: prev, Messages: []*chat.Message{m}}})
			if err == nil {
				err = res[0]
			}
			if err != nil {
				if !errors.Is(err, chat.ErrFenced) {
					errA = err
				}
				return
			}
			lastA = prev + 1
		}
		errA = errors.New("node A was never fenced")
	}()
	<-started
	epochB, lastSeq, err := f.s.AcquireRoom(f.ctx, r.ID, "node-b")
	must(t, err)
	<-done
	must(t, errA)
	if epochB != epochA+1 || lastA != lastSeq {
		t.Fatalf("B got epoch %d last seq %d; A's last commit was seq %d (epoch %d)", epochB, lastSeq, lastA, epochA)
	}
	ms, err := f.s.MessagesAfterSeq(f.ctx, r.ID, 0, 20000)
	must(t, err)
	if int64(len(ms)) != lastSeq {
		t.Fatalf("room holds %d messages, B was told %d", len(ms), lastSeq)
	}
	f.epoch[r.ID], f.seq[r.ID] = epochB, lastSeq
	f.send(r.ID, u.ID, "from B")
}

func testPagination(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	ms := f.sendN(r.ID, u.ID, 10)
	id := func(seq int) *chat.ID { return &ms[seq-1].ID }
	cases := []struct {
		name    string
		q       MessageQuery
		want    []int64
		hasMore bool
	}{
		{"newest", MessageQuery{Limit: 3}, []int64{8, 9, 10}, true},
		{"newest all", MessageQuery{Limit: 10}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
		{"newest more than all", MessageQuery{Limit: 50}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
		{"before 8", MessageQuery{Before: id(8), Limit: 3}, []int64{5, 6, 7}, true},
		{"before 4 exactly the rest", MessageQuery{Before: id(4), Limit: 3}, []int64{1, 2, 3}, false},
		{"before 2", MessageQuery{Before: id(2), Limit: 3}, []int64{1}, false},
		{"before 1", MessageQuery{Before: id(1), Limit: 3}, []int64{}, false},
		{"after 6", MessageQuery{After: id(6), Limit: 3}, []int64{7, 8, 9}, true},
		{"after 7 exactly the rest", MessageQuery{After: id(7), Limit: 3}, []int64{8, 9, 10}, false},
		{"after 10", MessageQuery{After: id(10), Limit: 3}, []int64{}, false},
		{"default limit", MessageQuery{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
	}
	for _, c := range cases {
		got, hasMore, err := f.s.Messages(f.ctx, r.ID, u.ID, c.q)
		must(t, err)
		if !slices.Equal(seqsOf(got), c.want) || hasMore != c.hasMore || got == nil {
			t.Errorf("%s: seqs %v has_more %v, want %v %v", c.name, seqsOf(got), hasMore, c.want, c.hasMore)
		}
	}
	_, _, err := f.s.Messages(f.ctx, r.ID, u.ID, MessageQuery{Before: id(5), After: id(2), Limit: 3})
	wantCode(t, err, chat.CodeValidation)
	_, _, err = f.s.Messages(f.ctx, r.ID, u.ID, MessageQuery{Before: ptr(chat.NewID()), Limit: 3})
	wantIs(t, err, chat.ErrNotFound)
	other := f.room(u.ID, chat.RoomPublic, "other")
	_, _, err = f.s.Messages(f.ctx, other.ID, u.ID, MessageQuery{After: id(2), Limit: 3})
	wantIs(t, err, chat.ErrNotFound) // a cursor from another room
	if got, hasMore, err := f.s.Messages(f.ctx, other.ID, u.ID, MessageQuery{Limit: 3}); err != nil || len(got) != 0 || hasMore {
		t.Fatalf("empty room = %v %v %v", got, hasMore, err)
	}
}

func testThread(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	root := f.send(r.ID, u.ID, "root")
	f.send(r.ID, u.ID, "not a reply")
	var replies []chat.ID
	for i := 0; i < 5; i++ {
		m := f.newMsg(r.ID, u.ID, fmt.Sprintf("reply %d", i))
		m.ParentID = &root.ID
		f.commit(r.ID, m)
		replies = append(replies, m.ID)
	}
	var got []chat.ID
	cur := ""
	for {
		page, next, err := f.s.Thread(f.ctx, root.ID, u.ID, Page{Cursor: cur, Limit: 2})
		must(t, err)
		got = append(got, msgIDs(page)...)
		if next == "" {
			break
		}
		if len(got) > 10 {
			t.Fatal("pagination does not end")
		}
		cur = next
	}
	if !slices.Equal(got, replies) {
		t.Fatalf("Thread = %v, want %v", got, replies)
	}
	// Deleting the root keeps its replies.
	_, err := f.s.DeleteMessage(f.ctx, root.ID, u.ID)
	must(t, err)
	page, _, err := f.s.Thread(f.ctx, root.ID, u.ID, Page{Limit: 10})
	must(t, err)
	if len(page) != 5 {
		t.Fatalf("replies after the root's deletion = %d", len(page))
	}
	_, _, err = f.s.Thread(f.ctx, chat.NewID(), u.ID, Page{})
	wantIs(t, err, chat.ErrNotFound)
}

func testEdit(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	m := f.send(r.ID, u.ID, "typo")
	at := f.tick()
	got, err := f.s.EditMessage(f.ctx, m.ID, "fixed", "<p>fixed</p>", at, u.ID)
	must(t, err)
	if got.Content != "fixed" || got.ContentHTML != "<p>fixed</p>" || got.EditedAt == nil || *got.EditedAt != at || got.Seq != m.Seq {
		t.Fatalf("EditMessage = %+v", got)
	}
	_, err = f.s.EditMessage(f.ctx, chat.NewID(), "x", "x", at, u.ID)
	wantIs(t, err, chat.ErrNotFound)
	_, err = f.s.DeleteMessage(f.ctx, m.ID, u.ID)
	must(t, err)
	_, err = f.s.EditMessage(f.ctx, m.ID, "resurrect", "x", f.tick(), u.ID)
	wantCode(t, err, chat.CodeConflict)
	if got, _ := f.s.MessageByID(f.ctx, m.ID, u.ID); got.Content != chat.DeletedContent {
		t.Fatalf("an edit resurrected a deleted message: %q", got.Content)
	}
}

func testSoftDelete(t *testing.T, f *fx) {
	u, v := f.user("u"), f.user("v")
	r := f.room(u.ID, chat.RoomPublic, "r")
	f.join(r.ID, v.ID)
	m := f.send(r.ID, v.ID, "regrettable")
	reply := f.newMsg(r.ID, u.ID, "reply")
	reply.ParentID = &m.ID
	f.commit(r.ID, reply)
	must(t, f.s.AddReaction(f.ctx, m.ID, u.ID, "😂", f.tick()))
	must(t, f.s.Pin(f.ctx, r.ID, m.ID, u.ID, f.tick()))
	rep := chat.Report{ID: chat.NewID(), RoomID: r.ID, MessageID: m.ID, Reporter: u, Reason: "rude", CreatedAt: f.tick()}
	must(t, f.s.CreateReport(f.ctx, &rep))

	got, err := f.s.DeleteMessage(f.ctx, m.ID, u.ID)
	must(t, err)
	if !got.Deleted || got.Content != chat.DeletedContent || got.ContentHTML != "" || got.Seq != m.Seq ||
		len(got.Reactions) != 0 || got.Reactions == nil || got.Attachments == nil {
		t.Fatalf("DeleteMessage = %+v", got)
	}
	again, err := f.s.DeleteMessage(f.ctx, m.ID, u.ID)
	must(t, err)
	if !again.Deleted {
		t.Fatal("second DeleteMessage undeleted")
	}
	page, _, err := f.s.Messages(f.ctx, r.ID, u.ID, MessageQuery{Limit: 10})
	must(t, err)
	if len(page) != 2 || !page[0].Deleted || page[1].ParentID == nil || *page[1].ParentID != m.ID {
		t.Fatalf("timeline after delete = %+v", page)
	}
	if pins, _ := f.s.Pins(f.ctx, r.ID, u.ID); len(pins) != 0 {
		t.Fatalf("pins after delete = %v", pins)
	}
	wantCode(t, f.s.Pin(f.ctx, r.ID, m.ID, u.ID, f.tick()), chat.CodeConflict)
	wantCode(t, f.s.AddReaction(f.ctx, m.ID, u.ID, "😂", f.tick()), chat.CodeConflict)
	gotRep, err := f.s.ReportByID(f.ctx, rep.ID)
	must(t, err)
	if gotRep.Message != nil || gotRep.MessageID != m.ID {
		t.Fatalf("report of a deleted message: message %v id %s", gotRep.Message, gotRep.MessageID)
	}
	_, err = f.s.DeleteMessage(f.ctx, chat.NewID(), u.ID)
	wantIs(t, err, chat.ErrNotFound)
}

func testReactions(t *testing.T, f *fx) {
	a, b, c := f.user("a"), f.user("b"), f.user("c")
	r := f.room(a.ID, chat.RoomPublic, "r")
	f.join(r.ID, b.ID, c.ID)
	m := f.send(r.ID, a.ID, "react to me")
	must(t, f.s.AddReaction(f.ctx, m.ID, b.ID, "🎉", f.tick()))
	must(t, f.s.AddReaction(f.ctx, m.ID, a.ID, "👍", f.tick()))
	must(t, f.s.AddReaction(f.ctx, m.ID, c.ID, "🎉", f.tick()))
	must(t, f.s.AddReaction(f.ctx, m.ID, b.ID, "👍", f.tick()))
	must(t, f.s.AddReaction(f.ctx, m.ID, b.ID, "❤️", f.tick()))
	wantCode(t, f.s.AddReaction(f.ctx, m.ID, b.ID, "🎉", f.tick()), chat.CodeReactionExists)
	wantIs(t, f.s.AddReaction(f.ctx, chat.NewID(), b.ID, "🎉", f.tick()), chat.ErrNotFound)

	check := func(viewer chat.ID, want []chat.ReactionGroup) {
		t.Helper()
		got, err := f.s.MessageByID(f.ctx, m.ID, viewer)
		must(t, err)
		if !slices.Equal(got.Reactions, want) {
			t.Fatalf("reactions as %s = %+v, want %+v", viewer, got.Reactions, want)
		}
	}
	check(a.ID, []chat.ReactionGroup{{Emoji: "🎉", Count: 2, Me: false}, {Emoji: "👍", Count: 2, Me: true}, {Emoji: "❤️", Count: 1, Me: false}})
	check(b.ID, []chat.ReactionGroup{{Emoji: "🎉", Count: 2, Me: true}, {Emoji: "👍", Count: 2, Me: true}, {Emoji: "❤️", Count: 1, Me: true}})
	check(chat.NilID, []chat.ReactionGroup{{Emoji: "🎉", Count: 2, Me: false}, {Emoji: "👍", Count: 2, Me: false}, {Emoji: "❤️", Count: 1, Me: false}})

	must(t, f.s.RemoveReaction(f.ctx, m.ID, b.ID, "🎉"))
	wantIs(t, f.s.RemoveReaction(f.ctx, m.ID, b.ID, "🎉"), chat.ErrNotFound)
	wantIs(t, f.s.RemoveReaction(f.ctx, m.ID, a.ID, "🎉"), chat.ErrNotFound) // never added
	// The order is by first use among the reactions left: c's 🎉 came after a's 👍.
	check(c.ID, []chat.ReactionGroup{{Emoji: "👍", Count: 2, Me: false}, {Emoji: "🎉", Count: 1, Me: true}, {Emoji: "❤️", Count: 1, Me: false}})
	// Pages carry reactions too.
	page, _, err := f.s.Messages(f.ctx, r.ID, c.ID, MessageQuery{Limit: 5})
	must(t, err)
	if len(page) != 1 || len(page[0].Reactions) != 3 || !page[0].Reactions[1].Me {
		t.Fatalf("page reactions = %+v", page)
	}
}

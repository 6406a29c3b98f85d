package node

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

func msgs(from, to int64) []chat.Message {
	var out []chat.Message
	for s := from; s <= to; s++ {
		out = append(out, chat.Message{Seq: s, ID: chat.NewID()})
	}
	return out
}

func TestRecentBuffer(t *testing.T) {
	b := newRecentBuffer(5)
	b.reset(msgs(1, 8)) // keeps 4..8
	cases := []struct {
		name      string
		after     int64
		last      int64
		wantFirst int64
		wantN     int
		wantOK    bool
	}{
		{"caught up", 8, 8, 0, 0, true},
		{"inside", 5, 8, 6, 3, true},
		{"exactly the oldest", 3, 8, 4, 5, true},
		{"too old", 2, 8, 0, 0, false},
		{"from zero", 0, 8, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := b.after(tc.after, tc.last)
			if ok != tc.wantOK || len(got) != tc.wantN {
				t.Fatalf("after(%d) = %d msgs, ok=%v; want %d, %v", tc.after, len(got), ok, tc.wantN, tc.wantOK)
			}
			for i, m := range got {
				if m.Seq != tc.wantFirst+int64(i) {
					t.Fatalf("msg %d has seq %d, want %d", i, m.Seq, tc.wantFirst+int64(i))
				}
			}
		})
	}
	upd := b.buf[(b.start+1)%5]
	upd.Content = "edited"
	b.update(&upd)
	if got, _ := b.after(4, 8); got[0].Content != "edited" {
		t.Fatalf("update not applied: %+v", got[0])
	}
}

func TestRecentBufferEmptyRoom(t *testing.T) {
	b := newRecentBuffer(3)
	if got, ok := b.after(0, 0); !ok || len(got) != 0 {
		t.Fatalf("empty room: %v %v", got, ok)
	}
	b.push(chat.Message{Seq: 1})
	if got, ok := b.after(0, 1); !ok || len(got) != 1 {
		t.Fatalf("first message: %v %v", got, ok)
	}
}

// TestRecentBufferGrows: the buffer grows with the room's messages, then turns into
// a ring at its capacity, and a reset empties it whatever its state.
func TestRecentBufferGrows(t *testing.T) {
	b := newRecentBuffer(5)
	check := func(after, last, wantFirst int64, wantN int) {
		t.Helper()
		got, ok := b.after(after, last)
		if !ok || len(got) != wantN || (wantN > 0 && got[0].Seq != wantFirst) {
			t.Fatalf("after(%d, %d) = %d msgs (ok %v), want %d from %d", after, last, len(got), ok, wantN, wantFirst)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq != got[i-1].Seq+1 {
				t.Fatalf("after(%d): seqs %d then %d", after, got[i-1].Seq, got[i].Seq)
			}
		}
	}
	for _, m := range msgs(1, 3) {
		b.push(m)
	}
	if cap(b.buf) > 5 {
		t.Fatalf("capacity %d past the maximum", cap(b.buf))
	}
	check(0, 3, 1, 3)
	for _, m := range msgs(4, 12) {
		b.push(m)
	}
	if len(b.buf) != 5 || cap(b.buf) != 5 {
		t.Fatalf("len %d cap %d, want 5 and 5", len(b.buf), cap(b.buf))
	}
	check(7, 12, 8, 5)
	edited := chat.Message{Seq: 10, ID: b.buf[(b.start+2)%5].ID, Content: "edited"}
	b.update(&edited)
	if got, _ := b.after(9, 12); got[0].Content != "edited" {
		t.Fatalf("update not kept: %+v", got[0])
	}
	b.reset(msgs(20, 21))
	check(19, 21, 20, 2)
	b.push(chat.Message{Seq: 22})
	check(19, 22, 20, 3)
}

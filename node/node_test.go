package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
	"github.com/chatd/chatd/persist"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// eachStore runs f on a node over the embedded store and, unless -short, Postgres.
func eachStore(t *testing.T, cfg Config, f func(t *testing.T, n *Node, s persist.Store)) {
	kinds := []string{"embedded", "postgres"}
	if testing.Short() {
		kinds = kinds[:1]
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			s := openStore(t, kind)
			n, err := New(cfg, s, quiet)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close() })
			f(t, n, s)
		})
	}
}

func openStore(t testing.TB, kind string) persist.Store {
	t.Helper()
	var (
		s   persist.Store
		err error
	)
	if kind == "postgres" {
		s, err = persist.OpenPostgres(context.Background(), testsvc.PostgresURL(t), quiet)
	} else {
		s, err = persist.OpenEmbedded(context.Background(), t.TempDir(), quiet)
	}
	if err != nil {
		t.Fatalf("open %s: %v", kind, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var nameSeq int

func newUser(t testing.TB, s persist.Store) chat.User {
	t.Helper()
	nameSeq++
	u := chat.User{ID: chat.NewID(), Username: fmt.Sprintf("user%d", nameSeq), DisplayName: "U", Status: chat.StatusOnline, CreatedAt: chat.Now()}
	if err := s.CreateUser(context.Background(), &u, "x"); err != nil {
		t.Fatal(err)
	}
	return u
}

func newRoom(t testing.TB, s persist.Store, typ chat.RoomType, owner chat.User, members ...chat.User) chat.ID {
	t.Helper()
	ctx := context.Background()
	r := chat.Room{ID: chat.NewID(), Name: "room", Type: typ, CreatedBy: owner.ID, CreatedAt: chat.Now()}
	if err := s.CreateRoom(ctx, &r); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := s.AddMember(ctx, r.ID, m.ID, chat.RoleMember, chat.LevelMentions, chat.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return r.ID
}

func textReq(room chat.ID, sender chat.User, content string) *SendRequest {
	return &SendRequest{RoomID: room, Sender: sender, Type: chat.MessageText, Content: content, ContentHTML: content}
}

func TestSendGapFreeUnderConcurrency(t *testing.T) {
	eachStore(t, Config{Name: "n1", CommitShards: 2}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u := newUser(t, s)
		const rooms, senders, each = 4, 8, 15
		var ids []chat.ID
		for i := 0; i < rooms; i++ {
			ids = append(ids, newRoom(t, s, chat.RoomPublic, u))
		}
		var wg sync.WaitGroup
		errs := make(chan error, rooms*senders*each)
		for i := 0; i < senders; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for j := 0; j < each; j++ {
					room := ids[(i+j)%rooms]
					if _, _, err := n.Send(ctx, textReq(room, u, fmt.Sprintf("m %d %d", i, j))); err != nil {
						errs <- err
					}
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		total := 0
		for _, room := range ids {
			got, err := s.MessagesAfterSeq(ctx, room, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range got {
				if m.Seq != int64(i+1) {
					t.Fatalf("room %s: message %d has seq %d", room, i, m.Seq)
				}
			}
			total += len(got)
		}
		if total != senders*each {
			t.Fatalf("stored %d messages, want %d", total, senders*each)
		}
	})
}

func TestSendFencedWhenEpochMoves(t *testing.T) {
	eachStore(t, Config{Name: "n1"}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u := newUser(t, s)
		room := newRoom(t, s, chat.RoomPublic, u)
		if _, _, err := n.Send(ctx, textReq(room, u, "one")); err != nil {
			t.Fatal(err)
		}
		// Another node takes the room: this node's next batch is refused by the store.
		// A single node is the ring's owner, so it takes the room back (a new epoch)
		// and the send commits once, right after the last committed seq.
		if _, _, err := s.AcquireRoom(ctx, room, "n2"); err != nil {
			t.Fatal(err)
		}
		m, _, err := n.Send(ctx, textReq(room, u, "after the fence"))
		if err != nil || m.Seq != 2 {
			t.Fatalf("send after the epoch moved: %v %+v, want seq 2", err, m)
		}
		got, _ := s.MessagesAfterSeq(ctx, room, 0, 10)
		if len(got) != 2 || got[1].ID != m.ID {
			t.Fatalf("stored %d messages, want exactly the 2 acknowledged", len(got))
		}
		if v := testutilCounter(n.m.fenced); v != 1 {
			t.Fatalf("fenced batches: %v, want 1", v)
		}
	})
}

func TestSendIdempotentWhileInFlight(t *testing.T) {
	eachStore(t, Config{Name: "n1"}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u := newUser(t, s)
		room := newRoom(t, s, chat.RoomPublic, u)
		cmid := "c-1"
		var wg sync.WaitGroup
		results := make([]*chat.Message, 10)
		created := make([]bool, 10)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req := textReq(room, u, fmt.Sprintf("attempt %d", i))
				req.ClientMsgID = &cmid
				m, c, err := n.Send(ctx, req)
				if err != nil {
					t.Error(err)
					return
				}
				results[i], created[i] = m, c
			}(i)
		}
		wg.Wait()
		nCreated := 0
		for i, m := range results {
			if m == nil || m.ID != results[0].ID {
				t.Fatalf("attempt %d returned another message", i)
			}
			if created[i] {
				nCreated++
			}
		}
		if nCreated != 1 {
			t.Fatalf("%d attempts created a message, want 1", nCreated)
		}
	})
}

// TestResendInABatchFailsAlone: a resend of a stored client_msg_id that shares a
// batch with other messages of its room is answered with the original, and the
// others commit with contiguous seqs (the store refused the whole batch once).
func TestResendInABatchFailsAlone(t *testing.T) {
	eachStore(t, Config{Name: "n1", CommitMaxDelay: 50 * time.Millisecond}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u, other := newUser(t, s), newUser(t, s)
		room := newRoom(t, s, chat.RoomPublic, u, other)
		cmid := "resent"
		req := textReq(room, u, "original")
		req.ClientMsgID = &cmid
		orig, created, err := n.Send(ctx, req)
		if err != nil || !created {
			t.Fatalf("original: created %v err %v", created, err)
		}
		const innocents = 8
		var wg sync.WaitGroup
		errs := make(chan error, innocents+1)
		for i := range innocents {
			wg.Go(func() {
				if _, created, err := n.Send(ctx, textReq(room, other, fmt.Sprintf("innocent %d", i))); err != nil || !created {
					errs <- fmt.Errorf("innocent %d: created %v err %v", i, created, err)
				}
			})
		}
		wg.Go(func() {
			again := textReq(room, u, "resent with other words")
			again.ClientMsgID = &cmid
			m, created, err := n.Send(ctx, again)
			if err != nil || created || m.ID != orig.ID || m.Content != "original" {
				errs <- fmt.Errorf("resend: created %v err %v msg %+v, want the original", created, err, m)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := s.MessagesAfterSeq(ctx, room, 0, 100)
		if err != nil || len(got) != innocents+1 {
			t.Fatalf("stored %d messages (err %v), want %d", len(got), err, innocents+1)
		}
		for i, m := range got {
			if m.Seq != int64(i+1) {
				t.Fatalf("message %d has seq %d: seqs not contiguous", i, m.Seq)
			}
		}
	})
}

// collector is a Sink that records what it is given.
type collector struct {
	mu     sync.Mutex
	events []*Event
}

func (c *collector) Deliver(ev *Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
}

func TestSubscribersGetMessagesInSeqOrder(t *testing.T) {
	eachStore(t, Config{Name: "n1"}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u := newUser(t, s)
		room := newRoom(t, s, chat.RoomPublic, u)
		if _, _, err := n.Send(ctx, textReq(room, u, "before")); err != nil {
			t.Fatal(err)
		}
		var c collector
		last, err := n.Subscribe(ctx, room, &c)
		if err != nil || last != 1 {
			t.Fatalf("subscribe: last %d err %v", last, err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, _, err := n.Send(ctx, textReq(room, u, fmt.Sprint(i))); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.events) != 20 {
			t.Fatalf("delivered %d events, want 20", len(c.events))
		}
		for i, ev := range c.events {
			if ev.Type != EventMessageCreated || ev.Seq != int64(i+2) {
				t.Fatalf("event %d: %s seq %d", i, ev.Type, ev.Seq)
			}
		}
		msgs, lastSeq, ok := n.Recent(room, 0)
		if !ok || lastSeq != 21 || len(msgs) != 21 {
			t.Fatalf("recent: %d msgs, last %d, ok %v", len(msgs), lastSeq, ok)
		}
	})
}

func TestSenderChecks(t *testing.T) {
	eachStore(t, Config{Name: "n1"}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		owner, member, outsider := newUser(t, s), newUser(t, s), newUser(t, s)
		pub := newRoom(t, s, chat.RoomPublic, owner, member)
		priv := newRoom(t, s, chat.RoomPrivate, owner, member)
		cases := []struct {
			name   string
			room   chat.ID
			sender chat.User
			want   chat.Code
		}{
			{"member sends", pub, member, ""},
			{"outsider of public", pub, outsider, chat.CodeNotMember},
			{"outsider of private", priv, outsider, chat.CodeNotFound},
		}
		for _, tc := range cases {
			_, _, err := n.Send(ctx, textReq(tc.room, tc.sender, "hi"))
			if got := codeOf(err); got != tc.want {
				t.Errorf("%s: code %q, want %q (err %v)", tc.name, got, tc.want, err)
			}
		}
		until := chat.Forever
		if err := s.SetMute(ctx, pub, member.ID, &until); err != nil {
			t.Fatal(err)
		}
		n.RoomChanged(pub)
		if _, _, err := n.Send(ctx, textReq(pub, member, "hi")); codeOf(err) != chat.CodeMuted {
			t.Fatalf("muted member: %v", err)
		}
		sys := textReq(pub, outsider, "outsider left")
		sys.Type = chat.MessageSystem
		if _, _, err := n.Send(ctx, sys); err != nil {
			t.Fatalf("system message: %v", err)
		}
	})
}

func codeOf(err error) chat.Code {
	if err == nil {
		return ""
	}
	if e := chat.AsError(err); e != nil {
		return e.Code
	}
	return "fault"
}

// testutilCounter reads a counter's value.
func testutilCounter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

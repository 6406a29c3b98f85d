package persist

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func testInvites(t *testing.T, f *fx) {
	o, a, b, c := f.user("o"), f.user("a"), f.user("b"), f.user("c")
	r := f.room(o.ID, chat.RoomPrivate, "r")
	now := chat.Now()
	inv := chat.Invite{Code: "Code2Use", RoomID: r.ID, CreatedBy: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxUses: ptr(2)}
	must(t, f.s.CreateInvite(f.ctx, &inv))
	dup := inv
	wantIs(t, f.s.CreateInvite(f.ctx, &dup), chat.ErrConflict)
	got, err := f.s.InviteByCode(f.ctx, "Code2Use")
	must(t, err)
	if *got.MaxUses != 2 || got.Uses != 0 || got.Revoked || got.ExpiresAt != inv.ExpiresAt || got.RoomID != r.ID {
		t.Fatalf("InviteByCode = %+v", got)
	}
	_, err = f.s.InviteByCode(f.ctx, "code2use") // codes are case-sensitive
	wantIs(t, err, chat.ErrNotFound)

	used, added, err := f.s.UseInvite(f.ctx, "Code2Use", a.ID, chat.LevelMentions, now)
	must(t, err)
	if !added || used.Uses != 1 {
		t.Fatalf("UseInvite = %+v added %v", used, added)
	}
	if m, err := f.s.Member(f.ctx, r.ID, a.ID); err != nil || m.Role != chat.RoleMember {
		t.Fatalf("member after invite = %+v, %v", m, err)
	}
	// Already a member: no use is counted.
	used, added, err = f.s.UseInvite(f.ctx, "Code2Use", a.ID, chat.LevelMentions, now)
	must(t, err)
	if added || used.Uses != 1 {
		t.Fatalf("UseInvite by a member = %+v added %v", used, added)
	}
	if _, added, err = f.s.UseInvite(f.ctx, "Code2Use", b.ID, chat.LevelMentions, now); err != nil || !added {
		t.Fatalf("second use: %v %v", added, err)
	}
	_, _, err = f.s.UseInvite(f.ctx, "Code2Use", c.ID, chat.LevelMentions, now) // used up
	wantCode(t, err, chat.CodeInviteInvalid)
	if _, err := f.s.Member(f.ctx, r.ID, c.ID); err == nil {
		t.Fatal("a used-up invite added a member")
	}

	exp := chat.Invite{Code: "Expiring1", RoomID: r.ID, CreatedBy: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	must(t, f.s.CreateInvite(f.ctx, &exp))
	_, _, err = f.s.UseInvite(f.ctx, "Expiring1", c.ID, chat.LevelMentions, now.Add(time.Minute)) // at expiry: invalid
	wantCode(t, err, chat.CodeInviteInvalid)
	if _, added, err := f.s.UseInvite(f.ctx, "Expiring1", c.ID, chat.LevelMentions, now); err != nil || !added {
		t.Fatalf("unlimited invite: %v %v", added, err)
	}

	rev := chat.Invite{Code: "Revoked1", RoomID: r.ID, CreatedBy: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, f.s.CreateInvite(f.ctx, &rev))
	must(t, f.s.RevokeInvite(f.ctx, "Revoked1"))
	must(t, f.s.RevokeInvite(f.ctx, "Revoked1"))
	d := f.user("d")
	_, _, err = f.s.UseInvite(f.ctx, "Revoked1", d.ID, chat.LevelMentions, now)
	wantCode(t, err, chat.CodeInviteInvalid)
	if got, _ := f.s.InviteByCode(f.ctx, "Revoked1"); !got.Revoked || got.Uses != 0 {
		t.Fatalf("revoked invite = %+v", got)
	}
	wantIs(t, f.s.RevokeInvite(f.ctx, "Unknown1"), chat.ErrNotFound)
	_, _, err = f.s.UseInvite(f.ctx, "Unknown1", d.ID, chat.LevelMentions, now)
	wantIs(t, err, chat.ErrNotFound)
	bad := chat.Invite{Code: "NoRoom12", RoomID: chat.NewID(), CreatedBy: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	wantIs(t, f.s.CreateInvite(f.ctx, &bad), chat.ErrNotFound)
}

func testInvitesConcurrent(t *testing.T, f *fx) {
	o := f.user("o")
	r := f.room(o.ID, chat.RoomPrivate, "r")
	now := chat.Now()
	must(t, f.s.CreateInvite(f.ctx, &chat.Invite{Code: "Limited3", RoomID: r.ID, CreatedBy: o.ID, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), MaxUses: ptr(3)}))
	const n = 10
	users := make([]chat.ID, n)
	for i := range users {
		users[i] = f.user("user" + string(rune('a'+i))).ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	added, invalid := 0, 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := f.s.UseInvite(f.ctx, "Limited3", users[i], chat.LevelMentions, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && ok:
				added++
			case chat.AsError(err) != nil && chat.AsError(err).Code == chat.CodeInviteInvalid:
				invalid++
			default:
				t.Errorf("UseInvite: %v %v", ok, err)
			}
		}()
	}
	wg.Wait()
	got, _ := f.s.InviteByCode(f.ctx, "Limited3")
	room, _ := f.s.RoomByID(f.ctx, r.ID, o.ID)
	if added != 3 || invalid != n-3 || got.Uses != 3 || room.MemberCount != 4 {
		t.Fatalf("added %d invalid %d uses %d members %d; want 3, %d, 3, 4", added, invalid, got.Uses, room.MemberCount, n-3)
	}
}

func testPins(t *testing.T, f *fx) {
	o := f.user("o")
	r, other := f.room(o.ID, chat.RoomPublic, "r"), f.room(o.ID, chat.RoomPublic, "other")
	m1, m2 := f.send(r.ID, o.ID, "one"), f.send(r.ID, o.ID, "two")
	must(t, f.s.AddReaction(f.ctx, m1.ID, o.ID, "📌", f.tick()))
	at1 := f.tick()
	must(t, f.s.Pin(f.ctx, r.ID, m1.ID, o.ID, at1))
	must(t, f.s.Pin(f.ctx, r.ID, m1.ID, o.ID, f.tick())) // idempotent, keeps the first
	at2 := f.tick()
	must(t, f.s.Pin(f.ctx, r.ID, m2.ID, o.ID, at2))
	pins, err := f.s.Pins(f.ctx, r.ID, o.ID)
	must(t, err)
	if len(pins) != 2 || pins[0].Message.ID != m2.ID || pins[0].PinnedAt != at2 || pins[1].Message.ID != m1.ID ||
		pins[1].PinnedAt != at1 || pins[1].PinnedBy.ID != o.ID || pins[1].Message.Content != "one" ||
		len(pins[1].Message.Reactions) != 1 || !pins[1].Message.Reactions[0].Me {
		t.Fatalf("Pins = %+v", pins)
	}
	wantIs(t, f.s.Pin(f.ctx, other.ID, m1.ID, o.ID, f.tick()), chat.ErrNotFound) // not that room's
	wantIs(t, f.s.Pin(f.ctx, r.ID, chat.NewID(), o.ID, f.tick()), chat.ErrNotFound)
	must(t, f.s.Unpin(f.ctx, r.ID, m2.ID))
	wantIs(t, f.s.Unpin(f.ctx, r.ID, m2.ID), chat.ErrNotFound)
	if pins, _ := f.s.Pins(f.ctx, r.ID, o.ID); len(pins) != 1 {
		t.Fatalf("Pins after unpin = %d", len(pins))
	}
	if pins, err := f.s.Pins(f.ctx, other.ID, o.ID); err != nil || pins == nil || len(pins) != 0 {
		t.Fatalf("Pins(empty room) = %#v, %v", pins, err)
	}
}

func testBlocks(t *testing.T, f *fx) {
	a, b, c, d := f.user("a"), f.user("b"), f.user("c"), f.user("d")
	for _, x := range []chat.ID{b.ID, c.ID, d.ID} {
		added, err := f.s.Block(f.ctx, a.ID, x, f.tick())
		must(t, err)
		if !added {
			t.Fatal("Block: added = false")
		}
	}
	if added, err := f.s.Block(f.ctx, a.ID, b.ID, f.tick()); err != nil || added {
		t.Fatalf("repeated Block = %v, %v", added, err)
	}
	_, err := f.s.Block(f.ctx, a.ID, chat.NewID(), f.tick())
	wantIs(t, err, chat.ErrNotFound)
	for pair, want := range map[[2]chat.ID]bool{{a.ID, b.ID}: true, {b.ID, a.ID}: false, {a.ID, a.ID}: false} {
		got, err := f.s.Blocked(f.ctx, pair[0], pair[1])
		must(t, err)
		if got != want {
			t.Errorf("Blocked(%v) = %v, want %v", pair, got, want)
		}
	}
	var got []chat.ID
	cur := ""
	for {
		us, next, err := f.s.Blocks(f.ctx, a.ID, Page{Cursor: cur, Limit: 2})
		must(t, err)
		for _, u := range us {
			got = append(got, u.ID)
		}
		if next == "" {
			break
		}
		cur = next
	}
	if want := []chat.ID{b.ID, c.ID, d.ID}; !slices.Equal(got, want) {
		t.Fatalf("Blocks = %v, want %v", got, want)
	}
	must(t, f.s.Unblock(f.ctx, a.ID, c.ID))
	wantIs(t, f.s.Unblock(f.ctx, a.ID, c.ID), chat.ErrNotFound)
	if ok, _ := f.s.Blocked(f.ctx, a.ID, c.ID); ok {
		t.Fatal("still blocked after Unblock")
	}
}

func testReports(t *testing.T, f *fx) {
	o, a := f.user("o"), f.user("a")
	r := f.room(o.ID, chat.RoomPublic, "r")
	f.join(r.ID, a.ID)
	ms := f.sendN(r.ID, o.ID, 3)
	var reps []chat.Report
	for i, m := range ms {
		rep := chat.Report{ID: chat.NewID(), RoomID: r.ID, MessageID: m.ID, Reporter: a, Reason: "reason " + m.Content, CreatedAt: f.tick()}
		must(t, f.s.CreateReport(f.ctx, &rep))
		if rep.Status != chat.ReportOpen {
			t.Fatalf("CreateReport status = %q", rep.Status)
		}
		reps = append(reps, rep)
		_ = i
	}
	got, err := f.s.ReportByID(f.ctx, reps[0].ID)
	must(t, err)
	if got.Message == nil || got.Message.ID != ms[0].ID || got.Reporter.ID != a.ID || got.Reason != "reason m1" ||
		got.Status != chat.ReportOpen || got.RoomID != r.ID || got.CreatedAt != reps[0].CreatedAt {
		t.Fatalf("ReportByID = %+v", got)
	}
	must(t, f.s.SetReportStatus(f.ctx, reps[1].ID, chat.ReportDismissed))
	wantIs(t, f.s.SetReportStatus(f.ctx, chat.NewID(), chat.ReportResolved), chat.ErrNotFound)
	list := func(status chat.ReportStatus, limit int) []chat.ID {
		t.Helper()
		var out []chat.ID
		cur := ""
		for {
			page, next, err := f.s.Reports(f.ctx, r.ID, status, Page{Cursor: cur, Limit: limit})
			must(t, err)
			for _, p := range page {
				out = append(out, p.ID)
				if p.Message == nil {
					t.Fatalf("report %s lost its live message", p.ID)
				}
			}
			if next == "" {
				return out
			}
			cur = next
		}
	}
	if got, want := list("", 2), []chat.ID{reps[2].ID, reps[1].ID, reps[0].ID}; !slices.Equal(got, want) {
		t.Fatalf("Reports(any) = %v, want %v (newest first)", got, want)
	}
	if got, want := list(chat.ReportOpen, 1), []chat.ID{reps[2].ID, reps[0].ID}; !slices.Equal(got, want) {
		t.Fatalf("Reports(open) = %v, want %v", got, want)
	}
	if got := list(chat.ReportResolved, 5); len(got) != 0 {
		t.Fatalf("Reports(resolved) = %v", got)
	}
	_, err = f.s.ReportByID(f.ctx, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
	bad := chat.Report{ID: chat.NewID(), RoomID: r.ID, MessageID: chat.NewID(), Reporter: a, Reason: "x", CreatedAt: f.tick()}
	wantIs(t, f.s.CreateReport(f.ctx, &bad), chat.ErrNotFound)
}

func testNotifications(t *testing.T, f *fx) {
	u, actor, other := f.user("u"), f.user("actor"), f.user("other")
	r := f.room(actor.ID, chat.RoomPublic, "r")
	m := f.send(r.ID, actor.ID, "@u hi")
	now := chat.Now()
	mk := func(user chat.ID, typ chat.NotificationType, at chat.Time) chat.Notification {
		return chat.Notification{ID: chat.NewID(), UserID: user, Type: typ, RoomID: r.ID, MessageID: &m.ID, Actor: actor,
			Content: "@u hi", CreatedAt: at}
	}
	expired := mk(u.ID, chat.NotifyMention, now.Add(-chat.NotificationTTL-time.Minute))
	n1 := mk(u.ID, chat.NotifyMention, now.Add(-time.Hour))
	n2 := mk(u.ID, chat.NotifyReply, now.Add(-time.Minute))
	n3 := mk(u.ID, chat.NotifyRoomInvite, now)
	n3.MessageID = nil
	theirs := mk(other.ID, chat.NotifyMention, now)
	must(t, f.s.CreateNotifications(f.ctx, []chat.Notification{expired, n1, n2, n3, theirs}))
	must(t, f.s.CreateNotifications(f.ctx, nil))

	list := func(unread bool) []chat.ID {
		t.Helper()
		var out []chat.ID
		cur := ""
		for {
			page, next, err := f.s.Notifications(f.ctx, u.ID, unread, Page{Cursor: cur, Limit: 2})
			must(t, err)
			for _, n := range page {
				out = append(out, n.ID)
			}
			if next == "" {
				return out
			}
			cur = next
		}
	}
	if got, want := list(false), []chat.ID{n3.ID, n2.ID, n1.ID}; !slices.Equal(got, want) {
		t.Fatalf("Notifications = %v, want %v (newest first, expired never)", got, want)
	}
	page, _, err := f.s.Notifications(f.ctx, u.ID, false, Page{Limit: 1})
	must(t, err)
	if g := page[0]; g.Type != chat.NotifyRoomInvite || g.MessageID != nil || g.Actor.ID != actor.ID || g.Actor.Username != "actor" ||
		g.RoomID != r.ID || g.Read || g.CreatedAt != now || g.UserID != u.ID {
		t.Fatalf("notification = %+v", g)
	}
	count := func() int {
		t.Helper()
		n, err := f.s.UnreadNotificationCount(f.ctx, u.ID)
		must(t, err)
		return n
	}
	if c := count(); c != 3 {
		t.Fatalf("unread count = %d, want 3", c)
	}
	must(t, f.s.MarkNotificationRead(f.ctx, u.ID, n2.ID))
	wantIs(t, f.s.MarkNotificationRead(f.ctx, u.ID, theirs.ID), chat.ErrNotFound)  // not u's
	wantIs(t, f.s.MarkNotificationRead(f.ctx, u.ID, expired.ID), chat.ErrNotFound) // expired
	if got, want := list(true), []chat.ID{n3.ID, n1.ID}; !slices.Equal(got, want) {
		t.Fatalf("unread Notifications = %v, want %v", got, want)
	}
	if c := count(); c != 2 {
		t.Fatalf("unread count = %d, want 2", c)
	}
	must(t, f.s.MarkAllNotificationsRead(f.ctx, u.ID))
	if c := count(); c != 0 {
		t.Fatalf("unread count after read-all = %d", c)
	}
	if got := list(true); len(got) != 0 {
		t.Fatalf("unread after read-all = %v", got)
	}
	if n, _ := f.s.UnreadNotificationCount(f.ctx, other.ID); n != 1 {
		t.Fatalf("read-all touched another user: %d unread", n)
	}
	must(t, f.s.PurgeExpired(f.ctx, now.Add(-chat.NotificationTTL)))
	if got := list(false); len(got) != 3 {
		t.Fatalf("purge removed live notifications: %v", got)
	}
}

func testBadCursors(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	m := f.send(r.ID, u.ID, "x")
	_, roomsCursor, err := f.s.RoomsOf(f.ctx, u.ID, Page{Limit: 1})
	must(t, err)
	f.room(u.ID, chat.RoomPublic, "r2")
	_, roomsCursor, err = f.s.RoomsOf(f.ctx, u.ID, Page{Limit: 1})
	must(t, err)
	if roomsCursor == "" {
		t.Fatal("no cursor to misuse")
	}
	lists := map[string]func(cur string) error{
		"users":   func(c string) error { _, _, err := f.s.SearchUsers(f.ctx, "", Page{Cursor: c}); return err },
		"rooms":   func(c string) error { _, _, err := f.s.RoomsOf(f.ctx, u.ID, Page{Cursor: c}); return err },
		"public":  func(c string) error { _, _, err := f.s.PublicRooms(f.ctx, "", u.ID, Page{Cursor: c}); return err },
		"members": func(c string) error { _, _, err := f.s.Members(f.ctx, r.ID, Page{Cursor: c}); return err },
		"thread":  func(c string) error { _, _, err := f.s.Thread(f.ctx, m.ID, u.ID, Page{Cursor: c}); return err },
		"blocks":  func(c string) error { _, _, err := f.s.Blocks(f.ctx, u.ID, Page{Cursor: c}); return err },
		"reports": func(c string) error { _, _, err := f.s.Reports(f.ctx, r.ID, "", Page{Cursor: c}); return err },
		"notifications": func(c string) error {
			_, _, err := f.s.Notifications(f.ctx, u.ID, false, Page{Cursor: c})
			return err
		},
	}
	for name, list := range lists {
		for _, bad := range []string{"!!!", "e30", "bm90IGpzb24", roomsCursor} {
			if name == "rooms" && bad == roomsCursor {
				must(t, list(bad)) // its own cursor is fine
				continue
			}
			err := list(bad)
			wantCode(t, err, chat.CodeValidation)
			if e := chat.AsError(err); e.Field != "cursor" {
				t.Errorf("%s(%q): field %q, want cursor", name, bad, e.Field)
			}
		}
	}
}

func testReopen(t *testing.T, f *fx) {
	u := f.user("u")
	r := f.room(u.ID, chat.RoomPublic, "r")
	m := f.send(r.ID, u.ID, "persisted")
	must(t, f.s.Ping(f.ctx))
	must(t, f.s.Close())
	s := f.reopen() // migrations already applied: nothing to do, data intact
	must(t, s.Ping(context.Background()))
	got, err := s.MessageByID(f.ctx, m.ID, u.ID)
	must(t, err)
	if got.Content != "persisted" {
		t.Fatalf("after reopen: %+v", got)
	}
	epoch, last, err := s.AcquireRoom(f.ctx, r.ID, "node-2")
	must(t, err)
	if epoch != 2 || last != 1 {
		t.Fatalf("after reopen AcquireRoom = %d, %d", epoch, last)
	}
}

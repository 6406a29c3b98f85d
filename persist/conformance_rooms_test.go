package persist

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func testRoomCreateView(t *testing.T, f *fx) {
	owner, other := f.user("owner"), f.user("other")
	r := f.room(owner.ID, chat.RoomPublic, "General")
	if r.MemberCount != 1 || r.MyRole == nil || *r.MyRole != chat.RoleOwner {
		t.Fatalf("CreateRoom filled %+v", r)
	}
	got, err := f.s.RoomByID(f.ctx, r.ID, owner.ID)
	must(t, err)
	if got.Name != "General" || got.Description != "about General" || got.Type != chat.RoomPublic ||
		got.CreatedBy != owner.ID || got.CreatedAt != r.CreatedAt || got.LastMessageAt != nil ||
		got.MemberCount != 1 || got.UnreadCount != 0 || got.MyRole == nil || *got.MyRole != chat.RoleOwner ||
		got.NotificationLevel == nil || *got.NotificationLevel != chat.LevelMentions {
		t.Fatalf("RoomByID as owner = %+v", got)
	}
	got, err = f.s.RoomByID(f.ctx, r.ID, other.ID)
	must(t, err)
	if got.MyRole != nil || got.NotificationLevel != nil || got.MemberCount != 1 || got.UnreadCount != 0 {
		t.Fatalf("RoomByID as outsider = %+v", got)
	}
	if got, err = f.s.RoomByID(f.ctx, r.ID, chat.NilID); err != nil || got.MyRole != nil {
		t.Fatalf("RoomByID as nobody = %+v, %v", got, err)
	}
	_, err = f.s.RoomByID(f.ctx, chat.NewID(), owner.ID)
	wantIs(t, err, chat.ErrNotFound)
	bad := chat.Room{ID: chat.NewID(), Name: "x", Type: chat.RoomPublic, CreatedBy: chat.NewID(), CreatedAt: f.tick()}
	wantIs(t, f.s.CreateRoom(f.ctx, &bad), chat.ErrNotFound)
}

func testDirectRoom(t *testing.T, f *fx) {
	a, b, c := f.user("alice"), f.user("bob"), f.user("carol")
	dm := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: a.ID, CreatedAt: f.tick()}
	r, created, err := f.s.CreateDirectRoom(f.ctx, &dm, a.ID, b.ID)
	must(t, err)
	if !created || r.ID != dm.ID || r.Type != chat.RoomDirect || r.MemberCount != 2 || r.Name != "" ||
		r.MyRole == nil || r.NotificationLevel == nil || *r.NotificationLevel != chat.LevelAll {
		t.Fatalf("CreateDirectRoom = %+v, created %v", r, created)
	}
	// Asked again, from either side: the same room.
	again := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: b.ID, CreatedAt: f.tick()}
	r2, created, err := f.s.CreateDirectRoom(f.ctx, &again, b.ID, a.ID)
	must(t, err)
	if created || r2.ID != dm.ID {
		t.Fatalf("second CreateDirectRoom = %s created %v, want %s and false", r2.ID, created, dm.ID)
	}
	// Never a third member.
	_, err = f.s.AddMember(f.ctx, dm.ID, c.ID, chat.RoleMember, chat.LevelAll, f.tick())
	wantCode(t, err, chat.CodeDirectRoomClosed)
	if added, err := f.s.AddMember(f.ctx, dm.ID, a.ID, chat.RoleMember, chat.LevelAll, f.tick()); err != nil || added {
		t.Fatalf("AddMember of a present DM member = %v, %v; want false, nil", added, err)
	}
	// A member who left comes back when the DM is opened again.
	if removed, err := f.s.RemoveMember(f.ctx, dm.ID, b.ID); err != nil || !removed {
		t.Fatalf("RemoveMember = %v, %v", removed, err)
	}
	r3, created, err := f.s.CreateDirectRoom(f.ctx, &chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: b.ID, CreatedAt: f.tick()}, b.ID, a.ID)
	must(t, err)
	if created || r3.ID != dm.ID || r3.MemberCount != 2 || r3.MyRole == nil {
		t.Fatalf("reopened DM = %+v created %v", r3, created)
	}
	_, _, err = f.s.CreateDirectRoom(f.ctx, &chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: a.ID, CreatedAt: f.tick()}, a.ID, a.ID)
	wantCode(t, err, chat.CodeValidation)
	_, _, err = f.s.CreateDirectRoom(f.ctx, &chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: a.ID, CreatedAt: f.tick()}, a.ID, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
}

func testDirectRoomConcurrent(t *testing.T, f *fx) {
	a, b := f.user("alice"), f.user("bob")
	const n = 8
	var wg sync.WaitGroup
	ids := make([]chat.ID, n)
	createdN := make([]bool, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, y := a.ID, b.ID
			if i%2 == 1 {
				x, y = y, x
			}
			room := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, CreatedBy: x, CreatedAt: chat.Now()}
			r, created, err := f.s.CreateDirectRoom(f.ctx, &room, x, y)
			errs[i], createdN[i] = err, created
			if err == nil {
				ids[i] = r.ID
			}
		}()
	}
	wg.Wait()
	creations := 0
	for i := 0; i < n; i++ {
		must(t, errs[i])
		if ids[i] != ids[0] {
			t.Fatalf("concurrent DMs: %v", ids)
		}
		if createdN[i] {
			creations++
		}
	}
	if creations != 1 {
		t.Fatalf("%d callers were told they created the DM, want 1", creations)
	}
	r, err := f.s.RoomByID(f.ctx, ids[0], a.ID)
	must(t, err)
	if r.MemberCount != 2 {
		t.Fatalf("member_count = %d", r.MemberCount)
	}
}

func testRoomsOf(t *testing.T, f *fx) {
	u := f.user("ursula")
	other := f.user("other")
	r1 := f.room(u.ID, chat.RoomPublic, "r1")
	r2 := f.room(u.ID, chat.RoomPrivate, "r2")
	r3 := f.room(other.ID, chat.RoomPublic, "r3")
	f.join(r3.ID, u.ID)
	r4 := f.room(u.ID, chat.RoomPublic, "r4") // newest, no messages
	f.room(other.ID, chat.RoomPublic, "not mine")
	f.send(r1.ID, u.ID, "bump r1") // r1 becomes the most recent activity
	f.tick()
	m := f.send(r2.ID, u.ID, "bump r2")
	want := []chat.ID{r2.ID, r1.ID, r4.ID, r3.ID}
	rooms, next, err := f.s.RoomsOf(f.ctx, u.ID, Page{Limit: 10})
	must(t, err)
	got := []chat.ID{}
	for _, r := range rooms {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) || next != "" {
		t.Fatalf("RoomsOf = %v next %q, want %v", got, next, want)
	}
	if rooms[0].LastMessageAt == nil || *rooms[0].LastMessageAt != m.CreatedAt {
		t.Fatalf("last_message_at = %v, want %v", rooms[0].LastMessageAt, m.CreatedAt)
	}
	// Pages of 1 walk the same order.
	got = got[:0]
	cur := ""
	for {
		rooms, next, err := f.s.RoomsOf(f.ctx, u.ID, Page{Cursor: cur, Limit: 1})
		must(t, err)
		for _, r := range rooms {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		if len(got) > 10 {
			t.Fatal("pagination does not end")
		}
		cur = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged RoomsOf = %v, want %v", got, want)
	}
	if rooms, _, err := f.s.RoomsOf(f.ctx, chat.NewID(), Page{}); err != nil || len(rooms) != 0 || rooms == nil {
		t.Fatalf("RoomsOf(stranger) = %#v, %v; want empty", rooms, err)
	}
}

func testPublicRooms(t *testing.T, f *fx) {
	u1, u2, u3 := f.user("u1"), f.user("u2"), f.user("u3")
	small := f.room(u1.ID, chat.RoomPublic, "Go Lovers")
	big := f.room(u1.ID, chat.RoomPublic, "golang 100%")
	f.join(big.ID, u2.ID, u3.ID)
	mid := f.room(u2.ID, chat.RoomPublic, "Rust")
	f.join(mid.ID, u1.ID)
	f.room(u1.ID, chat.RoomPrivate, "go secret")
	names := func(rs []chat.Room) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	cases := []struct {
		q    string
		want []string
	}{
		{"", []string{"golang 100%", "Rust", "Go Lovers"}},
		{"GO", []string{"golang 100%", "Go Lovers"}},
		{"100%", []string{"golang 100%"}},
		{"%", []string{"golang 100%"}}, // literal %
		{"_", []string{}},
	}
	for _, c := range cases {
		rs, _, err := f.s.PublicRooms(f.ctx, c.q, u3.ID, Page{Limit: 10})
		must(t, err)
		if got := names(rs); !slices.Equal(got, c.want) {
			t.Errorf("PublicRooms(%q) = %v, want %v", c.q, got, c.want)
		}
	}
	rs, next, err := f.s.PublicRooms(f.ctx, "", u3.ID, Page{Limit: 2})
	must(t, err)
	if len(rs) != 2 || next == "" || rs[0].MemberCount != 3 || rs[0].MyRole == nil || rs[1].MyRole != nil {
		t.Fatalf("first page = %+v next %q", rs, next)
	}
	rs, next, err = f.s.PublicRooms(f.ctx, "", u3.ID, Page{Cursor: next, Limit: 2})
	must(t, err)
	if got := names(rs); !slices.Equal(got, []string{"Go Lovers"}) || next != "" {
		t.Fatalf("second page = %v next %q", got, next)
	}
	_ = small
}

func testRoomUpdateDelete(t *testing.T, f *fx) {
	u := f.user("owner")
	r := f.room(u.ID, chat.RoomPublic, "before")
	got, err := f.s.UpdateRoom(f.ctx, r.ID, ptr("after"), nil, u.ID)
	must(t, err)
	if got.Name != "after" || got.Description != r.Description || got.MyRole == nil {
		t.Fatalf("UpdateRoom = %+v", got)
	}
	got, err = f.s.UpdateRoom(f.ctx, r.ID, nil, ptr(""), u.ID)
	must(t, err)
	if got.Name != "after" || got.Description != "" {
		t.Fatalf("UpdateRoom (2) = %+v", got)
	}
	_, err = f.s.UpdateRoom(f.ctx, chat.NewID(), ptr("x"), nil, u.ID)
	wantIs(t, err, chat.ErrNotFound)

	m := f.send(r.ID, u.ID, "hello")
	must(t, f.s.AddReaction(f.ctx, m.ID, u.ID, "👍", f.tick()))
	must(t, f.s.Pin(f.ctx, r.ID, m.ID, u.ID, f.tick()))
	must(t, f.s.CreateInvite(f.ctx, &chat.Invite{Code: "abcdefgh", RoomID: r.ID, CreatedBy: u.ID, CreatedAt: f.tick(), ExpiresAt: f.now.Add(time.Hour)}))
	must(t, f.s.DeleteRoom(f.ctx, r.ID))
	_, err = f.s.RoomByID(f.ctx, r.ID, u.ID)
	wantIs(t, err, chat.ErrNotFound)
	_, err = f.s.MessageByID(f.ctx, m.ID, u.ID)
	wantIs(t, err, chat.ErrNotFound)
	_, err = f.s.InviteByCode(f.ctx, "abcdefgh")
	wantIs(t, err, chat.ErrNotFound)
	if rooms, _, _ := f.s.RoomsOf(f.ctx, u.ID, Page{}); len(rooms) != 0 {
		t.Fatalf("RoomsOf after delete = %v", rooms)
	}
	wantIs(t, f.s.DeleteRoom(f.ctx, r.ID), chat.ErrNotFound)
}

func testUnread(t *testing.T, f *fx) {
	me, them := f.user("me"), f.user("them")
	r := f.room(them.ID, chat.RoomPublic, "room")
	f.send(r.ID, them.ID, "before I joined") // counts: unread is by seq, not join time
	f.join(r.ID, me.ID)
	unread := func() int {
		t.Helper()
		got, err := f.s.RoomByID(f.ctx, r.ID, me.ID)
		must(t, err)
		return got.UnreadCount
	}
	if n := unread(); n != 1 {
		t.Fatalf("unread = %d, want 1", n)
	}
	m2 := f.send(r.ID, them.ID, "two")
	f.send(r.ID, me.ID, "mine") // my own messages never count
	sys := f.newMsg(r.ID, them.ID, "them joined")
	sys.Type = chat.MessageSystem
	f.commit(r.ID, sys) // system messages never count
	m5 := f.send(r.ID, them.ID, "five")
	if n := unread(); n != 3 {
		t.Fatalf("unread = %d, want 3", n)
	}
	_, err := f.s.DeleteMessage(f.ctx, m5.ID, them.ID) // deleted messages do not count
	must(t, err)
	if n := unread(); n != 2 {
		t.Fatalf("unread after a deletion = %d, want 2", n)
	}
	moved, err := f.s.MarkRead(f.ctx, r.ID, me.ID, m2.ID, m2.Seq, f.tick())
	must(t, err)
	if !moved {
		t.Fatal("MarkRead did not move")
	}
	if n := unread(); n != 0 {
		t.Fatalf("unread after reading = %d, want 0", n)
	}
	f.send(r.ID, them.ID, "six")
	rooms, _, err := f.s.RoomsOf(f.ctx, me.ID, Page{})
	must(t, err)
	if len(rooms) != 1 || rooms[0].UnreadCount != 1 {
		t.Fatalf("RoomsOf unread = %+v", rooms)
	}
}

func testMembers(t *testing.T, f *fx) {
	o, a, b := f.user("o"), f.user("a"), f.user("b")
	r := f.room(o.ID, chat.RoomPrivate, "r")
	added, err := f.s.AddMember(f.ctx, r.ID, a.ID, chat.RoleAdmin, chat.LevelAll, f.tick())
	must(t, err)
	if !added {
		t.Fatal("added = false")
	}
	if added, err := f.s.AddMember(f.ctx, r.ID, a.ID, chat.RoleMember, chat.LevelMuted, f.tick()); err != nil || added {
		t.Fatalf("second AddMember = %v, %v", added, err)
	}
	f.join(r.ID, b.ID)
	m, err := f.s.Member(f.ctx, r.ID, a.ID)
	must(t, err)
	if m.User.ID != a.ID || m.User.Username != "a" || m.Role != chat.RoleAdmin || m.Level != chat.LevelAll ||
		m.Muted || m.LastReadMessageID != nil || m.LastReadSeq != 0 {
		t.Fatalf("Member = %+v (the second AddMember must not change it)", m)
	}
	_, err = f.s.Member(f.ctx, r.ID, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
	var got []chat.ID
	cur := ""
	for {
		ms, next, err := f.s.Members(f.ctx, r.ID, Page{Cursor: cur, Limit: 2})
		must(t, err)
		for _, m := range ms {
			got = append(got, m.User.ID)
		}
		if next == "" {
			break
		}
		cur = next
	}
	if want := []chat.ID{o.ID, a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("Members = %v, want %v (join order)", got, want)
	}
	refs, err := f.s.MemberIDs(f.ctx, r.ID)
	must(t, err)
	if len(refs) != 3 {
		t.Fatalf("MemberIDs = %v", refs)
	}
	for _, ref := range refs {
		if ref.UserID == a.ID && ref.Level != chat.LevelAll {
			t.Fatalf("MemberIDs level = %v", ref)
		}
	}
	peers, err := f.s.RoomPeers(f.ctx, a.ID)
	must(t, err)
	slices.SortFunc(peers, func(x, y chat.ID) int { return slices.Compare(x[:], y[:]) })
	wantPeers := []chat.ID{o.ID, b.ID}
	slices.SortFunc(wantPeers, func(x, y chat.ID) int { return slices.Compare(x[:], y[:]) })
	if !slices.Equal(peers, wantPeers) {
		t.Fatalf("RoomPeers = %v, want %v", peers, wantPeers)
	}
	if removed, err := f.s.RemoveMember(f.ctx, r.ID, b.ID); err != nil || !removed {
		t.Fatalf("RemoveMember = %v, %v", removed, err)
	}
	if removed, err := f.s.RemoveMember(f.ctx, r.ID, b.ID); err != nil || removed {
		t.Fatalf("second RemoveMember = %v, %v", removed, err)
	}
	_, err = f.s.AddMember(f.ctx, chat.NewID(), a.ID, chat.RoleMember, chat.LevelAll, f.tick())
	wantIs(t, err, chat.ErrNotFound)
	_, err = f.s.AddMember(f.ctx, r.ID, chat.NewID(), chat.RoleMember, chat.LevelAll, f.tick())
	wantIs(t, err, chat.ErrNotFound)
}

func testRoles(t *testing.T, f *fx) {
	o, a := f.user("o"), f.user("a")
	r := f.room(o.ID, chat.RoomPublic, "r")
	f.join(r.ID, a.ID)
	must(t, f.s.SetRole(f.ctx, r.ID, a.ID, chat.RoleAdmin))
	if m, _ := f.s.Member(f.ctx, r.ID, a.ID); m.Role != chat.RoleAdmin {
		t.Fatalf("role = %s", m.Role)
	}
	wantIs(t, f.s.SetRole(f.ctx, r.ID, chat.NewID(), chat.RoleAdmin), chat.ErrNotFound)
	must(t, f.s.TransferOwnership(f.ctx, r.ID, o.ID, a.ID))
	if m, _ := f.s.Member(f.ctx, r.ID, a.ID); m.Role != chat.RoleOwner {
		t.Fatalf("new owner's role = %s", m.Role)
	}
	if m, _ := f.s.Member(f.ctx, r.ID, o.ID); m.Role != chat.RoleAdmin {
		t.Fatalf("old owner's role = %s", m.Role)
	}
	// A transfer to a non-member changes nothing.
	wantIs(t, f.s.TransferOwnership(f.ctx, r.ID, a.ID, chat.NewID()), chat.ErrNotFound)
	if m, _ := f.s.Member(f.ctx, r.ID, a.ID); m.Role != chat.RoleOwner {
		t.Fatalf("failed transfer changed the owner's role to %s", m.Role)
	}
}

func testMute(t *testing.T, f *fx) {
	o, a := f.user("o"), f.user("a")
	r := f.room(o.ID, chat.RoomPublic, "r")
	f.join(r.ID, a.ID)
	check := func(muted bool, until *chat.Time) {
		t.Helper()
		m, err := f.s.Member(f.ctx, r.ID, a.ID)
		must(t, err)
		if m.Muted != muted || (until == nil) != (m.MutedUntil == nil) || (until != nil && *until != *m.MutedUntil) {
			t.Fatalf("muted %v until %v, want %v until %v", m.Muted, m.MutedUntil, muted, until)
		}
	}
	later := chat.Now().Add(time.Hour)
	must(t, f.s.SetMute(f.ctx, r.ID, a.ID, &later))
	check(true, &later)
	must(t, f.s.SetMute(f.ctx, r.ID, a.ID, ptr(chat.Forever)))
	check(true, nil)
	must(t, f.s.SetMute(f.ctx, r.ID, a.ID, ptr(chat.Now().Add(-time.Second))))
	check(false, nil) // expired
	must(t, f.s.SetMute(f.ctx, r.ID, a.ID, &later))
	must(t, f.s.SetMute(f.ctx, r.ID, a.ID, nil))
	check(false, nil)
	wantIs(t, f.s.SetMute(f.ctx, r.ID, chat.NewID(), &later), chat.ErrNotFound)
}

func testLevel(t *testing.T, f *fx) {
	o := f.user("o")
	r := f.room(o.ID, chat.RoomPublic, "r")
	must(t, f.s.SetLevel(f.ctx, r.ID, o.ID, chat.LevelMuted))
	got, err := f.s.RoomByID(f.ctx, r.ID, o.ID)
	must(t, err)
	if got.NotificationLevel == nil || *got.NotificationLevel != chat.LevelMuted {
		t.Fatalf("level = %v", got.NotificationLevel)
	}
	wantIs(t, f.s.SetLevel(f.ctx, r.ID, chat.NewID(), chat.LevelAll), chat.ErrNotFound)
}

func testMarkReadReceipts(t *testing.T, f *fx) {
	o, a, b := f.user("o"), f.user("a"), f.user("b")
	r := f.room(o.ID, chat.RoomPublic, "r")
	f.join(r.ID, a.ID, b.ID)
	ms := f.sendN(r.ID, o.ID, 3)
	readAt := f.tick()
	moved, err := f.s.MarkRead(f.ctx, r.ID, a.ID, ms[1].ID, ms[1].Seq, readAt)
	must(t, err)
	if !moved {
		t.Fatal("MarkRead forward: moved = false")
	}
	if moved, err := f.s.MarkRead(f.ctx, r.ID, a.ID, ms[0].ID, ms[0].Seq, f.tick()); err != nil || moved {
		t.Fatalf("MarkRead backwards = %v, %v; want false", moved, err)
	}
	if moved, err := f.s.MarkRead(f.ctx, r.ID, a.ID, ms[1].ID, ms[1].Seq, f.tick()); err != nil || moved {
		t.Fatalf("MarkRead same = %v, %v; want false", moved, err)
	}
	m, _ := f.s.Member(f.ctx, r.ID, a.ID)
	if m.LastReadMessageID == nil || *m.LastReadMessageID != ms[1].ID || m.LastReadSeq != ms[1].Seq {
		t.Fatalf("marker = %v %d", m.LastReadMessageID, m.LastReadSeq)
	}
	_, err = f.s.MarkRead(f.ctx, r.ID, chat.NewID(), ms[1].ID, ms[1].Seq, f.tick())
	wantIs(t, err, chat.ErrNotFound)
	_, err = f.s.MarkRead(f.ctx, r.ID, b.ID, ms[2].ID, ms[2].Seq, f.tick())
	must(t, err)
	// The sender never appears, even with a marker past the message.
	_, err = f.s.MarkRead(f.ctx, r.ID, o.ID, ms[2].ID, ms[2].Seq, f.tick())
	must(t, err)

	rc, err := f.s.Receipts(f.ctx, ms[0].ID)
	must(t, err)
	if len(rc) != 2 || rc[0].User.ID != a.ID || rc[0].ReadAt != readAt || rc[1].User.ID != b.ID {
		t.Fatalf("Receipts(m1) = %+v", rc)
	}
	rc, err = f.s.Receipts(f.ctx, ms[2].ID)
	must(t, err)
	if len(rc) != 1 || rc[0].User.ID != b.ID {
		t.Fatalf("Receipts(m3) = %+v", rc)
	}
	_, err = f.s.Receipts(f.ctx, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
}

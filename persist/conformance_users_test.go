package persist

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func testUserCreateRead(t *testing.T, f *fx) {
	u := chat.User{ID: chat.NewID(), Username: "Alice_1", DisplayName: "Alice Ünicode", AvatarURL: "https://x/a.png",
		StatusMessage: "hi", CreatedAt: f.tick()}
	must(t, f.s.CreateUser(f.ctx, &u, "hash"))
	got, err := f.s.UserByID(f.ctx, u.ID)
	must(t, err)
	want := u
	want.Status = chat.StatusOffline // never seen: offline whatever was chosen
	if *got != want {
		t.Fatalf("UserByID = %+v, want %+v", *got, want)
	}
	// Active now: the chosen status (default online) shows.
	must(t, f.s.TouchUser(f.ctx, u.ID, chat.Now()))
	got, err = f.s.UserByID(f.ctx, u.ID)
	must(t, err)
	if got.Status != chat.StatusOnline || got.LastSeen == nil {
		t.Fatalf("after touch: status %q last_seen %v, want online and set", got.Status, got.LastSeen)
	}
	_, err = f.s.UserByID(f.ctx, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
}

func testUserDuplicate(t *testing.T, f *fx) {
	f.user("Bob")
	for _, name := range []string{"Bob", "bob", "BOB"} {
		u := chat.User{ID: chat.NewID(), Username: name, DisplayName: "x", CreatedAt: f.tick()}
		err := f.s.CreateUser(f.ctx, &u, "h")
		wantCode(t, err, chat.CodeUsernameTaken)
		if e := chat.AsError(err); e.Field != "username" {
			t.Errorf("field = %q, want username", e.Field)
		}
	}
	f.user("bob2") // a different name is fine
}

func testUsersByNames(t *testing.T, f *fx) {
	a, b := f.user("Carol"), f.user("dave")
	us, err := f.s.UsersByUsernames(f.ctx, []string{"carol", "dave", "nobody"})
	must(t, err)
	got := []chat.ID{}
	for _, u := range us {
		got = append(got, u.ID)
	}
	slices.SortFunc(got, func(x, y chat.ID) int { return slices.Compare(x[:], y[:]) })
	want := []chat.ID{a.ID, b.ID}
	slices.SortFunc(want, func(x, y chat.ID) int { return slices.Compare(x[:], y[:]) })
	if !slices.Equal(got, want) {
		t.Fatalf("UsersByUsernames = %v, want %v", got, want)
	}
	if us, err := f.s.UsersByUsernames(f.ctx, nil); err != nil || len(us) != 0 {
		t.Fatalf("UsersByUsernames(nil) = %v, %v", us, err)
	}
	id, hash, err := f.s.Credentials(f.ctx, "CAROL")
	must(t, err)
	if id != a.ID || hash != "hash-Carol" {
		t.Fatalf("Credentials = %s %q", id, hash)
	}
	_, _, err = f.s.Credentials(f.ctx, "nobody")
	wantIs(t, err, chat.ErrNotFound)
}

func testUserSearch(t *testing.T, f *fx) {
	for _, n := range []string{"anna", "Andy", "ann_x", "annex", "bert", "a_b"} {
		f.user(n)
	}
	u := chat.User{ID: chat.NewID(), Username: "zed", DisplayName: "Élodie Anders", CreatedAt: f.tick()}
	must(t, f.s.CreateUser(f.ctx, &u, "h"))
	names := func(us []chat.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"an", []string{"Andy", "ann_x", "anna", "annex"}},
		{"ANN", []string{"ann_x", "anna", "annex"}},
		{"ann_", []string{"ann_x"}}, // _ is literal, not "any character"
		{"a_", []string{"a_b"}},
		{"%", []string{}},
		{"user b", []string{"bert"}}, // display name "User bert"
		{"élo", []string{"zed"}},     // case-insensitive beyond ASCII
		{"ÉLODIE", []string{"zed"}},
	}
	for _, c := range cases {
		us, next, err := f.s.SearchUsers(f.ctx, c.prefix, Page{Limit: 10})
		must(t, err)
		if got := names(us); !slices.Equal(got, c.want) || next != "" {
			t.Errorf("SearchUsers(%q) = %v next %q, want %v", c.prefix, got, next, c.want)
		}
	}
	// Pages of 2 walk every match once, in order.
	var all []string
	cur := ""
	for i := 0; ; i++ {
		us, next, err := f.s.SearchUsers(f.ctx, "", Page{Cursor: cur, Limit: 2})
		must(t, err)
		all = append(all, names(us)...)
		if next == "" {
			break
		}
		if i > 10 {
			t.Fatal("pagination does not end")
		}
		cur = next
	}
	if want := []string{"a_b", "Andy", "ann_x", "anna", "annex", "bert", "zed"}; !slices.Equal(all, want) {
		t.Fatalf("paged search = %v, want %v", all, want)
	}
}

func testUserUpdateTouch(t *testing.T, f *fx) {
	u := f.user("erin")
	must(t, f.s.TouchUser(f.ctx, u.ID, chat.Now()))
	got, err := f.s.UpdateUser(f.ctx, u.ID, UserPatch{Status: ptr(chat.StatusBusy), StatusMessage: ptr("deep work")})
	must(t, err)
	if got.DisplayName != u.DisplayName || got.Status != chat.StatusBusy || got.StatusMessage != "deep work" {
		t.Fatalf("UpdateUser = %+v", got)
	}
	got, err = f.s.UpdateUser(f.ctx, u.ID, UserPatch{DisplayName: ptr("Erin E"), AvatarURL: ptr("https://a/b")})
	must(t, err)
	if got.DisplayName != "Erin E" || got.AvatarURL != "https://a/b" || got.Status != chat.StatusBusy || got.StatusMessage != "deep work" {
		t.Fatalf("UpdateUser (2) = %+v", got)
	}
	_, err = f.s.UpdateUser(f.ctx, chat.NewID(), UserPatch{DisplayName: ptr("x")})
	wantIs(t, err, chat.ErrNotFound)

	// last_seen only moves forward; an old touch leaves the user offline.
	v := f.user("frank")
	old := chat.Now().Add(-time.Hour)
	must(t, f.s.TouchUser(f.ctx, v.ID, old))
	got, _ = f.s.UserByID(f.ctx, v.ID)
	if got.Status != chat.StatusOffline || got.LastSeen == nil || *got.LastSeen != old {
		t.Fatalf("after old touch: %+v", got)
	}
	recent := chat.Now()
	must(t, f.s.TouchUser(f.ctx, v.ID, recent))
	must(t, f.s.TouchUser(f.ctx, v.ID, old))
	got, _ = f.s.UserByID(f.ctx, v.ID)
	if got.LastSeen == nil || *got.LastSeen != recent || got.Status != chat.StatusOnline {
		t.Fatalf("last_seen moved back: %+v", got)
	}

	// Many at once (past one statement's batch), with the same rules: forward only,
	// unknown ids skipped.
	ids := []chat.ID{v.ID, chat.NewID()}
	for i := range touchBatch {
		ids = append(ids, f.user(fmt.Sprintf("toucher%d", i)).ID)
	}
	later := recent.Add(time.Minute)
	must(t, f.s.TouchUsers(f.ctx, ids, later))
	must(t, f.s.TouchUsers(f.ctx, ids, recent))
	must(t, f.s.TouchUsers(f.ctx, nil, later))
	for _, id := range []chat.ID{v.ID, ids[len(ids)-1]} {
		got, err := f.s.UserByID(f.ctx, id)
		must(t, err)
		if got.LastSeen == nil || *got.LastSeen != later {
			t.Fatalf("after TouchUsers: %+v, want last_seen %v", got, later)
		}
	}
}

func testTokens(t *testing.T, f *fx) {
	now := chat.Now()
	must(t, f.s.RevokeToken(f.ctx, "jti-1", now.Add(time.Hour)))
	must(t, f.s.RevokeToken(f.ctx, "jti-1", now.Add(time.Hour))) // idempotent
	must(t, f.s.RevokeToken(f.ctx, "jti-old", now.Add(-time.Minute)))
	for id, want := range map[string]bool{"jti-1": true, "jti-old": true, "jti-2": false} {
		got, err := f.s.TokenRevoked(f.ctx, id)
		must(t, err)
		if got != want {
			t.Errorf("TokenRevoked(%s) = %v, want %v", id, got, want)
		}
	}
	// The list a node keeps in memory: unexpired revocations since a mark.
	all, err := f.s.RevokedTokens(f.ctx, 0)
	must(t, err)
	if len(all) != 1 || all[0].ID != "jti-1" || all[0].RevokedAt < now || all[0].ExpiresAt != now.Add(time.Hour) {
		t.Errorf("RevokedTokens(0) = %+v, want only jti-1, revoked at or after %d", all, now)
	}
	later, err := f.s.RevokedTokens(f.ctx, all[0].RevokedAt+1)
	must(t, err)
	if len(later) != 0 {
		t.Errorf("RevokedTokens after the newest = %+v, want none", later)
	}
	must(t, f.s.PurgeExpired(f.ctx, now.Add(-chat.NotificationTTL)))
	if got, _ := f.s.TokenRevoked(f.ctx, "jti-old"); got {
		t.Error("an expired revocation survived PurgeExpired")
	}
	if got, _ := f.s.TokenRevoked(f.ctx, "jti-1"); !got {
		t.Error("a live revocation was purged")
	}
}

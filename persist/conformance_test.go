package persist

import (
	"context"
	"errors"
	"fmt"
	"html"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
)

// The conformance suite: one table of behaviours, each run against a fresh store of
// every engine, so that the two Stores cannot drift apart. Behaviours live in the
// conformance_*_test.go files by subject.
var behaviours = []struct {
	name string
	run  func(t *testing.T, f *fx)
}{
	{"users/create_and_read", testUserCreateRead},
	{"users/duplicate_username_case_insensitive", testUserDuplicate},
	{"users/by_usernames_and_credentials", testUsersByNames},
	{"users/search_prefix_and_pages", testUserSearch},
	{"users/update_and_touch", testUserUpdateTouch},
	{"tokens/revoke_and_purge", testTokens},
	{"rooms/create_and_view", testRoomCreateView},
	{"rooms/direct_idempotent", testDirectRoom},
	{"rooms/direct_concurrent", testDirectRoomConcurrent},
	{"rooms/rooms_of_order_and_pages", testRoomsOf},
	{"rooms/public_search_and_pages", testPublicRooms},
	{"rooms/update_and_delete", testRoomUpdateDelete},
	{"rooms/unread_count", testUnread},
	{"members/add_remove_list", testMembers},
	{"members/roles_and_transfer", testRoles},
	{"members/mute", testMute},
	{"members/level", testLevel},
	{"members/mark_read_and_receipts", testMarkReadReceipts},
	{"commit/basic", testCommitBasic},
	{"commit/fenced_stale_epoch", testCommitFencedEpoch},
	{"commit/fenced_stale_prev_seq", testCommitFencedSeq},
	{"commit/unique_room_seq", testCommitUniqueSeq},
	{"commit/client_msg_id", testCommitClientMsgID},
	{"commit/invalid_batches", testCommitInvalid},
	{"commit/concurrent_rooms", testCommitConcurrent},
	{"commit/takeover_while_committing", testCommitTakeover},
	{"messages/pagination", testPagination},
	{"messages/thread", testThread},
	{"messages/edit", testEdit},
	{"messages/soft_delete", testSoftDelete},
	{"messages/reactions", testReactions},
	{"attachments/create_read_delete", testAttachmentsCreateRead},
	{"attachments/bound_in_commit", testAttachmentsBoundInCommit},
	{"attachments/taken_refused", testAttachmentsTakenRefused},
	{"attachments/purge_unattached", testAttachmentsPurgeUnattached},
	{"invites/use_and_limits", testInvites},
	{"invites/concurrent_uses", testInvitesConcurrent},
	{"moderation/pins", testPins},
	{"moderation/blocks", testBlocks},
	{"moderation/reports", testReports},
	{"notifications/list_ttl_read", testNotifications},
	{"search/words", testSearchWords},
	{"search/highlight_and_context", testSearchHighlightAndContext},
	{"search/access_deletes_edits", testSearchAccess},
	{"search/filters", testSearchFilters},
	{"search/invalid", testSearchInvalid},
	{"search/odd_syntax", testSearchOddSyntax},
	{"cursors/invalid", testBadCursors},
	{"store/reopen_keeps_data", testReopen},
}

// storeMaker opens a fresh, empty store of one engine for one test; the test's
// cleanup closes it. reopen opens the same database again.
type storeMaker struct {
	name string
	open func(t *testing.T) (s Store, reopen func() Store)
}

// stores lists the engines. Both run with -short too: the embedded one is fast,
// and the Postgres one shares one throwaway cluster (it is skipped, outside CI,
// where Postgres is not installed).
func stores(t *testing.T) []storeMaker {
	t.Helper()
	return []storeMaker{
		{"embedded", func(t *testing.T) (Store, func() Store) {
			dir := t.TempDir()
			open := func() Store {
				s, err := OpenEmbedded(context.Background(), dir, nil)
				if err != nil {
					t.Fatalf("open embedded store: %v", err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
			return open(), open
		}},
		{"postgres", func(t *testing.T) (Store, func() Store) {
			url := testsvc.PostgresURL(t)
			open := func() Store {
				s, err := OpenPostgres(context.Background(), url, nil)
				if err != nil {
					t.Fatalf("open postgres store: %v", err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
			return open(), open
		}},
	}
}

func TestConformance(t *testing.T) {
	for _, sm := range stores(t) {
		t.Run(sm.name, func(t *testing.T) {
			t.Parallel()
			for _, b := range behaviours {
				t.Run(b.name, func(t *testing.T) {
					t.Parallel()
					s, reopen := sm.open(t)
					f := newFx(t, s)
					f.reopen = reopen
					b.run(t, f)
				})
			}
		})
	}
}

// fx is a behaviour's fixture: a store, a context, a clock that advances one
// millisecond per event (so times are distinct and ordered), and the owner state
// (epoch, last seq) of the rooms it sends to.
type fx struct {
	t      *testing.T
	s      Store
	ctx    context.Context
	now    chat.Time
	epoch  map[chat.ID]int64
	seq    map[chat.ID]int64
	reopen func() Store
}

func newFx(t *testing.T, s Store) *fx {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &fx{t: t, s: s, ctx: ctx, now: chat.Now(), epoch: map[chat.ID]int64{}, seq: map[chat.ID]int64{}}
}

// tick advances the clock by a millisecond and returns it.
func (f *fx) tick() chat.Time {
	f.now++
	return f.now
}

func (f *fx) user(name string) chat.User {
	f.t.Helper()
	u := chat.User{ID: chat.NewID(), Username: name, DisplayName: "User " + name, CreatedAt: f.tick()}
	must(f.t, f.s.CreateUser(f.ctx, &u, "hash-"+name))
	return u
}

func (f *fx) room(owner chat.ID, typ chat.RoomType, name string) chat.Room {
	f.t.Helper()
	r := chat.Room{ID: chat.NewID(), Name: name, Description: "about " + name, Type: typ, CreatedBy: owner, CreatedAt: f.tick()}
	must(f.t, f.s.CreateRoom(f.ctx, &r))
	return r
}

func (f *fx) join(room chat.ID, users ...chat.ID) {
	f.t.Helper()
	for _, u := range users {
		added, err := f.s.AddMember(f.ctx, room, u, chat.RoleMember, chat.LevelMentions, f.tick())
		must(f.t, err)
		if !added {
			f.t.Fatalf("AddMember(%s): added = false for a new member", u)
		}
	}
}

// newMsg forms a text message the way an owner does (seq is set by commit).
func (f *fx) newMsg(room, sender chat.ID, content string) *chat.Message {
	return &chat.Message{ID: chat.NewID(), RoomID: room, Sender: chat.User{ID: sender}, Type: chat.MessageText,
		Content: content, ContentHTML: "<p>" + html.EscapeString(content) + "</p>", CreatedAt: f.tick()}
}

// send commits one new text message and returns it.
func (f *fx) send(room, sender chat.ID, content string) *chat.Message {
	f.t.Helper()
	m := f.newMsg(room, sender, content)
	f.commit(room, m)
	return m
}

// sendN commits n messages "m1".."mn" and returns them.
func (f *fx) sendN(room, sender chat.ID, n int) []*chat.Message {
	f.t.Helper()
	ms := make([]*chat.Message, n)
	for i := range ms {
		ms[i] = f.newMsg(room, sender, fmt.Sprintf("m%d", i+1))
	}
	f.commit(room, ms...)
	return ms
}

// acquire makes the fixture the room's owner if it is not yet.
func (f *fx) acquire(room chat.ID) {
	f.t.Helper()
	if _, ok := f.epoch[room]; ok {
		return
	}
	e, last, err := f.s.AcquireRoom(f.ctx, room, "node-test")
	must(f.t, err)
	f.epoch[room], f.seq[room] = e, last
}

// commit assigns seqs and commits ms to room as its owner; it must succeed.
func (f *fx) commit(room chat.ID, ms ...*chat.Message) {
	f.t.Helper()
	f.acquire(room)
	for i, m := range ms {
		m.Seq = f.seq[room] + int64(i) + 1
	}
	res, err := f.s.CommitBatch(f.ctx, []RoomBatch{{RoomID: room, Epoch: f.epoch[room], PrevSeq: f.seq[room], Messages: ms}})
	must(f.t, err)
	if len(res) != 1 || res[0] != nil {
		f.t.Fatalf("CommitBatch results = %v, want [nil]", res)
	}
	f.seq[room] += int64(len(ms))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode fails unless err carries a *chat.Error with code.
func wantCode(t testing.TB, err error, code chat.Code) {
	t.Helper()
	if e := chat.AsError(err); e == nil || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// ids returns the IDs of messages, for compact comparisons.
func msgIDs(ms []chat.Message) []chat.ID {
	out := make([]chat.ID, len(ms))
	for i := range ms {
		out[i] = ms[i].ID
	}
	return out
}

func seqsOf(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i := range ms {
		out[i] = ms[i].Seq
	}
	return out
}

func ptr[T any](v T) *T { return &v }

package persist

import (
	"context"

	"github.com/chatd/chatd/chat"
)

// Store is the system of record. Methods return errors wrapping chat.ErrNotFound or
// chat.ErrConflict (or a more specific *chat.Error) for the client's mistakes, and
// plain wrapped errors for faults. Every method is safe for concurrent use.
//
// Methods that return users compute each user's effective status from the stored
// chosen status and last_seen (chat.EffectiveStatus, not connected); the API may
// refine it with live presence.
type Store interface {
	UserStore
	RoomStore
	MemberStore
	MessageStore
	InviteStore
	ModerationStore
	NotificationStore
	SearchStore
	TokenStore
	AttachmentStore

	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
	// Close releases connections; the store is unusable afterwards.
	Close() error
}

// Page asks for one page of a cursor-paginated list. Cursor is the opaque
// next_cursor of the previous page ("" for the first); Limit is 1..100.
type Page struct {
	Cursor string
	Limit  int
}

// UserStore keeps accounts and profiles.
type UserStore interface {
	// CreateUser inserts u (ID, Username, DisplayName, CreatedAt set by the caller) with
	// its password hash. A username taken case-insensitively is chat.CodeUsernameTaken.
	CreateUser(ctx context.Context, u *chat.User, passwordHash string) error
	// UserByID returns a user or chat.ErrNotFound.
	UserByID(ctx context.Context, id chat.ID) (*chat.User, error)
	// UsersByUsernames returns the users with these (lower-cased) usernames; unknown
	// names are skipped.
	UsersByUsernames(ctx context.Context, lowerNames []string) ([]chat.User, error)
	// Credentials returns the ID and password hash of a username (case-insensitive),
	// or chat.ErrNotFound.
	Credentials(ctx context.Context, username string) (chat.ID, string, error)
	// SearchUsers lists users whose username or display name starts with prefix
	// (case-insensitive), ordered by username.
	SearchUsers(ctx context.Context, prefix string, p Page) ([]chat.User, string, error)
	// UpdateUser applies the non-nil fields of patch and returns the updated user.
	UpdateUser(ctx context.Context, id chat.ID, patch UserPatch) (*chat.User, error)
	// TouchUser records activity: last_seen = at (only ever moves forward).
	TouchUser(ctx context.Context, id chat.ID, at chat.Time) error
	// TouchUsers is TouchUser for many users at once (a node's presence heartbeat
	// for everyone connected to it): a statement per few hundred users, not one each.
	TouchUsers(ctx context.Context, ids []chat.ID, at chat.Time) error
}

// UserPatch holds the profile fields to change; nil means unchanged.
type UserPatch struct {
	DisplayName   *string
	AvatarURL     *string
	Status        *chat.Status
	StatusMessage *string
}

// TokenStore remembers revoked tokens until they would have expired anyway.
type TokenStore interface {
	// RevokeToken records the token ID as revoked until expiresAt.
	RevokeToken(ctx context.Context, tokenID string, expiresAt chat.Time) error
	// TokenRevoked reports whether the token ID was revoked.
	TokenRevoked(ctx context.Context, tokenID string) (bool, error)
	// RevokedTokens returns the revocations recorded at or after since that have
	// not expired, so a node can keep the list in memory and read only what is new.
	RevokedTokens(ctx context.Context, since chat.Time) ([]RevokedToken, error)
}

// RevokedToken is one revocation: the token ID, when the token would have expired
// anyway, and when it was revoked (by the clock of the node that recorded it).
type RevokedToken struct {
	ID        string
	ExpiresAt chat.Time
	RevokedAt chat.Time
}

// RoomStore keeps rooms. Rooms are returned as seen by a viewer (my_role,
// unread_count, notification_level); a zero viewer sees them as an outsider.
type RoomStore interface {
	// CreateRoom inserts room (all fields set by the caller; MemberCount ignored) with
	// its creator as owner, in one transaction.
	CreateRoom(ctx context.Context, room *chat.Room) error
	// CreateDirectRoom returns the direct room of users a and b, creating it (with
	// room's ID and time, both as members) if there is none. created says which.
	CreateDirectRoom(ctx context.Context, room *chat.Room, a, b chat.ID) (r *chat.Room, created bool, err error)
	// RoomByID returns a room as viewer sees it, or chat.ErrNotFound. It does not
	// check visibility: callers apply the private-room rule.
	RoomByID(ctx context.Context, id, viewer chat.ID) (*chat.Room, error)
	// RoomsOf lists viewer's rooms, newest activity (last_message_at, else
	// created_at) first.
	RoomsOf(ctx context.Context, viewer chat.ID, p Page) ([]chat.Room, string, error)
	// PublicRooms lists public rooms whose name contains q (case-insensitive; all
	// when q is empty), most members first.
	PublicRooms(ctx context.Context, q string, viewer chat.ID, p Page) ([]chat.Room, string, error)
	// UpdateRoom changes the non-nil fields and returns the room as viewer sees it.
	UpdateRoom(ctx context.Context, id chat.ID, name, description *string, viewer chat.ID) (*chat.Room, error)
	// DeleteRoom removes the room and everything in it.
	DeleteRoom(ctx context.Context, id chat.ID) error
}

// MemberStore keeps memberships, roles, reads, mutes and notification levels.
type MemberStore interface {
	// Member returns user's membership of room, or chat.ErrNotFound.
	Member(ctx context.Context, room, user chat.ID) (*chat.Member, error)
	// Members lists a room's members ordered by join time.
	Members(ctx context.Context, room chat.ID, p Page) ([]chat.Member, string, error)
	// MemberIDs returns every member's user ID with their notification level.
	MemberIDs(ctx context.Context, room chat.ID) ([]MemberRef, error)
	// AddMember adds user with role and level; added is false (and nothing changes)
	// when the user is already a member.
	AddMember(ctx context.Context, room, user chat.ID, role chat.Role, level chat.NotificationLevel, at chat.Time) (added bool, err error)
	// RemoveMember removes user; removed is false when they were not a member.
	RemoveMember(ctx context.Context, room, user chat.ID) (removed bool, err error)
	// SetRole changes a member's role (chat.ErrNotFound if not a member).
	SetRole(ctx context.Context, room, user chat.ID, role chat.Role) error
	// TransferOwnership makes to the owner and from an admin, in one transaction.
	TransferOwnership(ctx context.Context, room, from, to chat.ID) error
	// SetMute sets the moderation mute: until nil unmutes; chat.Forever mutes for good.
	SetMute(ctx context.Context, room, user chat.ID, until *chat.Time) error
	// SetLevel sets user's notification level in room.
	SetLevel(ctx context.Context, room, user chat.ID, level chat.NotificationLevel) error
	// MarkRead moves user's read marker in room forward to (messageID, seq); a marker
	// already at or past seq is left alone. moved says whether it changed.
	MarkRead(ctx context.Context, room, user, messageID chat.ID, seq int64, at chat.Time) (moved bool, err error)
	// RoomPeers returns the IDs of users who share at least one room with user.
	RoomPeers(ctx context.Context, user chat.ID) ([]chat.ID, error)
}

// MemberRef is a member's ID with what the notification path needs.
type MemberRef struct {
	UserID chat.ID
	Level  chat.NotificationLevel
}

// MessageStore keeps messages, reactions and receipts. Messages are returned as
// viewer sees them (reactions' "me").
type MessageStore interface {
	// AcquireRoom makes owner the room's owner by taking a new ownership epoch (a
	// conditional increment) and returns it with the room's highest committed seq.
	// chat.ErrNotFound if the room does not exist.
	AcquireRoom(ctx context.Context, room chat.ID, owner string) (epoch, lastSeq int64, err error)
	// CommitBatch writes many rooms' messages in one transaction and one (or few)
	// round trips. Each RoomBatch is fenced: it commits only if the room's epoch is
	// still Epoch and its last seq is still PrevSeq; otherwise that room's result is
	// chat.ErrFenced and none of its messages are written, while other rooms commit.
	// results[i] belongs to batches[i]. err is a fault that failed the whole batch
	// (nothing written).
	CommitBatch(ctx context.Context, batches []RoomBatch) (results []error, err error)
	// RecentMessages returns the room's last n messages, oldest first (owner warm-up).
	RecentMessages(ctx context.Context, room chat.ID, n int) ([]chat.Message, error)
	// MessageByID returns a message as viewer sees it, or chat.ErrNotFound.
	MessageByID(ctx context.Context, id, viewer chat.ID) (*chat.Message, error)
	// MessageByClientID returns the sender's message with this client_msg_id, or
	// chat.ErrNotFound.
	MessageByClientID(ctx context.Context, sender chat.ID, clientMsgID string) (*chat.Message, error)
	// Messages returns one page of a room's timeline, oldest first (see MessageQuery).
	Messages(ctx context.Context, room, viewer chat.ID, q MessageQuery) (items []chat.Message, hasMore bool, err error)
	// MessagesAfterSeq returns up to limit messages with seq > after, in seq order
	// (resume and gap repair).
	MessagesAfterSeq(ctx context.Context, room chat.ID, after int64, limit int) ([]chat.Message, error)
	// Thread returns the replies to parent, oldest first.
	Thread(ctx context.Context, parent, viewer chat.ID, p Page) ([]chat.Message, string, error)
	// EditMessage replaces content and content_html and sets edited_at.
	EditMessage(ctx context.Context, id chat.ID, content, html string, at chat.Time, viewer chat.ID) (*chat.Message, error)
	// DeleteMessage soft-deletes: content becomes chat.DeletedContent, content_html
	// empty, attachments (their records) and reactions dropped, pins removed; the row
	// (and seq) stay. The attachments' blobs are the caller's to delete.
	DeleteMessage(ctx context.Context, id chat.ID, viewer chat.ID) (*chat.Message, error)
	// AddReaction records user's emoji on a message; chat.CodeReactionExists if done.
	AddReaction(ctx context.Context, message, user chat.ID, emoji string, at chat.Time) error
	// RemoveReaction removes it; chat.ErrNotFound if there was none.
	RemoveReaction(ctx context.Context, message, user chat.ID, emoji string) error
	// Receipts lists the members (sender excluded) whose read marker is at or past the
	// message, with the time they moved it.
	Receipts(ctx context.Context, message chat.ID) ([]chat.Receipt, error)
}

// RoomBatch is one room's share of a group commit: messages with consecutive seqs
// PrevSeq+1, PrevSeq+2, ..., each fully formed by the owner (ID, sender ID, type,
// content, content_html, parent, client_msg_id, created_at).
type RoomBatch struct {
	RoomID   chat.ID
	Epoch    int64
	PrevSeq  int64
	Messages []*chat.Message
}

// MessageQuery selects a page of a timeline. Before and After are message IDs
// (exclusive cursors; at most one); neither means the newest Limit messages.
// HasMore says whether more lie beyond the page in the direction of travel.
type MessageQuery struct {
	Before *chat.ID
	After  *chat.ID
	Limit  int
}

// SearchStore finds messages by their words (search_text.go says how content
// becomes terms, search_query.go how queries are read).
type SearchStore interface {
	// Search returns the messages viewer may read (of rooms viewer is a member of;
	// never deleted or system messages) that match q, best match first: the newest
	// matches (a few hundred) ranked, then newest first; newest first when q.Text
	// has no words. It returns validation errors (chat.CodeValidation) for a query
	// it cannot run: text too long, too many words, an alternative that only
	// excludes, no words and no filter.
	Search(ctx context.Context, viewer chat.ID, q SearchQuery) ([]chat.SearchHit, error)
}

// SearchQuery is a search: Text in websearch syntax and filters, all optional
// (but Text or a filter must be given). From is inclusive, To exclusive.
type SearchQuery struct {
	Text   string
	Room   *chat.ID
	Sender *chat.ID
	From   *chat.Time
	To     *chat.Time
	Has    SearchHas
	// Limit is 1..chat.PageMax; 0 means SearchDefaultLimit.
	Limit int
}

// SearchHas filters search results by what messages carry ("" for no filter).
type SearchHas string

// The has= filters: messages with attachments, messages with a link in their text.
const (
	SearchHasAttachments SearchHas = "attachments"
	SearchHasLinks       SearchHas = "links"
)

// SearchDefaultLimit is the number of results when none is asked for: each result
// carries two more messages of context.
const SearchDefaultLimit = 20

// filtered reports whether q has any filter.
func (q *SearchQuery) filtered() bool {
	return q.Room != nil || q.Sender != nil || q.From != nil || q.To != nil || q.Has != ""
}

// InviteStore keeps invite codes.
type InviteStore interface {
	CreateInvite(ctx context.Context, inv *chat.Invite) error
	// InviteByCode returns an invite or chat.ErrNotFound.
	InviteByCode(ctx context.Context, code string) (*chat.Invite, error)
	// UseInvite atomically checks the invite is valid at now, adds user to its room as
	// a member (no use counted when already a member) and counts a use.
	// chat.CodeInviteInvalid when expired, revoked or used up. added as AddMember.
	UseInvite(ctx context.Context, code string, user chat.ID, level chat.NotificationLevel, now chat.Time) (inv *chat.Invite, added bool, err error)
	// RevokeInvite marks it revoked.
	RevokeInvite(ctx context.Context, code string) error
}

// ModerationStore keeps pins, blocks and reports.
type ModerationStore interface {
	// Pin pins a message (idempotent); Unpin removes it (chat.ErrNotFound if absent).
	Pin(ctx context.Context, room, message, by chat.ID, at chat.Time) error
	Unpin(ctx context.Context, room, message chat.ID) error
	// Pins lists a room's pins, newest first.
	Pins(ctx context.Context, room, viewer chat.ID) ([]chat.Pin, error)

	// Block records that blocker blocks blocked; added false when already so.
	Block(ctx context.Context, blocker, blocked chat.ID, at chat.Time) (added bool, err error)
	// Unblock removes it; chat.ErrNotFound when there was none.
	Unblock(ctx context.Context, blocker, blocked chat.ID) error
	// Blocks lists the users blocker blocks.
	Blocks(ctx context.Context, blocker chat.ID, p Page) ([]chat.User, string, error)
	// Blocked reports whether blocker blocks blocked.
	Blocked(ctx context.Context, blocker, blocked chat.ID) (bool, error)

	// CreateReport files a report (status open).
	CreateReport(ctx context.Context, r *chat.Report) error
	// ReportByID returns a report or chat.ErrNotFound.
	ReportByID(ctx context.Context, id chat.ID) (*chat.Report, error)
	// Reports lists a room's reports with status (any when ""), newest first.
	Reports(ctx context.Context, room chat.ID, status chat.ReportStatus, p Page) ([]chat.Report, string, error)
	// SetReportStatus changes a report's status.
	SetReportStatus(ctx context.Context, id chat.ID, status chat.ReportStatus) error
}

// NotificationStore keeps notifications for chat.NotificationTTL.
type NotificationStore interface {
	// CreateNotifications inserts notifications (IDs and times set by the caller).
	CreateNotifications(ctx context.Context, ns []chat.Notification) error
	// Notifications lists user's notifications newer than chat.NotificationTTL,
	// newest first; unreadOnly filters.
	Notifications(ctx context.Context, user chat.ID, unreadOnly bool, p Page) ([]chat.Notification, string, error)
	// MarkNotificationRead marks one read; chat.ErrNotFound if not user's.
	MarkNotificationRead(ctx context.Context, user, id chat.ID) error
	// MarkAllNotificationsRead marks all of user's notifications read.
	MarkAllNotificationsRead(ctx context.Context, user chat.ID) error
	// UnreadNotificationCount counts user's unread, unexpired notifications.
	UnreadNotificationCount(ctx context.Context, user chat.ID) (int, error)
	// PurgeExpired deletes notifications created before cutoff and revoked tokens
	// past their expiry.
	PurgeExpired(ctx context.Context, cutoff chat.Time) error
}

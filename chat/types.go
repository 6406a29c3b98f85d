package chat

import "github.com/google/uuid"

// ID identifies users, rooms, messages, attachments, notifications and reports.
// Rooms, messages, attachments and notifications get version 7 (time-ordered) IDs.
type ID = uuid.UUID

// NilID is the zero ID, never assigned to anything.
var NilID = uuid.Nil

// NewID returns a fresh time-ordered (v7) ID. It panics only if the system's random
// source fails, which leaves nothing sensible to do.
func NewID() ID { return uuid.Must(uuid.NewV7()) }

// ParseID parses the canonical text form of an ID.
func ParseID(s string) (ID, error) {
	if len(s) != 36 {
		return NilID, Errorf(CodeValidation, "invalid id %q", truncate(s, 40))
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return NilID, Errorf(CodeValidation, "invalid id %q", truncate(s, 40))
	}
	return id, nil
}

// Status is a user's presence as others see it.
type Status string

// The presence states of the contract.
const (
	StatusOnline  Status = "online"
	StatusAway    Status = "away"
	StatusBusy    Status = "busy"
	StatusOffline Status = "offline"
)

// RoomType says who may see and join a room.
type RoomType string

// The room types of the contract.
const (
	RoomPublic  RoomType = "public"
	RoomPrivate RoomType = "private"
	RoomDirect  RoomType = "direct"
)

// Role is a member's rank in a room; owner > admin > member.
type Role string

// The roles of the contract.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// MessageType classifies a message by what it carries.
type MessageType string

// The message types of the contract.
const (
	MessageText   MessageType = "text"
	MessageImage  MessageType = "image"
	MessageFile   MessageType = "file"
	MessageSystem MessageType = "system"
)

// NotificationType says why a user was notified.
type NotificationType string

// The notification types of the contract.
const (
	NotifyMention       NotificationType = "mention"
	NotifyReply         NotificationType = "reply"
	NotifyRoomInvite    NotificationType = "room_invite"
	NotifyDirectMessage NotificationType = "direct_message"
)

// NotificationLevel is a member's own choice of what a room may notify them about.
type NotificationLevel string

// The notification levels of the contract.
const (
	LevelAll      NotificationLevel = "all"
	LevelMentions NotificationLevel = "mentions"
	LevelMuted    NotificationLevel = "muted"
)

// ReportStatus is where a report stands in the admins' review queue.
type ReportStatus string

// The report states of the contract.
const (
	ReportOpen      ReportStatus = "open"
	ReportResolved  ReportStatus = "resolved"
	ReportDismissed ReportStatus = "dismissed"
)

// User is a person's public profile. Status is the effective presence: the chosen
// status while the user is active, offline otherwise.
type User struct {
	ID            ID     `json:"id"`
	Username      string `json:"username"`
	DisplayName   string `json:"display_name"`
	AvatarURL     string `json:"avatar_url"`
	Status        Status `json:"status"`
	StatusMessage string `json:"status_message"`
	CreatedAt     Time   `json:"created_at"`
	LastSeen      *Time  `json:"last_seen"`
}

// Room is a conversation. MyRole, UnreadCount and NotificationLevel are as seen by
// the user who asked; MyRole and NotificationLevel are null for non-members.
type Room struct {
	ID                ID                 `json:"id"`
	Name              string             `json:"name"`
	Description       string             `json:"description"`
	Type              RoomType           `json:"type"`
	CreatedBy         ID                 `json:"created_by"`
	CreatedAt         Time               `json:"created_at"`
	LastMessageAt     *Time              `json:"last_message_at"`
	MemberCount       int                `json:"member_count"`
	UnreadCount       int                `json:"unread_count"`
	MyRole            *Role              `json:"my_role"`
	NotificationLevel *NotificationLevel `json:"notification_level"`
}

// Member is a user's membership of a room. Muted is the moderation mute.
type Member struct {
	User              User  `json:"user"`
	Role              Role  `json:"role"`
	JoinedAt          Time  `json:"joined_at"`
	LastReadMessageID *ID   `json:"last_read_message_id"`
	Muted             bool  `json:"muted"`
	MutedUntil        *Time `json:"muted_until,omitempty"`
	// LastReadSeq is the seq of LastReadMessageID (0 when none); internal.
	LastReadSeq int64 `json:"-"`
	// Level is the member's notification level; internal (the room carries it).
	Level NotificationLevel `json:"-"`
}

// ReactionGroup counts one emoji on one message; Me says whether the viewer is among them.
type ReactionGroup struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	Me    bool   `json:"me"`
}

// Attachment is an uploaded file. URL and ThumbnailURL are the download paths
// (AttachmentURLs); ThumbnailURL is set for images only.
type Attachment struct {
	ID           ID     `json:"id"`
	Filename     string `json:"filename"`
	Size         int64  `json:"size"`
	MimeType     string `json:"mime_type"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	CreatedAt    Time   `json:"created_at"`
	ScanStatus   string `json:"scan_status"`
}

// The scan states of an attachment: nothing else is ever published.
const (
	// ScanClean: the malware scanner saw the whole file and found nothing.
	ScanClean = "clean"
	// ScanUnscanned: no scanner is configured (the embedded default).
	ScanUnscanned = "unscanned"
)

// Message is one entry of a room's timeline. Seq is the room's gap-free, strictly
// increasing sequence number, assigned by the room's owner node.
type Message struct {
	ID          ID              `json:"id"`
	RoomID      ID              `json:"room_id"`
	Seq         int64           `json:"seq"`
	Sender      User            `json:"sender"`
	Type        MessageType     `json:"type"`
	Content     string          `json:"content"`
	ContentHTML string          `json:"content_html"`
	ParentID    *ID             `json:"parent_id"`
	Attachments []Attachment    `json:"attachments"`
	Reactions   []ReactionGroup `json:"reactions"`
	CreatedAt   Time            `json:"created_at"`
	EditedAt    *Time           `json:"edited_at"`
	Deleted     bool            `json:"deleted"`
	ClientMsgID *string         `json:"client_msg_id"`
}

// DeletedContent is what a soft-deleted message's content becomes.
const DeletedContent = "[deleted]"

// Invite is a code that lets its holder join a room.
type Invite struct {
	Code      string `json:"code"`
	RoomID    ID     `json:"room_id"`
	CreatedBy ID     `json:"created_by"`
	CreatedAt Time   `json:"created_at"`
	ExpiresAt Time   `json:"expires_at"`
	MaxUses   *int   `json:"max_uses"`
	Uses      int    `json:"uses"`
	Revoked   bool   `json:"revoked"`
}

// Valid reports whether the invite can still be accepted at now.
func (i *Invite) Valid(now Time) bool {
	return !i.Revoked && now < i.ExpiresAt && (i.MaxUses == nil || i.Uses < *i.MaxUses)
}

// Notification tells a user about something that concerns them.
type Notification struct {
	ID        ID               `json:"id"`
	UserID    ID               `json:"-"`
	Type      NotificationType `json:"type"`
	RoomID    ID               `json:"room_id"`
	MessageID *ID              `json:"message_id"`
	Actor     User             `json:"actor"`
	Content   string           `json:"content"`
	CreatedAt Time             `json:"created_at"`
	Read      bool             `json:"read"`
}

// Report is a member's complaint about a message, for the room's admins to review.
// Message is null once the message is deleted.
type Report struct {
	ID        ID           `json:"id"`
	RoomID    ID           `json:"room_id"`
	Message   *Message     `json:"message"`
	Reporter  User         `json:"reporter"`
	Reason    string       `json:"reason"`
	Status    ReportStatus `json:"status"`
	CreatedAt Time         `json:"created_at"`
	// MessageID is kept after the message's deletion; internal.
	MessageID ID `json:"-"`
}

// Pin is a message pinned to its room.
type Pin struct {
	Message  Message `json:"message"`
	PinnedBy User    `json:"pinned_by"`
	PinnedAt Time    `json:"pinned_at"`
}

// Receipt says when a user read up to (at least) a message.
type Receipt struct {
	User   User `json:"user"`
	ReadAt Time `json:"read_at"`
}

// AttachmentURLs returns the paths an attachment is downloaded from: the file, and
// its thumbnail when it has one ("" otherwise). Every layer that shows attachments
// uses these, so the links always match the routes.
func AttachmentURLs(id ID, hasThumb bool) (url, thumbnailURL string) {
	url = "/attachments/" + id.String()
	if hasThumb {
		thumbnailURL = url + "/thumbnail"
	}
	return url, thumbnailURL
}

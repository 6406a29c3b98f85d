package chat

import "time"

// Rank orders roles: owner 3, admin 2, member 1, anything else 0.
func (r Role) Rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// AtLeast reports whether r is min or above.
func (r Role) AtLeast(min Role) bool { return r.Rank() >= min.Rank() && r.Rank() > 0 }

// ValidateRole accepts the roles that can be assigned.
func ValidateRole(r Role) error {
	if r.Rank() == 0 {
		return FieldError("role", "role must be owner, admin or member")
	}
	return nil
}

// ValidateRoomType accepts the room types that can be created.
func ValidateRoomType(t RoomType) error {
	switch t {
	case RoomPublic, RoomPrivate, RoomDirect:
		return nil
	}
	return FieldError("type", "type must be public, private or direct")
}

// CanEdit says whether actor may edit m at now: the sender alone, within EditWindow,
// and never a deleted or system message.
func CanEdit(m *Message, actor ID, now Time) error {
	if m.Sender.ID != actor || m.Type == MessageSystem {
		return Errorf(CodeForbidden, "only the sender may edit a message")
	}
	if m.Deleted {
		return Errorf(CodeConflict, "message is deleted")
	}
	if now.Std().Sub(m.CreatedAt.Std()) > EditWindow {
		return Errorf(CodeEditWindowClosed, "messages can be edited for %d minutes", int(EditWindow/time.Minute))
	}
	return nil
}

// CanDelete says whether actor (with role in the message's room) may delete m: the
// sender, or the room's admins and owner.
func CanDelete(m *Message, actor ID, role Role) error {
	if m.Type == MessageSystem && !role.AtLeast(RoleAdmin) {
		return Errorf(CodeForbidden, "only admins may delete system messages")
	}
	if m.Sender.ID != actor && !role.AtLeast(RoleAdmin) {
		return Errorf(CodeForbidden, "only the sender or an admin may delete a message")
	}
	return nil
}

// MessageTypeFor derives a message's type from its attachments' MIME types: image when
// all are images, file when any is not, text without attachments.
func MessageTypeFor(mimeTypes []string) MessageType {
	if len(mimeTypes) == 0 {
		return MessageText
	}
	for _, mt := range mimeTypes {
		if len(mt) < 6 || mt[:6] != "image/" {
			return MessageFile
		}
	}
	return MessageImage
}

// DefaultLevel is a new member's notification level: all for DMs, mentions elsewhere.
func DefaultLevel(t RoomType) NotificationLevel {
	if t == RoomDirect {
		return LevelAll
	}
	return LevelMentions
}

// Records says whether a member at level l gets a notification of type t recorded.
func (l NotificationLevel) Records(t NotificationType) bool {
	switch l {
	case LevelMuted:
		return t == NotifyRoomInvite
	case LevelMentions:
		return t != NotifyDirectMessage
	}
	return true
}

// EffectiveStatus is what others see: the chosen status while the user was active
// within PresenceTTL (or holds a connection), offline otherwise.
func EffectiveStatus(chosen Status, lastSeen *Time, connected bool, now Time) Status {
	if chosen == "" {
		chosen = StatusOnline
	}
	if connected || (lastSeen != nil && now.Std().Sub(lastSeen.Std()) < PresenceTTL) {
		return chosen
	}
	return StatusOffline
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// MaxTime is the latest instant RFC 3339 can write (9999-12-31T23:59:59.999Z). Expiries
// computed from client-chosen durations stop there, so every timestamp on the wire
// stays valid RFC 3339.
const MaxTime Time = 253402300799999

// Forever is the mute expiry of a mute without duration. Stores keep it as is and
// report such a member as muted with no muted_until.
const Forever Time = 1<<63 - 1

package chat

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the contract. Lengths count Unicode code points.
const (
	UsernameMin      = 3
	UsernameMax      = 20
	PasswordMin      = 8
	PasswordMax      = 128
	DisplayNameMax   = 50
	StatusMessageMax = 100
	RoomNameMax      = 100
	DescriptionMax   = 500
	ContentMax       = 10000
	ReasonMax        = 1000
	AvatarURLMax     = 2048
	ClientMsgIDMax   = 100
	PageMax          = 100
	PageDefault      = 50
	// MaxBody is the largest JSON request body accepted (uploads aside).
	MaxBody = 64 << 10
	// MaxUpload is the largest uploaded file: 10 MiB.
	MaxUpload = 10 << 20
	// MaxAttachments is how many attachments one message may carry.
	MaxAttachments = 10
	// UploadTTL is how long an upload waits for a message to carry it before it is
	// deleted.
	UploadTTL = 24 * time.Hour

	// EditWindow is how long after sending a message its sender may edit it.
	EditWindow = 15 * time.Minute
	// TokenTTL is how long an access token lives.
	TokenTTL = 24 * time.Hour
	// InviteTTL is an invite's lifetime when none is asked for.
	InviteTTL = 7 * 24 * time.Hour
	// NotificationTTL is how long notifications are kept.
	NotificationTTL = 30 * 24 * time.Hour
	// PresenceTTL is how long after the last sign of life a user counts as present.
	PresenceTTL = 5 * time.Minute
	// SendLimit messages per SendWindow per user, cluster-wide, REST and WebSocket.
	SendLimit  = 10
	SendWindow = 10 * time.Second
)

// isBlank reports whether s is empty after trimming white space.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// ValidateUsername checks 3-20 characters of [A-Za-z0-9_].
func ValidateUsername(s string) error {
	if n := len(s); n < UsernameMin || n > UsernameMax {
		return FieldError("username", "username must be %d-%d characters", UsernameMin, UsernameMax)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return FieldError("username", "username may contain only letters, digits and underscores")
		}
	}
	return nil
}

// ValidatePassword checks 8-128 characters.
func ValidatePassword(s string) error {
	if !utf8.ValidString(s) {
		return FieldError("password", "password must be valid UTF-8")
	}
	if n := runeLen(s); n < PasswordMin || n > PasswordMax {
		return FieldError("password", "password must be %d-%d characters", PasswordMin, PasswordMax)
	}
	return nil
}

// ValidateDisplayName checks 1-50 characters, not blank, no control characters.
func ValidateDisplayName(s string) error {
	return checkText("display_name", s, 1, DisplayNameMax)
}

// ValidateStatusMessage checks at most 100 characters.
func ValidateStatusMessage(s string) error {
	return checkText("status_message", s, 0, StatusMessageMax)
}

// ValidateRoomName checks 1-100 characters, not blank.
func ValidateRoomName(s string) error { return checkText("name", s, 1, RoomNameMax) }

// ValidateDescription checks at most 500 characters.
func ValidateDescription(s string) error { return checkText("description", s, 0, DescriptionMax) }

// ValidateContent checks a message body: 1-10,000 characters, not blank.
func ValidateContent(s string) error { return checkText("content", s, 1, ContentMax) }

// ValidateReason checks a report's reason: 1-1,000 characters, not blank.
func ValidateReason(s string) error { return checkText("reason", s, 1, ReasonMax) }

// ValidateClientMsgID checks an idempotency key: 1-100 printable characters.
func ValidateClientMsgID(s string) error {
	return checkText("client_msg_id", s, 1, ClientMsgIDMax)
}

// ValidateAvatarURL accepts an empty string or an http(s) URL of bounded length.
func ValidateAvatarURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > AvatarURLMax || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		return FieldError("avatar_url", "avatar_url must be an http(s) URL of at most %d bytes", AvatarURLMax)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '"' || r == '<' || r == '>' {
			return FieldError("avatar_url", "avatar_url contains characters that are not allowed")
		}
	}
	return nil
}

// checkText validates a text field's length in code points; min > 0 also refuses
// blank text. Text must be valid UTF-8 without NUL, which no store accepts.
func checkText(field, s string, min, max int) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return FieldError(field, "%s must be valid UTF-8 text", field)
	}
	n := runeLen(s)
	if min > 0 && (n < min || isBlank(s)) {
		if min == 1 {
			return FieldError(field, "%s must be 1-%d characters", field, max)
		}
		return FieldError(field, "%s must be %d-%d characters", field, min, max)
	}
	if n > max {
		if min > 0 {
			return FieldError(field, "%s must be %d-%d characters", field, min, max)
		}
		return FieldError(field, "%s must be at most %d characters", field, max)
	}
	if field != "content" && field != "description" && field != "reason" {
		for _, r := range s {
			if unicode.IsControl(r) {
				return FieldError(field, "%s must not contain control characters", field)
			}
		}
	}
	return nil
}

// ValidateStatus accepts a status a user may choose.
func ValidateStatus(s Status) error {
	switch s {
	case StatusOnline, StatusAway, StatusBusy, StatusOffline:
		return nil
	}
	return FieldError("status", "status must be online, away, busy or offline")
}

// ValidateLevel accepts a notification level.
func ValidateLevel(l NotificationLevel) error {
	switch l {
	case LevelAll, LevelMentions, LevelMuted:
		return nil
	}
	return FieldError("level", "level must be all, mentions or muted")
}

// ValidateInviteCode checks 8-12 alphanumerics.
func ValidateInviteCode(s string) error {
	if n := len(s); n < 8 || n > 12 {
		return Errorf(CodeNotFound, "invite not found")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return Errorf(CodeNotFound, "invite not found")
		}
	}
	return nil
}

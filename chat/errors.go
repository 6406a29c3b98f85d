package chat

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code of the protocol. REST answers carry it
// in the error envelope, WebSocket `error` frames carry it too, and docs list Codes.
type Code string

// The protocol's error codes. Add a code here, with its status and meaning in Codes,
// never inline in a handler.
const (
	CodeBadRequest        Code = "bad_request"
	CodeValidation        Code = "validation_failed"
	CodeUnauthorized      Code = "unauthorized"
	CodeForbidden         Code = "forbidden"
	CodeNotMember         Code = "not_member"
	CodeBlocked           Code = "blocked"
	CodeMuted             Code = "muted"
	CodeEditWindowClosed  Code = "edit_window_closed"
	CodeNotFound          Code = "not_found"
	CodeConflict          Code = "conflict"
	CodeUsernameTaken     Code = "username_taken"
	CodeReactionExists    Code = "reaction_exists"
	CodeDirectRoomClosed  Code = "direct_room_closed"
	CodeOwnerMustTransfer Code = "owner_must_transfer"
	CodeInviteInvalid     Code = "invite_invalid"
	CodeTooLarge          Code = "payload_too_large"
	CodeUnsupportedMedia  Code = "unsupported_media_type"
	CodeMalwareDetected   Code = "malware_detected"
	CodeUnscannable       Code = "unscannable_file"
	CodeRangeUnsatisfied  Code = "range_not_satisfiable"
	CodeRateLimited       Code = "rate_limited"
	CodeTooManyConns      Code = "too_many_connections"
	CodeInternal          Code = "internal"
	CodeUnavailable       Code = "unavailable"
	CodeNotOwner          Code = "not_owner"
)

// CodeInfo documents one code: the HTTP status it maps to and when it is used.
type CodeInfo struct {
	Code   Code
	Status int
	Doc    string
}

// Codes is the one table of error codes, in the order the docs list them.
var Codes = []CodeInfo{
	{CodeBadRequest, http.StatusBadRequest, "malformed JSON, unknown field, wrong type, missing field, unknown frame type"},
	{CodeValidation, http.StatusBadRequest, "a value is outside the contract's limits; `field` names it"},
	{CodeUnauthorized, http.StatusUnauthorized, "no token, a bad or expired token, a revoked token, wrong credentials"},
	{CodeForbidden, http.StatusForbidden, "authenticated but the role does not allow the operation"},
	{CodeNotMember, http.StatusForbidden, "reading messages or members of a public room one has not joined"},
	{CodeBlocked, http.StatusForbidden, "the recipient blocked the sender (DMs)"},
	{CodeMuted, http.StatusForbidden, "a moderator muted the sender in this room"},
	{CodeEditWindowClosed, http.StatusForbidden, "editing a message more than 15 minutes after it was sent"},
	{CodeNotFound, http.StatusNotFound, "unknown resource, or one the caller may not know exists"},
	{CodeConflict, http.StatusConflict, "the request conflicts with the current state"},
	{CodeUsernameTaken, http.StatusConflict, "the username is taken (case-insensitively)"},
	{CodeReactionExists, http.StatusConflict, "the caller already reacted with this emoji"},
	{CodeDirectRoomClosed, http.StatusConflict, "a direct room never gains a third member"},
	{CodeOwnerMustTransfer, http.StatusConflict, "the owner must transfer ownership before leaving"},
	{CodeInviteInvalid, http.StatusConflict, "the invite is expired, revoked or used up"},
	{CodeTooLarge, http.StatusRequestEntityTooLarge, "request body over 64 KiB (uploads: 10 MiB)"},
	{CodeUnsupportedMedia, http.StatusUnsupportedMediaType, "a content type that is not accepted"},
	{CodeMalwareDetected, http.StatusUnprocessableEntity, "the malware scan found something"},
	{CodeUnscannable, http.StatusUnprocessableEntity, "the malware scanner could not scan the whole file (archive or size limits, encryption); it is refused"},
	{CodeRangeUnsatisfied, http.StatusRequestedRangeNotSatisfiable, "a download's Range lies outside the file"},
	{CodeRateLimited, http.StatusTooManyRequests, "over a rate limit; `retry_after_ms` says when to retry"},
	{CodeTooManyConns, http.StatusTooManyRequests, "over the per-user or per-IP connection cap"},
	{CodeInternal, http.StatusInternalServerError, "a real server fault"},
	{CodeUnavailable, http.StatusServiceUnavailable, "a dependency is down; retry later"},
	{CodeNotOwner, http.StatusServiceUnavailable, "the room's ownership is moving; retry (same client_msg_id)"},
}

var statusOf = func() map[Code]int {
	m := make(map[Code]int, len(Codes))
	for _, c := range Codes {
		m[c.Code] = c.Status
	}
	return m
}()

// Status returns the HTTP status of the code; unknown codes are server faults.
func (c Code) Status() int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is a protocol error: it carries what the client needs to see. Layers below the
// API return (or wrap) *Error when the failure is the client's to know about.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfterMs is set with CodeRateLimited.
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is makes errors.Is match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a validation error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeValidation, Message: fmt.Sprintf(format, args...), Field: field}
}

// Sentinels for errors.Is. Stores wrap them with context; the API answers with the
// most specific *Error found in the chain (see AsError).
var (
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	ErrConflict = &Error{Code: CodeConflict, Message: "conflict"}
	// ErrFenced means the store refused a write from a stale ownership epoch.
	ErrFenced = &Error{Code: CodeNotOwner, Message: "room ownership moved; retry"}
)

// AsError finds the *Error in err's chain, or nil when err is not a protocol error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

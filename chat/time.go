package chat

import (
	"fmt"
	"time"
)

// Time is an instant at millisecond precision, stored as Unix milliseconds.
//
// The contract fixes timestamps to RFC 3339 UTC with millisecond precision and
// compares search bounds at millisecond precision, so the whole system keeps
// exactly that: stores persist the int64, JSON carries "2006-01-02T15:04:05.000Z".
type Time int64

// jsonLayout is the wire layout: always three fractional digits, always UTC.
const jsonLayout = "2006-01-02T15:04:05.000Z07:00"

// Now returns the current time truncated to milliseconds.
func Now() Time { return TimeOf(time.Now()) }

// TimeOf converts a standard time, dropping precision below a millisecond.
func TimeOf(t time.Time) Time { return Time(t.UnixMilli()) }

// Std returns the time as a UTC time.Time.
func (t Time) Std() time.Time { return time.UnixMilli(int64(t)).UTC() }

// Add returns t+d at millisecond precision.
func (t Time) Add(d time.Duration) Time { return t + Time(d.Milliseconds()) }

// String formats the time as it appears on the wire.
func (t Time) String() string { return t.Std().Format(jsonLayout) }

// MarshalJSON encodes the time as an RFC 3339 string in UTC with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(jsonLayout)+2)
	b = append(b, '"')
	b = t.Std().AppendFormat(b, jsonLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts any RFC 3339 time and keeps its millisecond.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("chat: time must be an RFC 3339 string")
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("chat: parse time: %w", err)
	}
	*t = TimeOf(v)
	return nil
}

// ParseTime parses an RFC 3339 time (as in query strings) to millisecond precision.
func ParseTime(s string) (Time, error) {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("chat: parse time %q: %w", s, err)
	}
	return TimeOf(v), nil
}

package loadtest

import (
	"strconv"
	"strings"
	"time"
)

// stampPrefix starts the content of every message the load tester sends: the
// sender's clock travels in the message itself, so a receiver in any process (on the
// same machine: one clock) computes the end-to-end latency without a lookup.
const stampPrefix = "lt1 "

// makeContent returns a message of size bytes (size >= 32) carrying at, the
// time the send was due, and the sending connection's index.
//
// The due time, not the time the send went out, is stamped: when the generator or
// the server falls behind, the wait counts as latency instead of being hidden
// (no coordinated omission).
func makeContent(at time.Time, conn, size int) string {
	var b strings.Builder
	b.Grow(size)
	b.WriteString(stampPrefix)
	b.WriteString(strconv.FormatInt(at.UnixNano(), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(conn))
	b.WriteByte(' ')
	for b.Len() < size {
		b.WriteByte('x')
	}
	return b.String()
}

// parseStamp reads the due time back; ok is false for content the load tester did
// not write (system messages, for instance).
func parseStamp(content string) (at time.Time, ok bool) {
	rest, found := strings.CutPrefix(content, stampPrefix)
	if !found {
		return time.Time{}, false
	}
	end := strings.IndexByte(rest, ' ')
	if end <= 0 || end > 19 || rest[0] == '0' {
		return time.Time{}, false
	}
	for i := range end {
		if rest[i] < '0' || rest[i] > '9' {
			return time.Time{}, false
		}
	}
	ns, err := strconv.ParseInt(rest[:end], 10, 64)
	if err != nil || ns <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// stampSender reads the sending connection's index from a stamped content, or -1.
// With the layout it names the sender's target (targetOf), which tells a delivery
// within one node from one that crossed nodes.
func stampSender(content string) int {
	rest, found := strings.CutPrefix(content, stampPrefix)
	if !found {
		return -1
	}
	_, rest, found = strings.Cut(rest, " ")
	if !found {
		return -1
	}
	end := strings.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

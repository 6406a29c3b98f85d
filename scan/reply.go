package scan

import (
	"errors"
	"fmt"
	"strings"
)

// Verdict is what the daemon concluded about one stream.
type Verdict int

// The verdicts. Only Clean lets a file through.
const (
	// Clean: the daemon scanned everything and found nothing.
	Clean Verdict = iota + 1
	// Infected: a signature matched; Result.Signature names it.
	Infected
	// Unscannable: the daemon could not scan all of it (size, recursion or file-count
	// limits, an archive it could not unpack); treated as unsafe by callers.
	Unscannable
)

// String names the verdict for logs.
func (v Verdict) String() string {
	switch v {
	case Clean:
		return "clean"
	case Infected:
		return "infected"
	case Unscannable:
		return "unscannable"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Result is the daemon's answer about one stream.
type Result struct {
	Verdict Verdict
	// Signature is the matched signature (Infected) or the limit that was hit
	// (Unscannable), as the daemon named it; empty when Clean.
	Signature string
}

// ErrBadReply is returned (wrapped) for a reply this client does not understand; like
// every error, it means the file was not shown to be clean.
var ErrBadReply = errors.New("scan: unexpected reply from clamd")

// limitPrefix starts the names clamd gives limit hits under AlertExceedsMax.
const limitPrefix = "Heuristics.Limits.Exceeded"

// unscannablePrefixes are other heuristic names that say the scan was incomplete
// (encrypted or broken archives) rather than that something bad was found.
var unscannablePrefixes = []string{limitPrefix, "Heuristics.Encrypted", "Heuristics.Broken"}

// parseReply reads one INSTREAM reply ("stream: OK", "stream: NAME FOUND",
// "... ERROR"), with or without its terminating NUL or newline.
func parseReply(raw string) (Result, error) {
	s := strings.TrimRight(raw, "\x00\r\n")
	if len(s) > 512 {
		return Result{}, fmt.Errorf("%w: %d bytes", ErrBadReply, len(raw))
	}
	if rest, ok := strings.CutSuffix(s, " ERROR"); ok {
		if strings.Contains(rest, "size limit exceeded") {
			return Result{Verdict: Unscannable, Signature: "INSTREAM size limit exceeded"}, nil
		}
		return Result{}, fmt.Errorf("%w: clamd error %q", ErrBadReply, rest)
	}
	body, ok := strings.CutPrefix(s, "stream: ")
	if !ok {
		return Result{}, fmt.Errorf("%w: %q", ErrBadReply, s)
	}
	if body == "OK" {
		return Result{Verdict: Clean}, nil
	}
	name, ok := strings.CutSuffix(body, " FOUND")
	if !ok || name == "" || strings.ContainsAny(name, " \x00") {
		return Result{}, fmt.Errorf("%w: %q", ErrBadReply, s)
	}
	for _, p := range unscannablePrefixes {
		if strings.HasPrefix(name, p) {
			return Result{Verdict: Unscannable, Signature: name}, nil
		}
	}
	return Result{Verdict: Infected, Signature: name}, nil
}

package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestStampRoundTrip(t *testing.T) {
	at := time.Unix(1_700_000_000, 123456789)
	for _, size := range []int{32, 64, 1000} {
		c := makeContent(at, 17, size)
		if len(c) != size {
			t.Errorf("size %d: content of %d bytes", size, len(c))
		}
		got, ok := parseStamp(c)
		if !ok || !got.Equal(at) {
			t.Errorf("size %d: parsed %v %v, want %v", size, got, ok, at)
		}
	}
}

func TestParseStampRejects(t *testing.T) {
	for _, c := range []string{"", "hello", "lt1 ", "lt1 abc def", "lt1 -5 x", "lt1 0 x", "lt1 123", "lt1 99999999999999999999 x", "alice joined"} {
		if _, ok := parseStamp(c); ok {
			t.Errorf("%q parsed", c)
		}
	}
}

// FuzzParseStamp feeds arbitrary message content (what the network hands every
// receiver) to the stamp parser: it must never panic, and what it accepts must
// print back to the same prefix.
func FuzzParseStamp(f *testing.F) {
	f.Add(makeContent(time.Unix(1_700_000_000, 5), 3, 64))
	f.Add("lt1 1 ")
	f.Add("lt1 -1 x")
	f.Add("system: bob joined")
	f.Fuzz(func(t *testing.T, content string) {
		at, ok := parseStamp(content)
		if !ok {
			return
		}
		if !strings.HasPrefix(makeContent(at, 0, 32), content[:strings.IndexByte(content[4:], ' ')+4]) {
			t.Fatalf("%q parsed as %d, which does not print back", content, at.UnixNano())
		}
	})
}

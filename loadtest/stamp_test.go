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
		if s := stampSender(c); s != 17 {
			t.Errorf("size %d: sender %d, want 17", size, s)
		}
	}
	for _, c := range []string{"", "hello", "lt1 123", "lt1 123 ", "lt1 123 x", "lt1 123 -4 x"} {
		if s := stampSender(c); s != -1 {
			t.Errorf("stampSender(%q) = %d, want -1", c, s)
		}
	}
}

// TestTargetOfMatchesLayout: the sender's target that the latency split computes
// from its index is the one the layout gave that connection.
func TestTargetOfMatchesLayout(t *testing.T) {
	cfg, l := layoutFor(t, Config{Scenario: Rooms, Conns: 30, Rate: 10, Targets: []Target{{URL: "http://127.0.0.1:3"}}}, 0)
	if len(cfg.Targets) != 3 {
		t.Fatalf("%d targets, want 3", len(cfg.Targets))
	}
	for _, c := range l.Conns {
		if got := targetOf(c.Index, len(cfg.Targets)); got != c.Target {
			t.Fatalf("conn %d: targetOf %d, layout %d", c.Index, got, c.Target)
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

package scan

import (
	"errors"
	"testing"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		raw     string
		want    Result
		wantErr error
	}{
		{"stream: OK\x00", Result{Verdict: Clean}, nil},
		{"stream: OK\n", Result{Verdict: Clean}, nil},
		{"stream: Eicar-Test-Signature FOUND\x00", Result{Infected, "Eicar-Test-Signature"}, nil},
		{"stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\x00", Result{Unscannable, "Heuristics.Limits.Exceeded.MaxScanSize"}, nil},
		{"stream: Heuristics.Encrypted.Zip FOUND\x00", Result{Unscannable, "Heuristics.Encrypted.Zip"}, nil},
		{"INSTREAM size limit exceeded. ERROR\x00", Result{Unscannable, "INSTREAM size limit exceeded"}, nil},
		{"stream: lstat() failed: No such file. ERROR\x00", Result{}, ErrBadReply},
		{"stream: FOUND\x00", Result{}, ErrBadReply},
		{"stream:  FOUND\x00", Result{}, ErrBadReply},
		{"PONG\x00", Result{}, ErrBadReply},
		{"", Result{}, ErrBadReply},
		{"stream: OKAY\x00", Result{}, ErrBadReply},
	}
	for _, tt := range tests {
		got, err := parseReply(tt.raw)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
			t.Errorf("parseReply(%q) error %v, want %v", tt.raw, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("parseReply(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"tcp:127.0.0.1:3310", "tcp", "127.0.0.1:3310"},
		{"tcp:localhost:3310", "tcp", "localhost:3310"},
		{"unix:/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl"},
		{"127.0.0.1:3310", "", ""},
		{"tcp:nohost", "", ""},
		{"unix:", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		n, a, err := ParseAddress(tt.in)
		if n != tt.network || a != tt.addr || (err == nil) != (tt.network != "") {
			t.Errorf("ParseAddress(%q) = %q, %q, %v", tt.in, n, a, err)
		}
	}
}

// FuzzParseReply: any reply is either a verdict or ErrBadReply, never a panic, and
// only the exact "stream: OK" is Clean.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK\x00", "stream: X FOUND\x00", "a ERROR\x00", "stream: Heuristics.Limits.Exceeded.MaxFiles FOUND"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseReply(raw)
		if err != nil {
			if !errors.Is(err, ErrBadReply) || r != (Result{}) {
				t.Fatalf("parseReply(%q) = %+v, %v", raw, r, err)
			}
			return
		}
		if r.Verdict == Clean && r.Signature != "" {
			t.Fatalf("clean with a signature: %+v", r)
		}
		if r.Verdict != Clean && r.Signature == "" {
			t.Fatalf("%v without a name", r.Verdict)
		}
	})
}

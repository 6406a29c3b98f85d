package api

import (
	"math/rand/v2"
	"testing"
)

// TestPlainTextFastPath: whatever isPlainText lets through renders exactly as the
// full markdown path would, and what could be markdown goes the full path.
func TestPlainTextFastPath(t *testing.T) {
	r := NewRenderer()
	cases := []struct {
		src   string
		plain bool
	}{
		{"hello world", true},
		{"Hello, world. Are you there? Yes!", true},
		{"lt1 1764912345678901234 17 xxxxxxxx", true},
		{"a  b", false},
		{"hello ", false},
		{" hello", false},
		{"1. first", false},
		{"go to www.example.com", false},
		{"WwW", false},
		{"mail me at a@b.co", false},
		{"see http://x.y", false},
		{"*bold*", false},
		{"x_y_z", false},
		{"a\nb", false},
		{"<b>", false},
		{"tom's", false},
		{"", false},
		{"café", false},
	}
	for _, tc := range cases {
		if got := isPlainText(tc.src); got != tc.plain {
			t.Errorf("isPlainText(%q) = %v, want %v", tc.src, got, tc.plain)
		}
		if got, want := r.Render(tc.src), r.render(tc.src); got != want {
			t.Errorf("Render(%q) = %q, full path %q", tc.src, got, want)
		}
	}
	// Random strings over the fast path's alphabet and its near misses.
	const alphabet = "abwWxyz019 ,.?!-:@"
	rng := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for range 20000 {
		b := make([]byte, 1+rng.IntN(30))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		src := string(b)
		if !isPlainText(src) {
			continue
		}
		fast++
		if got, want := r.Render(src), r.render(src); got != want {
			t.Fatalf("Render(%q) = %q, full path %q", src, got, want)
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d random strings took the fast path; the check says little", fast)
	}
}

package main

import (
	"os"
	"strings"
	"testing"
)

const source = "/usr/share/unicode/emoji/emoji-test.txt"

// TestGeneratedUpToDate checks that the committed emoji data is what `go generate`
// makes from the installed emoji-test.txt.
func TestGeneratedUpToDate(t *testing.T) {
	f, err := os.Open(source)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI (Debian's unicode-data): %v", source, err)
		}
		t.Skipf("no %s: %v", source, err)
	}
	defer f.Close()
	got, err := Generate(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../static/js/emoji-data.js")
	if err != nil {
		t.Fatal(err)
	}
	// A machine with another release of Unicode's file (another Debian) would
	// generate other data; only the same release must give the same bytes.
	firstLine := func(b []byte) string { return strings.SplitN(string(b), "\n", 2)[0] }
	if firstLine(got) != firstLine(want) {
		t.Logf("installed emoji-test.txt is another release (%q, committed %q): not compared", firstLine(got), firstLine(want))
		return
	}
	if string(got) != string(want) {
		t.Fatal("web/static/js/emoji-data.js is stale: run `go generate ./web` and commit it")
	}
}

// TestGenerate checks the parsing on a small sample: fully-qualified only, names
// and groups kept, components left out.
func TestGenerate(t *testing.T) {
	in := `# Version: 15.0
# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A                                                   ; unqualified         # ☺ E0.6 smiling face
# group: Component
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
# group: Flags
1F3C1                                                  ; fully-qualified     # 🏁 E0.6 chequered flag
`
	out, err := Generate(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`["😀","grinning face",0]`, `["🏁","chequered flag",2]`, `"Flags"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "☺") || strings.Contains(s, "🏻") {
		t.Errorf("unqualified or component emoji in the output:\n%s", s)
	}
}

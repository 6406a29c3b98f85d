package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode"

	nethtml "golang.org/x/net/html"

	"github.com/chatd/chatd/chat"
)

// requestTypes are the JSON bodies the REST API decodes; each case makes a fresh
// destination. The fuzz target decodes every input into every one of them.
var requestTypes = []struct {
	name string
	new  func() any
}{
	{"send", func() any { return new(SendInput) }},
	{"edit", func() any { return new(contentInput) }},
	{"reaction", func() any { return new(emojiInput) }},
	{"mute", func() any { return new(muteInput) }},
	{"report", func() any { return new(reasonInput) }},
	{"review", func() any { return new(reviewInput) }},
	{"read", func() any { return new(readInput) }},
	{"register", func() any { return new(registerRequest) }},
	{"login", func() any { return new(loginRequest) }},
	{"create room", func() any { return new(createRoomRequest) }},
	{"update room", func() any { return new(updateRoomRequest) }},
	{"level", func() any { return new(levelRequest) }},
	{"add member", func() any { return new(addMemberRequest) }},
	{"role", func() any { return new(roleRequest) }},
	{"invite", func() any { return new(createInviteRequest) }},
	{"update me", func() any { return new(updateMeRequest) }},
	{"empty", func() any { return new(struct{}) }},
}

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder: it never panics,
// every failure is a *chat.Error with a 4xx status, the send input's validation
// holds the same promise, and decoding a body that arrives one byte at a time gives
// the same result as decoding it whole.
//
//	go test ./api -run '^$' -fuzz FuzzDecodeRequest -fuzztime 10s
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, `null`, `[]`, `"x"`, `5`, `{"content":"hi"}`,
		`{"content":"hi","parent_id":"0190b3a0-0000-7000-8000-000000000000","client_msg_id":"k"}`,
		`{"content":"hi","attachments":["a"]}`, `{"content":5}`, `{"content":"x","extra":1}`,
		`{"content":"x"} {}`, `{"content":"x"`, `{"content":"\u0000"}`, `{"content":"\ud800"}`,
		`{"emoji":"👍"}`, `{"duration_seconds":-1}`, `{"duration_seconds":1e400}`,
		`{"duration_seconds":9223372036854775807}`, `{"status":"resolved","delete_message":true}`,
		`{"message_id":null}`, `{"reason":"` + strings.Repeat("a", 2000) + `"}`,
		`{"username":"abc","password":"password1","display_name":"A"}`, `{"type":"direct","user_id":"x"}`,
		`{"level":"all"}`, `{"role":"owner"}`, `{"max_uses":0,"expires_in_seconds":1}`,
		`{"display_name":null,"status":"busy"}`, "\xff\xfe", `{"a":{"b":{"c":[[[[[[]]]]]]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rt := range requestTypes {
			for _, emptyOK := range []bool{false, true} {
				dst := rt.new()
				err := decodeBody(body, dst, emptyOK)
				checkClientError(t, rt.name+" decode", err)
				streamed := rt.new()
				errStreamed := decodeStreamed(body, streamed, emptyOK)
				if (err == nil) != (errStreamed == nil) || err == nil && !reflect.DeepEqual(dst, streamed) {
					t.Fatalf("%s: whole body gave (%v, %+v), byte by byte (%v, %+v)", rt.name, err, dst, errStreamed, streamed)
				}
				if in, ok := dst.(*SendInput); ok && err == nil {
					_, _, verr := in.validate()
					checkClientError(t, "send validate", verr)
				}
			}
		}
	})
}

// decodeStreamed decodes body through decodeJSON from a request whose body reads one
// byte at a time, as a slow client's would arrive.
func decodeStreamed(body []byte, dst any, emptyOK bool) error {
	r := httptest.NewRequest(http.MethodPost, "/", iotest.OneByteReader(bytes.NewReader(body)))
	return decodeJSON(httptest.NewRecorder(), r, dst, emptyOK)
}

// checkClientError fails unless err is nil or a protocol error with a 4xx status.
func checkClientError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *chat.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %T %v is not a *chat.Error", what, err, err)
	}
	if s := e.Code.Status(); s < 400 || s > 499 {
		t.Fatalf("%s: code %s has status %d, want 4xx", what, e.Code, s)
	}
}

// FuzzRenderMarkdown renders arbitrary text: it never panics, and the HTML never
// holds anything that runs (see unsafeHTML).
//
//	go test ./api -run '^$' -fuzz FuzzRenderMarkdown -fuzztime 10s
func FuzzRenderMarkdown(f *testing.F) {
	for _, v := range xssVectors {
		f.Add(v)
	}
	for _, v := range []string{
		"", "plain", "Plain words, with punctuation. Really?", "**bold** _it_ ~~del~~ `code`", "# h1\n\n> quote\n\n- a\n- [x] b",
		"| a | b |\n|---|---|\n| 1 | 2 |", "https://example.com/path?q=1", "<https://example.com>",
		"[ok](https://example.com \"title\")", "![img](https://example.com/a.png)", "line\nbreak",
		"```go\nfunc main() {}\n```", "@alice hi", "a\x00b", "\xff\xfe", "<!-- comment -->",
		"<details open ontoggle=alert(1)>", "[a]: javascript:alert(1)\n\n[a]", "<a href=\"vbscript:msgbox(1)\">x</a>",
	} {
		f.Add(v)
	}
	r := NewRenderer()
	f.Fuzz(func(t *testing.T, src string) {
		out := r.Render(src)
		if bad := unsafeHTML(out); bad != "" {
			t.Fatalf("Render(%q) = %q contains %q", src, out, bad)
		}
		if isPlainText(src) {
			if full := r.render(src); out != full {
				t.Fatalf("fast path Render(%q) = %q, full path %q", src, out, full)
			}
		}
	})
}

// unsafeTags run or embed content; none may survive sanitising.
var unsafeTags = map[string]bool{
	"script": true, "iframe": true, "object": true, "embed": true, "style": true, "base": true,
	"meta": true, "link": true, "form": true, "svg": true, "math": true, "frame": true, "frameset": true,
}

// urlAttrs are the attributes whose value a browser may follow or load.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "xlink:href": true,
	"srcset": true, "background": true, "poster": true, "data": true, "cite": true, "longdesc": true,
}

// unsafeHTML returns the first thing in s that could run script in a browser, or ""
// when there is none. s is tokenised as a browser would (golang.org/x/net/html, which
// also decodes entities): a "<script" anywhere, a tag that runs or embeds content,
// an on* event handler attribute, a style attribute, or a javascript:, vbscript: or
// data: URL in a URL attribute (after dropping the white space and control characters
// browsers ignore) is a finding. Text that merely mentions "javascript:" or
// "onclick=" is escaped, harmless text, not a finding.
func unsafeHTML(s string) string {
	if i := strings.Index(strings.ToLower(s), "<script"); i >= 0 {
		return s[i:min(len(s), i+20)]
	}
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return ""
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken, nethtml.EndTagToken:
			tok := z.Token()
			if unsafeTags[strings.ToLower(tok.Data)] {
				return tok.String()
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" {
					return tok.String()
				}
				if !urlAttrs[key] {
					continue
				}
				v := strings.Map(func(r rune) rune {
					if unicode.IsSpace(r) || unicode.IsControl(r) {
						return -1
					}
					return unicode.ToLower(r)
				}, a.Val)
				for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
					if strings.HasPrefix(v, scheme) || strings.Contains(v, ","+scheme) {
						return tok.String()
					}
				}
			}
		}
	}
}

func TestUnsafeHTMLDetects(t *testing.T) {
	for _, s := range []string{
		`<script>x</script>`, `<SCRIPT src=x>`, `<img src=x onerror=alert(1)>`, `<a href="javascript:x">`,
		`<a href="jav&#x09;ascript:x">`, `<a href="&#106;avascript:x">`, `<iframe src=x>`, `<svg onload=x>`,
		`<a href="data:text/html;base64,xx">`, `<p/onclick=x>`, `<a style="x">`, "<img src=\" JaVa\nscript:x\">",
	} {
		if unsafeHTML(s) == "" {
			t.Errorf("unsafeHTML(%q) found nothing", s)
		}
	}
	for _, s := range []string{
		`<p>javascript: is a language; onclick=x is text</p>`, `<a href="https://example.com/online=1?u=javascript:x" title="javascript:" rel="nofollow">x</a>`,
		`<p>&lt;script&gt;</p>`, `<img src="https://example.com/a.png" alt="x">`,
	} {
		if bad := unsafeHTML(s); bad != "" {
			t.Errorf("unsafeHTML(%q) = %q, want nothing", s, bad)
		}
	}
}

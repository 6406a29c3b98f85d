package persist

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Search text: how message content becomes search terms. Both stores index the same
// terms and match queries against them the same way, so they find the same messages.
// The rules are written twice: here in Go (the embedded store's index, its queries,
// and highlighting on both stores) and in SQL (chatd_search_key and
// chatd_search_vector in migrations/postgres/0003_search.sql); the conformance tests
// hold the two to the same results.
//
// Content is first folded (accents removed: café -> cafe, Straße -> Strasse), then
// cut at white space into chunks. A chunk's key is the chunk without the separators
// at its ends, lower-cased: "(https://example.com/a?x=1)." has the key
// "https://example.com/a?x=1". Every key is a term, at the chunk's position (phrases
// match consecutive keys). A chunk also yields, at no position of their own:
//   - its parts, cut at separators other than '.', '-' and '_', each a key:
//     "example.com" and "a" from the URL above, "example.org" from "bob@example.org",
//     and a part that starts with "www." also without it;
//   - its words, cut at every separator, and the words of camelCase words:
//     "release" and "2" from "release-2.3", "my" and "var" from "my_var", "get",
//     "user" and "name" from "getUserName", "func" from "pkg.Func";
//   - the link marker when the chunk holds "http://" or "https://" or starts with
//     "www." (the has=links filter).
//
// A query word matches a message when its key is one of the message's terms, so
// what users type (a URL, a host, an IP address, an e-mail address, a dotted or
// dashed version, an identifier, a word with or without its accents) finds it.

// searchKeyMax bounds a term's length in code points: longer keys are cut, on both
// sides alike (Postgres refuses lexemes over 2 KiB).
const searchKeyMax = 200

// searchLinkTerm marks messages holding a link. A key never starts with ':' (keys
// are trimmed of separators), so no query word can produce it.
const searchLinkTerm = ":link"

// isSearchSpace reports whether r separates chunks. The SQL twin is the class
// spaceClass of the Postgres migration.
func isSearchSpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r == ' ', r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200b, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f,
		r == 0x3000, r == 0xfeff:
		return true
	}
	return false
}

// isSearchSep reports whether r is a separator: anything but a letter or digit,
// spelt out as code point ranges rather than Unicode classes so that Postgres
// (whose classes depend on the database's locale) agrees. Its SQL twin is the class
// sepClass of the Postgres migration.
func isSearchSep(r rune) bool {
	switch {
	case r <= 0x2f, r >= 0x3a && r <= 0x40, r >= 0x5b && r <= 0x60, r >= 0x7b && r <= 0xbf,
		r == 0xd7, r == 0xf7, r == 0x1680, r >= 0x2000 && r <= 0x2bff, r >= 0x3000 && r <= 0x303f,
		r >= 0xfe00 && r <= 0xfe0f, r == 0xfeff, r >= 0xff00 && r <= 0xff0f, r >= 0xff1a && r <= 0xff20,
		r >= 0xff3b && r <= 0xff40, r >= 0xff5b && r <= 0xff65, r >= 0x1f000 && r <= 0x1faff:
		return true
	}
	return false
}

// isPartSep reports whether r cuts a chunk into parts: a separator other than the
// '.', '-' and '_' that hold host names, versions and identifiers together.
func isPartSep(r rune) bool { return isSearchSep(r) && r != '.' && r != '-' && r != '_' }

// foldSpecial maps the letters that do not decompose into a base letter and marks,
// as Postgres's unaccent does.
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'ø': "o", 'Ø': "O",
	'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "TH",
	'ı': "i", 'ħ': "h", 'Ħ': "H", 'ŀ': "l", 'Ŀ': "L", 'ŧ': "t", 'Ŧ': "T",
}

// foldAccents removes diacritics (canonical decomposition, marks dropped,
// recomposed) and spells out the letters of foldSpecial.
func foldAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if v, ok := foldSpecial[r]; ok {
			b.WriteString(v)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// trimSep cuts the separators at both ends of s.
func trimSep(s string) string { return strings.TrimFunc(s, isSearchSep) }

// lowerCut lower-cases s and cuts it to searchKeyMax code points.
func lowerCut(s string) string {
	s = strings.ToLower(s)
	if utf8.RuneCountInString(s) <= searchKeyMax {
		return s
	}
	n := 0
	for i := range s {
		if n == searchKeyMax {
			return s[:i]
		}
		n++
	}
	return s
}

// searchKey returns the term a query word looks for: folded, trimmed of separators,
// lower-cased and cut ("" when nothing is left). The embedded store keys queries
// with it; Postgres with its SQL twin, chatd_search_key.
func searchKey(word string) string { return lowerCut(trimSep(foldAccents(word))) }

// keyOfFolded is searchKey of text already folded.
func keyOfFolded(s string) string { return lowerCut(trimSep(s)) }

// searchTerms returns content's terms: the keys of its chunks in order (the
// positional terms) and the other terms of every chunk (parts, words and the link
// marker), each listed once per chunk and never equal to that chunk's key.
func searchTerms(content string) (keys []string, others []string) {
	for _, chunk := range strings.FieldsFunc(foldAccents(content), isSearchSpace) {
		k := keyOfFolded(chunk)
		if k == "" {
			continue
		}
		keys = append(keys, k)
		seen := map[string]bool{k: true}
		add := func(t string) {
			if t != "" && !seen[t] {
				seen[t] = true
				others = append(others, t)
			}
		}
		for _, part := range strings.FieldsFunc(chunk, isPartSep) {
			pk := keyOfFolded(part)
			add(pk)
			if strings.HasPrefix(pk, "www.") {
				add(pk[len("www."):])
			}
		}
		for _, word := range strings.FieldsFunc(chunk, isSearchSep) {
			add(lowerCut(word))
			for _, w := range camelWords(word) {
				add(lowerCut(w))
			}
		}
		if isLinkChunk(chunk, k) {
			add(searchLinkTerm)
		}
	}
	return keys, others
}

// isLinkChunk reports whether a chunk holds a URL: "http://", "https://" (in any
// case) or a key starting with "www.".
func isLinkChunk(chunk, key string) bool {
	l := strings.ToLower(chunk)
	return strings.Contains(l, "http://") || strings.Contains(l, "https://") || strings.HasPrefix(key, "www.")
}

// camelWords cuts a word where an ASCII lower-case letter or digit meets an ASCII
// capital ("getUserName" -> get, User, Name); nil when there is no such place.
func camelWords(w string) []string {
	var out []string
	start := 0
	for i := 1; i < len(w); i++ {
		p, c := w[i-1], w[i]
		if (p >= 'a' && p <= 'z' || p >= '0' && p <= '9') && c >= 'A' && c <= 'Z' {
			out = append(out, w[start:i])
			start = i
		}
	}
	if out == nil {
		return nil
	}
	return append(out, w[start:])
}

// ftsToken encodes a term as one token of the embedded store's FTS5 table (whose
// tokenizer keeps runs of [a-z0-9_]): ASCII letters and digits stay, every other
// byte becomes '_' and two hex digits. The encoding is injective, so tokens match
// exactly when terms do.
func ftsToken(term string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(term) + 8)
	for i := 0; i < len(term); i++ {
		c := term[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ftsText joins terms as FTS5 column text.
func ftsText(terms []string) string {
	toks := make([]string, len(terms))
	for i, t := range terms {
		toks[i] = ftsToken(t)
	}
	return strings.Join(toks, " ")
}

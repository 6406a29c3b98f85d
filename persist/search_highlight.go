package persist

import (
	"html"
	"sort"
	"strings"
	"unicode/utf8"
)

// Highlighting is done here, in Go, for both stores. Postgres's ts_headline would
// re-parse the content with its default parser, which cannot see the terms this
// index is made of (a whole URL, a host inside it, an e-mail address), so it would
// leave them unmarked; one highlighter also marks the same words on both stores.
// The result is HTML whose only elements are <mark>: all content is escaped.

// highlightMax is the longest highlight in code points: a longer message shows the
// window around its first match, with "…" where it was cut.
const highlightMax = 300

// highlightLead is how much text the window keeps before the first match.
const highlightLead = 60

// span is a byte range [start, end) of the content.
type span struct{ start, end int }

// highlight returns content as escaped HTML with the terms of keys in <mark>.
func highlight(content string, keys map[string]bool) string {
	marks := matchSpans(content, keys)
	from, to := window(content, marks)
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	at := from
	for _, m := range marks {
		s, e := max(m.start, from), min(m.end, to)
		if s >= e {
			continue
		}
		b.WriteString(html.EscapeString(content[at:s]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(content[s:e]))
		b.WriteString("</mark>")
		at = e
	}
	b.WriteString(html.EscapeString(content[at:to]))
	if to < len(content) {
		b.WriteString("…")
	}
	return b.String()
}

// window picks the byte range to show: all of content when it is short, else
// highlightMax code points starting a little before the first mark.
func window(content string, marks []span) (from, to int) {
	if utf8.RuneCountInString(content) <= highlightMax {
		return 0, len(content)
	}
	if len(marks) > 0 {
		from = marks[0].start
		for n := 0; n < highlightLead && from > 0; n++ {
			_, size := utf8.DecodeLastRuneInString(content[:from])
			from -= size
		}
	}
	to = from
	for n := 0; n < highlightMax && to < len(content); n++ {
		_, size := utf8.DecodeRuneInString(content[to:])
		to += size
	}
	return from, to
}

// matchSpans finds the matches of keys in content, chunk by chunk: the whole chunk
// when its key matches, else its parts, else its words and camelCase words (the
// terms of searchTerms). Spans are sorted and do not overlap.
func matchSpans(content string, keys map[string]bool) []span {
	if len(keys) == 0 {
		return nil
	}
	var out []span
	for _, c := range fieldSpans(content, 0, isSearchSpace) {
		chunk := content[c.start:c.end]
		if k := searchKey(chunk); k != "" && keys[k] {
			out = append(out, trimSpan(content, c))
			continue
		}
		found := false
		for _, p := range fieldSpans(chunk, c.start, isPartSep) {
			pk, sp := searchKey(content[p.start:p.end]), trimSpan(content, p)
			switch {
			case keys[pk]:
				out = append(out, sp)
				found = true
			case strings.HasPrefix(pk, "www.") && keys[pk[len("www."):]]:
				out = append(out, span{sp.start + len("www."), sp.end})
				found = true
			}
		}
		if found {
			continue
		}
		for _, w := range fieldSpans(chunk, c.start, isSearchSep) {
			word := content[w.start:w.end]
			if keys[lowerCut(foldAccents(word))] {
				out = append(out, w)
				continue
			}
			at := w.start
			for _, cw := range camelWords(word) {
				if keys[lowerCut(foldAccents(cw))] {
					out = append(out, span{at, at + len(cw)})
				}
				at += len(cw)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// fieldSpans is strings.FieldsFunc returning byte spans of s, offset by base.
func fieldSpans(s string, base int, sep func(rune) bool) []span {
	var out []span
	start := -1
	for i, r := range s {
		if sep(r) {
			if start >= 0 {
				out = append(out, span{base + start, base + i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{base + start, base + len(s)})
	}
	return out
}

// trimSpan narrows sp to exclude the separators at its ends.
func trimSpan(content string, sp span) span {
	s := content[sp.start:sp.end]
	t := strings.TrimLeftFunc(s, isSearchSep)
	sp.start += len(s) - len(t)
	u := strings.TrimRightFunc(t, isSearchSep)
	sp.end -= len(t) - len(u)
	return sp
}

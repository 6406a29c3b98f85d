package persist

import (
	"strings"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
)

// The query language is Postgres's websearch syntax, parsed here once for both
// stores: words (all must match), "quoted phrases" (consecutive chunks), -word and
// -"phrase" (must not match), and `or` between alternatives. As with
// websearch_to_tsquery, nothing is a syntax error: stray quotes, dashes and
// dangling `or`s are ignored. Two rules are ours: every alternative needs a word
// that is not excluded (a search that only excludes would scan every message), and
// a query holds at most SearchTermsMax words.

// SearchTermsMax bounds the words (phrase words included) of one query.
const SearchTermsMax = 32

// SearchTextMax bounds a query's length in code points.
const SearchTextMax = 500

// searchTerm is one word or phrase of a query: its raw chunks as typed (several
// for a phrase) and, once resolved, their keys.
type searchTerm struct {
	raw  []string
	keys []string
	neg  bool
}

// searchGroup is one alternative: all its terms must hold.
type searchGroup []searchTerm

// searchExpr is a parsed query: any one of its groups must hold. An empty expr
// matches every message (a search by filters only).
type searchExpr []searchGroup

// parseSearch parses websearch syntax into groups of terms with raw chunks. It
// only refuses text that is too long or not UTF-8; terms without letters or
// digits are dropped later, by resolve.
func parseSearch(text string) (searchExpr, error) {
	if !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 || utf8.RuneCountInString(text) > SearchTextMax {
		return nil, chat.FieldError("q", "q must be text of at most %d characters", SearchTextMax)
	}
	var expr searchExpr
	var group searchGroup
	words := 0
	p := searchParser{s: text}
	for {
		t, isOr, ok := p.next()
		if !ok {
			break
		}
		if isOr {
			if len(group) > 0 {
				expr = append(expr, group)
				group = nil
			}
			continue
		}
		words += len(t.raw)
		if words > SearchTermsMax {
			return nil, chat.FieldError("q", "q may hold at most %d words", SearchTermsMax)
		}
		group = append(group, t)
	}
	if len(group) > 0 {
		expr = append(expr, group)
	}
	return expr, nil
}

// searchParser scans websearch syntax.
type searchParser struct {
	s string
	i int
}

// next returns the next term, or isOr for an unquoted `or`; ok is false at the end.
func (p *searchParser) next() (t searchTerm, isOr, ok bool) {
	for {
		for p.i < len(p.s) {
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			if !isSearchSpace(r) {
				break
			}
			p.i += n
		}
		if p.i >= len(p.s) {
			return searchTerm{}, false, false
		}
		neg := false
		for p.i < len(p.s) && p.s[p.i] == '-' {
			neg = true
			p.i++
		}
		if p.i < len(p.s) && p.s[p.i] == '"' {
			p.i++
			end := strings.IndexByte(p.s[p.i:], '"')
			body := p.s[p.i:]
			if end >= 0 {
				body = p.s[p.i : p.i+end]
				p.i += end + 1
			} else {
				p.i = len(p.s)
			}
			raw := strings.FieldsFunc(body, isSearchSpace)
			if len(raw) == 0 {
				continue
			}
			return searchTerm{raw: raw, neg: neg}, false, true
		}
		start := p.i
		for p.i < len(p.s) {
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			if isSearchSpace(r) || r == '"' {
				break
			}
			p.i += n
		}
		word := p.s[start:p.i]
		if word == "" {
			continue
		}
		if !neg && strings.EqualFold(word, "or") {
			return searchTerm{}, true, true
		}
		return searchTerm{raw: []string{word}, neg: neg}, false, true
	}
}

// rawWords lists every raw chunk of expr, in order, for a dialect to key.
func (e searchExpr) rawWords() []string {
	var out []string
	for _, g := range e {
		for _, t := range g {
			out = append(out, t.raw...)
		}
	}
	return out
}

// resolve sets the terms' keys from keys (one per rawWords entry, in order), drops
// chunks whose key is empty and terms left without any, and checks that every
// group keeps a term that is not excluded. The result may be empty: the query had
// no letters or digits.
func (e searchExpr) resolve(keys []string) (searchExpr, error) {
	var out searchExpr
	i := 0
	for _, g := range e {
		var ng searchGroup
		positive := false
		for _, t := range g {
			var ks []string
			for range t.raw {
				if keys[i] != "" {
					ks = append(ks, keys[i])
				}
				i++
			}
			if len(ks) == 0 {
				continue
			}
			ng = append(ng, searchTerm{raw: t.raw, keys: ks, neg: t.neg})
			positive = positive || !t.neg
		}
		if len(ng) == 0 {
			continue
		}
		if !positive {
			return nil, chat.FieldError("q", "each alternative of q needs a word that is not excluded with '-'")
		}
		out = append(out, ng)
	}
	return out, nil
}

// positiveKeys lists the keys that a match contains (for highlighting).
func (e searchExpr) positiveKeys() map[string]bool {
	out := map[string]bool{}
	for _, g := range e {
		for _, t := range g {
			if !t.neg {
				for _, k := range t.keys {
					out[k] = true
				}
			}
		}
	}
	return out
}

// tsquery renders a resolved expr (non-empty) as Postgres tsquery text. A phrase's
// words must be chunk keys (weight A) at consecutive positions; a single word may
// be any term. link adds the link marker as a required term.
func (e searchExpr) tsquery(link bool) string {
	var alts []string
	for _, g := range e {
		var parts []string
		for _, t := range g {
			var s string
			if len(t.keys) == 1 {
				s = tsLexeme(t.keys[0])
			} else {
				ws := make([]string, len(t.keys))
				for i, k := range t.keys {
					ws[i] = tsLexeme(k) + ":A"
				}
				s = "(" + strings.Join(ws, " <-> ") + ")"
			}
			if t.neg {
				s = "!" + s
			}
			parts = append(parts, s)
		}
		alts = append(alts, "("+strings.Join(parts, " & ")+")")
	}
	q := strings.Join(alts, " | ")
	if link {
		if q == "" {
			return tsLexeme(searchLinkTerm)
		}
		q = "(" + q + ") & " + tsLexeme(searchLinkTerm)
	}
	return q
}

// tsLexeme quotes a lexeme for tsquery text: quotes and backslashes doubled.
func tsLexeme(k string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(k) + "'"
}

// fts5 renders a resolved expr (non-empty) as an FTS5 MATCH expression over the
// columns w (chunk keys in order) and p (the other terms). link adds the marker.
func (e searchExpr) fts5(link bool) string {
	var alts []string
	for _, g := range e {
		var pos, neg []string
		for _, t := range g {
			var s string
			if len(t.keys) == 1 {
				s = `"` + ftsToken(t.keys[0]) + `"`
			} else {
				s = `w : "` + ftsText(t.keys) + `"`
			}
			if t.neg {
				neg = append(neg, "("+s+")")
			} else {
				pos = append(pos, "("+s+")")
			}
		}
		alt := "(" + strings.Join(pos, " AND ") + ")"
		for _, n := range neg {
			alt = "(" + alt + " NOT " + n + ")"
		}
		alts = append(alts, alt)
	}
	q := strings.Join(alts, " OR ")
	if link {
		marker := `"` + ftsToken(searchLinkTerm) + `"`
		if q == "" {
			return marker
		}
		q = "(" + q + ") AND " + marker
	}
	return q
}

// goKeys keys raw words with searchKey (the embedded store's dialect).
func goKeys(raw []string) []string {
	out := make([]string, len(raw))
	for i, w := range raw {
		out[i] = searchKey(w)
	}
	return out
}

package chat

import "unicode/utf8"

// ValidateEmoji accepts exactly one Unicode emoji sequence: a pictographic base with
// optional variation selector, skin-tone modifier, ZWJ-joined parts and tags, a flag
// (two regional indicators), or a keycap.
func ValidateEmoji(s string) error {
	if !isEmojiSequence(s) {
		return FieldError("emoji", "emoji must be one Unicode emoji")
	}
	return nil
}

const (
	zwj         = 0x200D
	vs16        = 0xFE0F
	vs15        = 0xFE0E
	keycapMark  = 0x20E3
	maxEmojiLen = 64
)

func isEmojiSequence(s string) bool {
	if s == "" || len(s) > maxEmojiLen || !utf8.ValidString(s) {
		return false
	}
	rs := []rune(s)
	// Keycap: [0-9#*] FE0F? 20E3
	if isKeycapBase(rs[0]) {
		switch {
		case len(rs) == 2 && rs[1] == keycapMark:
			return true
		case len(rs) == 3 && rs[1] == vs16 && rs[2] == keycapMark:
			return true
		}
		return false
	}
	// Flag: two regional indicators and nothing else.
	if isRegional(rs[0]) {
		return len(rs) == 2 && isRegional(rs[1])
	}
	// Pictographic element (modifiers/selectors)* (ZWJ element)* tags?
	expectBase := true
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case expectBase:
			if !isPictographic(r) {
				return false
			}
			expectBase = false
		case r == vs16 || r == vs15 || isSkinTone(r):
		case r == zwj:
			expectBase = true
		case r >= 0xE0020 && r <= 0xE007F: // tag sequence (subdivision flags)
		default:
			return false
		}
	}
	return !expectBase
}

func isKeycapBase(r rune) bool { return r >= '0' && r <= '9' || r == '#' || r == '*' }
func isRegional(r rune) bool   { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool   { return r >= 0x1F3FB && r <= 0x1F3FF }

// pictographic lists the ranges of Unicode's Extended_Pictographic property (coarsely
// merged: unassigned code points inside a range are accepted, which costs nothing).
var pictographic = [][2]rune{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049},
	{0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA},
	{0x231A, 0x231B}, {0x2328, 0x2328}, {0x2388, 0x2388}, {0x23CF, 0x23CF},
	{0x23E9, 0x23F3}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2}, {0x25AA, 0x25AB},
	{0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FE}, {0x2600, 0x27BF},
	{0x2934, 0x2935}, {0x2B05, 0x2B07}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50},
	{0x2B55, 0x2B55}, {0x3030, 0x3030}, {0x303D, 0x303D}, {0x3297, 0x3297},
	{0x3299, 0x3299}, {0x1F000, 0x1F0FF}, {0x1F10D, 0x1F10F}, {0x1F12F, 0x1F12F},
	{0x1F16C, 0x1F171}, {0x1F17E, 0x1F17F}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
	{0x1F1AD, 0x1F1E5}, {0x1F201, 0x1F20F}, {0x1F21A, 0x1F21A}, {0x1F22F, 0x1F22F},
	{0x1F232, 0x1F23A}, {0x1F23C, 0x1F23F}, {0x1F249, 0x1F3FA}, {0x1F400, 0x1F53D},
	{0x1F546, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F774, 0x1F77F}, {0x1F7D5, 0x1F7FF},
	{0x1F80C, 0x1F80F}, {0x1F848, 0x1F84F}, {0x1F85A, 0x1F85F}, {0x1F888, 0x1F88F},
	{0x1F8AE, 0x1F8FF}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1FAFF},
	{0x1FC00, 0x1FFFD},
}

func isPictographic(r rune) bool {
	lo, hi := 0, len(pictographic)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < pictographic[m][0]:
			hi = m
		case r > pictographic[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

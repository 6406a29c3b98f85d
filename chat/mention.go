package chat

import "strings"

// Mentions returns the distinct usernames mentioned as @name in content, lower-cased,
// in order of first appearance. A mention starts at the beginning of the text or after
// a character that cannot be part of a name (so e-mail addresses are not mentions).
func Mentions(content string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(content); i++ {
		if content[i] != '@' || (i > 0 && isNameByte(content[i-1])) {
			continue
		}
		j := i + 1
		for j < len(content) && isNameByte(content[j]) && j-i-1 < UsernameMax {
			j++
		}
		if j < len(content) && isNameByte(content[j]) {
			continue // longer than any username
		}
		name := strings.ToLower(content[i+1 : j])
		if len(name) >= UsernameMin && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		i = j - 1
	}
	return out
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

package media

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilename is the longest file name kept, in code points.
const MaxFilename = 200

// CleanFilename turns the name an uploader gave into metadata that is safe to store
// and to send back in a Content-Disposition header: the last path element only (no
// directories, whichever separator), no control or format characters (no NUL, no
// newlines, no bidirectional overrides that disguise an extension), no leading dots
// or surrounding space, at most MaxFilename code points, and ending with the
// extension of the sniffed type mt ("x.png.exe" holding a PNG becomes
// "x.png.exe.png"). An empty result becomes "file" plus that extension.
func CleanFilename(name, mt string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	name = strings.TrimRight(name, ". ")
	ext := Extensions[mt]
	if name == "" {
		name = "file"
	}
	if got := strings.ToLower(path.Ext(name)); ext != "" && got != ext && !(mt == JPEG && got == ".jpeg") {
		name += ext
	}
	if r := []rune(name); len(r) > MaxFilename {
		keep := MaxFilename - utf8.RuneCountInString(ext)
		name = string(r[:keep]) + ext
	}
	return name
}

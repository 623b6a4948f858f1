package sanitizer

import "strings"

// replaceHomes replaces home directories with "~" where a path starts:
// /home/<name> and /Users/<name> at the start of the text, after a space,
// a quote, a bracket, '=', ':', ',' or ';', or in a file:// URI; and
// <drive>:\Users\<name> in any case, with single, doubled (escaped) or
// forward separators, the name spaces included when a separator follows
// it (C:\Users\John Smith\…). A user name starts with a letter, so that
// a route (/Users/42/orders) is not one; outside stack traces a
// "/home/<name>" must go on into a deeper path or follow '=', so that an
// app route such as /home/settings survives.
func replaceHomes(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for j := 0; j < len(s); j++ {
		if !isPathSep(s[j]) {
			continue
		}
		start, end := homeAt(s, j, sc.stack)
		if end < 0 || start < last {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(sc.mark(r, s[start:end]))
		last, j = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// homeAt returns the span of a home directory whose path separator
// before "home" or "Users" is at j, or -1, -1.
func homeAt(s string, j int, stack bool) (start, end int) {
	rest := s[j+1:]
	if d := j - 2; d >= 0 && s[j-1] == ':' && isLetterByte(s[d]) && (d == 0 || !isWordByte(s[d-1])) {
		// A drive root: C:\Users\name, C:\\Users\\name, C:/Users/name.
		k := j + sepRun(s, j)
		if !hasPrefixFold(s[k:], "users") || k+5 >= len(s) || !isPathSep(s[k+5]) {
			return -1, -1
		}
		k += 5 + sepRun(s, k+5)
		if end := windowsNameEnd(s, k); end > k && !sharedHome(s[k:end]) {
			return d, end
		}
		return -1, -1
	}
	var home bool
	switch {
	case s[j] == '/' && strings.HasPrefix(rest, "home/"):
		home = true
	case strings.HasPrefix(rest, "Users") && len(rest) > 5 && isPathSep(rest[5]):
	default:
		return -1, -1
	}
	if j > 0 && !isPathAnchor(s[j-1]) && !hasSuffixFold(s[:j], "file://") {
		return -1, -1
	}
	k := j + 1 + len("Users")
	if home {
		k = j + 1 + len("home")
	}
	k += sepRun(s, k)
	end = k
	for end < len(s) && !isNameEnd(s[end]) {
		end++
	}
	if end == k || !startsName(s[k]) {
		return -1, -1
	}
	if home && !stack && (end == len(s) || !isPathSep(s[end])) && (j == 0 || s[j-1] != '=') {
		return -1, -1 // /home/settings, a route
	}
	if sharedHome(s[k:end]) {
		return -1, -1
	}
	return j, end
}

// sharedHomes are the directories under /Users and C:\Users that belong
// to no one.
var sharedHomes = []string{"shared", "public", "default", "default user", "all users", "defaultapppool"}

func sharedHome(name string) bool {
	for _, h := range sharedHomes {
		if len(name) == len(h) && hasPrefixFold(name, h) {
			return true
		}
	}
	return false
}

// sepRun returns how many path separators start s[i:], at most two
// (an escaped backslash).
func sepRun(s string, i int) int {
	n := 0
	for i+n < len(s) && n < 2 && isPathSep(s[i+n]) {
		n++
	}
	return n
}

// windowsNameEnd returns the end of a Windows user name starting at k:
// up to the next separator when only name characters (spaces included)
// lie before it, else up to the first character that ends a name.
func windowsNameEnd(s string, k int) int {
	end := k
	for end < len(s) && !isNameEnd(s[end]) {
		end++
	}
	if end < len(s) && s[end] == ' ' {
		for i := end; i < len(s) && i-k < 64; i++ {
			c := s[i]
			if isPathSep(c) {
				return i
			}
			if !(isWordByte(c) || c == ' ' || c == '.' || c == '-' || c == '\'' || c >= 0x80) {
				break
			}
		}
	}
	return end
}

// isPathAnchor reports whether a path may start after c in text.
func isPathAnchor(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', '(', '[', '<', '{', '=', ':', ',', ';', '|':
		return true
	}
	return false
}

// startsName reports whether c can start a user name: a letter, '_' or
// a non-ASCII byte, never a digit.
func startsName(c byte) bool { return isLetterByte(c) || c == '_' || c >= 0x80 }

// hasSuffixFold reports whether s ends with the lower-case ASCII suffix
// in any case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && hasPrefixFold(s[len(s)-len(suffix):], suffix)
}

func isPathSep(c byte) bool { return c == '/' || c == '\\' }

func isLetterByte(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isNameEnd reports whether c ends a path segment in text.
func isNameEnd(c byte) bool {
	switch c {
	case '/', '\\', ' ', '\t', '\r', '\n', ':', '"', '\'', '<', '>', '(', ')', '`':
		return true
	}
	return false
}

// replaceBuildRoots removes, from the paths of a stack trace, the
// directories a build happened in, keeping what follows them: the Go
// module cache (…/pkg/mod/), GOPATH and GOROOT sources (…/go/src/,
// …/libexec/src/), the Dart package cache (…/.pub-cache/hosted/<host>/),
// CI workspaces (/home/runner/work/<repo>/<repo>/, /builds/<group>/<project>/),
// Go's temporary build directories and Bazel's execroot.
func replaceBuildRoots(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '/' && c != '\\' && (c != ':' || i == 0) {
			continue
		}
		drive := false
		if c == ':' { // C:/…, C:\…: the path starts at the letter
			if !isLetterByte(s[i-1]) || i+1 >= len(s) || !isPathSep(s[i+1]) {
				continue
			}
			drive, i = true, i-1
		}
		if i > 0 && !isPathBoundary(s[i-1]) {
			if drive {
				i++
			}
			continue
		}
		end := i
		if drive {
			end = i + 2
		}
		for end < len(s) && !isPathEnd(s[end], drive) {
			end++
		}
		if cut := buildRootEnd(s[i:end]); cut > 0 {
			sc.mark(r, s[i:i+cut])
			b.WriteString(s[last:i])
			last = i + cut
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isPathBoundary reports whether a path may start after c.
func isPathBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', '=', '"', '\'', '`', '[', ':':
		return true
	}
	return false
}

// isPathEnd reports whether c ends a path; Windows paths may hold spaces
// (C:/Program Files/Go).
func isPathEnd(c byte, drive bool) bool {
	switch c {
	case '\t', '\r', '\n', ':', '"', '\'', '(', ')', '`':
		return true
	case ' ':
		return !drive
	}
	return false
}

// buildRootEnd returns how much of path is a build directory, or 0.
func buildRootEnd(path string) int {
	var segs [32][2]int // start and end of each segment
	n := 0
	for i := 0; i < len(path) && n < len(segs); {
		for i < len(path) && isPathSep(path[i]) {
			i++
		}
		j := i
		for j < len(path) && !isPathSep(path[j]) {
			j++
		}
		if j > i {
			segs[n] = [2]int{i, j}
			n++
		}
		i = j
	}
	seg := func(k int) string {
		if k >= n {
			return ""
		}
		return path[segs[k][0]:segs[k][1]]
	}
	is := func(k int, name string) bool {
		return k < n && segs[k][1]-segs[k][0] == len(name) && strings.EqualFold(seg(k), name)
	}
	for k := range n {
		keep := -1 // the last segment of the build directory
		switch {
		case is(k, "pkg") && is(k+1, "mod"), (is(k, "go") || is(k, "libexec")) && is(k+1, "src"):
			keep = k + 1
		case is(k, ".pub-cache") && is(k+1, "hosted"):
			keep = k + 2
		case is(k, "pub") && is(k+1, "cache") && is(k+2, "hosted"):
			keep = k + 3
		case is(k, "home") && is(k+1, "runner") && is(k+2, "work"):
			keep = k + 4
		case k == 0 && is(k, "builds"):
			keep = k + 2
		case strings.HasPrefix(seg(k), "go-build") && strings.HasPrefix(seg(k+1), "b"):
			keep = k + 1
		case is(k, "execroot"):
			keep = k + 1
		}
		if keep >= 0 && keep+1 < n { // something must remain
			return segs[keep+1][0]
		}
	}
	return 0
}

package sanitizer

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// replaceEmails replaces email addresses, also with "@" URL-encoded as
// "%40". The local part may hold Latin letters with accents; the domain
// needs two labels or more and a top-level label of ASCII letters.
func replaceEmails(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		at, atLen := nextAt(s, i)
		if at < 0 {
			break
		}
		from := at
		for from > last && at-from < maxLocalPart {
			c, size := utf8.DecodeLastRuneInString(s[last:from])
			if !isLocalRune(c) {
				break
			}
			from -= size
		}
		for from < at && s[from] == '.' {
			from++
		}
		to := domainEnd(s, at+atLen)
		if from == at || to < 0 {
			i = at + atLen
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(sc.mark(r, s[from:to]))
		last, i = to, to
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maxLocalPart and maxDomain bound an email's parts (RFC 5321), and the
// scanning around each '@'.
const (
	maxLocalPart = 64
	maxDomain    = 255
)

// nextAt finds the next '@' or "%40" at or after i.
func nextAt(s string, i int) (at, size int) {
	for ; i < len(s); i++ {
		switch {
		case s[i] == '@':
			return i, 1
		case s[i] == '%' && strings.HasPrefix(s[i+1:], "40"):
			return i, 3
		}
	}
	return -1, 0
}

// isLocalRune reports whether c may be part of an email's local part.
func isLocalRune(c rune) bool {
	if c < utf8.RuneSelf {
		return isWordByte(byte(c)) || c == '.' || c == '%' || c == '+' || c == '-'
	}
	return isLatinLetter(c)
}

// isLatinLetter reports whether c is a Latin letter with a diacritic
// (Latin-1 Supplement and Latin Extended-A and -B).
func isLatinLetter(c rune) bool {
	return 0xC0 <= c && c <= 0x24F && c != 0xD7 && c != 0xF7
}

// domainEnd returns where a domain starting at from ends, or -1 when
// there is no domain of two labels or more ending in a top-level label.
func domainEnd(s string, from int) int {
	end, i, labels := -1, from, 0
	for {
		start := i
		for i < len(s) && i-from < maxDomain {
			c, size := rune(s[i]), 1
			if c >= utf8.RuneSelf {
				c, size = utf8.DecodeRuneInString(s[i:])
				if !isLatinLetter(c) {
					break
				}
			} else if !isWordByte(byte(c)) && c != '-' || c == '_' {
				break
			}
			i += size
		}
		if i == start {
			return end
		}
		labels++
		if labels >= 2 && isTopLevel(s[start:i]) {
			end = i
		}
		if i+1 >= len(s) || s[i] != '.' || !isDomainStart(s[i+1]) {
			return end
		}
		i++
	}
}

func isDomainStart(c byte) bool { return c >= utf8.RuneSelf || isWordByte(c) && c != '_' }

// isTopLevel reports whether label can be a top-level domain: two ASCII
// letters or more, or an internationalized "xn--" label.
func isTopLevel(label string) bool {
	if strings.HasPrefix(label, "xn--") && len(label) > 4 {
		return true
	}
	if len(label) < 2 {
		return false
	}
	for i := 0; i < len(label); i++ {
		if c := label[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// replaceIPv4 replaces dotted quads of numbers 0 to 255 that stand on
// their own: not a longer run of dotted numbers (10.0.19045.3693, a
// Windows version) and not inside a word. Loopback and unspecified
// addresses identify nobody and stay.
func replaceIPv4(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && (isWordByte(s[i-1]) || s[i-1] == '.') {
			continue
		}
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
			j++
		}
		end := j
		if s[end-1] == '.' { // the end of a sentence
			end--
		}
		if j < len(s) && isWordByte(s[j]) || !isIPv4(s[i:end]) || sc.isVersion(s, i) {
			i = j
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(sc.mark(r, s[i:end]))
		last, i = end, j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isVersion reports whether the dotted quad at s[i:] is a version number
// rather than an address: after a product name and '/' (Chrome/120.0.0.0,
// FieldApp/4.2.0.17), after a word naming a version (Version=8.0.0.0,
// "appVersion": "4.2.0.17", build 4.2.0.17), on a line holding a user
// agent, or in an attribute whose key names a version or a user agent.
func (sc *scrubber) isVersion(s string, i int) bool {
	if i > 0 && s[i-1] == '/' {
		p := i - 1
		for p > 0 && i-p < 64 && (isWordByte(s[p-1]) || s[p-1] == '.' || s[p-1] == '-') {
			p--
		}
		if p < i-1 && isLetterByte(s[p]) && (p == 0 || isProductStart(s[p-1])) {
			return true // a product token: name/version
		}
	}
	// The word before, past a separator: Version=, "version": , build .
	p := i
	for p > 0 && i-p < 4 && strings.IndexByte(" \t=:\"'(", s[p-1]) >= 0 {
		p--
	}
	w := p
	for w > 0 && p-w < 32 && (isWordByte(s[w-1]) || s[w-1] == '-') {
		w--
	}
	if w < p && p < i && namesVersion(s[w:p]) {
		return true
	}
	if inUserAgent(lineBefore(s, i, 256)) {
		return true
	}
	return namesVersion(sc.path.name)
}

// inUserAgent reports whether the end of line is inside a user agent:
// after "Mozilla/" or a User-Agent key, with no other key between.
func inUserAgent(line string) bool {
	k := indexFold(line, "mozilla/")
	if a := indexFold(line, "agent"); a >= 0 && (k < 0 || a < k) && namesVersion(line[max(a-8, 0):a+5]) {
		k = a + 5
		for k < len(line) && k-a < 10 && strings.IndexByte(" \t:=\"'", line[k]) >= 0 {
			k++
		}
	}
	if k < 0 {
		return false
	}
	rest := line[k:]
	return !strings.Contains(rest, ": ") && !strings.Contains(rest, "=") && !strings.Contains(rest, `",`)
}

// versionWords name a version or a user agent; useragent stands for the
// two words run together.
var versionWords = map[string]bool{
	"version": true, "ver": true, "build": true, "release": true, "rev": true, "revision": true,
	"firmware": true, "fw": true, "useragent": true, "ua": true,
}

// namesVersion reports whether text, split into words as keys are, holds
// a word naming a version or a user agent.
func namesVersion(text string) bool {
	var kw keyWords
	kw.split(text)
	for i := range kw.n {
		if versionWords[string(kw.word(i))] || i+1 < kw.n && versionWords[string(kw.joined(i, i+1))] {
			return true
		}
	}
	return false
}

// isProductStart reports whether a product token (Chrome/120.0) may
// start after c.
func isProductStart(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '(', ';', ',', '"', '\'', '=', '[':
		return true
	}
	return false
}

// isIPv4 reports whether s is four dot-separated numbers of one to three
// digits, each at most 255, other than a loopback or unspecified address.
func isIPv4(s string) bool {
	var octets [4]int
	n := 0
	for part := range strings.SplitSeq(s, ".") {
		if n == 4 || len(part) == 0 || len(part) > 3 {
			return false
		}
		v := 0
		for k := 0; k < len(part); k++ {
			v = v*10 + int(part[k]-'0')
		}
		if v > 255 {
			return false
		}
		octets[n] = v
		n++
	}
	return n == 4 && octets[0] != 127 && octets != [4]int{}
}

// replaceIPv6 looks around each "::" and each colon for a run of hex
// digits, colons and dots (with an optional %zone) that holds "::" or
// seven colons, and replaces those that parse as IPv6 addresses other than
// loopback and unspecified. Starting from colons, found with a fast
// search, keeps long stack traces cheap.
func replaceIPv6(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for next := 0; next < len(s); {
		c := strings.IndexByte(s[next:], ':')
		if c < 0 {
			break
		}
		c += next
		i := c
		for i > last && isIPv6Byte(s[i-1]) {
			i--
		}
		j := c
		for j < len(s) && isIPv6Byte(s[j]) {
			j++
		}
		next = j
		if i > 0 && s[i-1] == '.' {
			continue
		}
		end := j
		if j < len(s) && s[j] == '%' { // zone: %wlan0, %eth0
			k := j + 1
			for k < len(s) && (isWordByte(s[k]) || s[k] == '-') {
				k++
			}
			if k > j+1 {
				end = k
			}
		}
		if i > 0 && isWordByte(s[i-1]) || s[i] == ':' && (i+1 >= j || s[i+1] != ':') {
			// addr:2001:db8::1, ip:fe80::1: the address starts after the
			// first colon.
			k := strings.IndexByte(s[i:j], ':')
			i += k + 1
			if i >= j {
				continue
			}
		}
		cand := strings.TrimRight(s[i:j], ".")
		if len(cand) < 3 || !strings.Contains(cand, "::") && strings.Count(cand, ":") != 7 || end < len(s) && isWordByte(s[end]) {
			continue
		}
		a, err := netip.ParseAddr(cand)
		if err != nil || !a.Is6() || a.IsLoopback() || a.IsUnspecified() {
			continue
		}
		if end == j {
			end = i + len(cand)
		}
		b.WriteString(s[last:i])
		b.WriteString(sc.mark(r, s[i:end]))
		last, next = end, max(end, next)
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isIPv6Byte(c byte) bool {
	return c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

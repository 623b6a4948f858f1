package sanitizer

import (
	"net/netip"
	"regexp"
	"strings"
)

// A rule finds one family of sensitive values in free text.
type rule struct {
	name   string
	marker string              // the typed marker, such as [EMAIL]
	need   feat                // features the text must have for the rule to fire
	maybe  func(s string) bool // finer test, run when need is met; nil: always
	apply  func(s string, r *rule, sc *scrubber) string
	re     *regexp.Regexp
}

// Rule names, in the order they run.
const (
	RulePrivateKey  = "private_key"
	RuleJWT         = "jwt"
	RuleBearer      = "bearer"
	RuleURLUserinfo = "url_userinfo"
	RuleCloudKey    = "cloud_key"
	RuleKVSecret    = "kv_secret"
	RuleEmail       = "email"
	RuleSSN         = "ssn"
	RuleCard        = "credit_card"
	RuleIPv6        = "ipv6"
	RuleIPv4        = "ipv4"
	RulePhone       = "phone"
	RuleHomePath    = "home_path"
	RuleKey         = "sensitive_key" // attribute keys, not free text
)

func defaultRules() []*rule {
	return []*rule{
		{name: RulePrivateKey, marker: "[PRIVATE_KEY]", need: fDash5, maybe: containsFold("-----begin"),
			re: regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)`), apply: replaceAll},
		{name: RuleJWT, marker: "[JWT]", need: fEyJ,
			re: regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), apply: replaceAll},
		{name: RuleBearer, marker: "[TOKEN]", need: fBearer,
			re: regexp.MustCompile(`(?i)\b((?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})`), apply: replaceGroup(2)},
		{name: RuleURLUserinfo, marker: "[REDACTED]", need: fScheme,
			re: regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"']*:)([^\s@/"']+)(@)`), apply: replaceGroup(2)},
		{name: RuleCloudKey, marker: "[CLOUD_KEY]", need: fCloud,
			re: regexp.MustCompile(`\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|gh[po]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{22,}|xox[abprs]-[0-9A-Za-z-]{10,}|sk_live_[0-9A-Za-z]{16,}|sk-[A-Za-z0-9_-]{20,}|glpat-[0-9A-Za-z_-]{20})\b`), apply: replaceAll},
		{name: RuleKVSecret, marker: "[REDACTED]", need: fColonEq, maybe: kvMaybe, apply: replaceKV,
			re: regexp.MustCompile(`(?i)(["']?)\b((?:[a-z0-9]+[_-])*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|auth|credentials?|ssn|cookie|jwt|client[_-]?secret)(?:[_-][a-z0-9]+)*)(["']?)(\s*[:=]\s*)("[^"]*"?|'[^']*'?|[^\s,;&}\])"']+)`)},
		{name: RuleEmail, marker: "[EMAIL]", need: fAt,
			re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), apply: replaceAll},
		{name: RuleIPv6, marker: "[IP]", need: fColon2, apply: replaceIPv6},
		{name: RuleIPv4, marker: "[IP]", need: fDigitDot, maybe: ipv4Maybe,
			re: regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`), apply: replaceIPv4},
		{name: RuleSSN, marker: "[SSN]", need: fDigits8, maybe: ssnMaybe,
			re: regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b`), apply: replaceAll},
		{name: RuleCard, marker: "[CARD]", need: fDigits13, maybe: digitRunAtLeast(13),
			re: regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`), apply: replaceCards},
		{name: RulePhone, marker: "[PHONE]", need: fDigits8, maybe: phoneMaybe,
			re: regexp.MustCompile(`(?:\+\d(?:[ .-]?\(?\d+\)?){3,14}|\(\d{3}\)\s?\d{3}[-. ]\d{4}\b|\b\d{3}[-. ]\d{3}[-. ]\d{4}\b)`), apply: replacePhones},
		{name: RuleHomePath, marker: "~", need: fHome,
			re: regexp.MustCompile(`(?i)(?:[A-Z]:[\\/]Users[\\/]|/Users/|/home/)[^/\\\s:"']+`), apply: replaceAll},
	}
}

// feat is a set of cheap facts about a text, found in one pass, that
// decide which rules can possibly fire.
type feat uint32

const (
	fAt       feat = 1 << iota // '@'
	fScheme                    // "://"
	fColon2                    // two or more ':'
	fColonEq                   // ':' or '='
	fDash5                     // "-----"
	fEyJ                       // "eyJ", the start of a JSON web token part
	fDigits                    // a digit
	fDigitDot                  // a digit, '.', a digit
	fSlash                     // '/' or '\'
	fBearer                    // "bearer " or "basic " in any case
	fCloud                     // the start of a known cloud key
	fDigits8                   // a number of 8 digits or more (single separators allowed)
	fDigits13                  // a number of 13 digits or more
	fHome                      // a home directory: "/home/", "/Users/", "\\Users"
)

// Byte classes for features.
const (
	cDigit   = 1 << iota // 0-9
	cSpecial             // bytes that start something worth a closer look
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit
	}
	for _, c := range []byte("@:=/\\-eEbBAgxs") {
		t[c] |= cSpecial
	}
	return t
}()

// cloudPrefixes start the cloud keys the cloud_key rule knows.
var cloudPrefixes = []string{"AKIA", "ASIA", "AIza", "ghp_", "gho_", "github_pat_", "glpat-", "xox", "sk-", "sk_live_"}

// features finds, in one pass, the cheap facts that decide which rules can
// fire on s.
func features(s string) feat {
	var f feat
	colons, dashes, num, lastDigit := 0, 0, 0, -3
	for i := 0; i < len(s); i++ {
		c := s[i]
		cl := byteClass[c]
		if cl == 0 {
			dashes = 0
			continue
		}
		if cl&cDigit != 0 {
			f |= fDigits
			// A number may hold one or two separators between digits:
			// 4111 1111, 555-2671, (646) 555.
			if gap := i - lastDigit; gap == 1 || lastDigit >= 0 && (gap == 2 && isNumSep(s[i-1]) || gap == 3 && isNumSep(s[i-1]) && isNumSep(s[i-2])) {
				num++
			} else {
				num = 1
			}
			lastDigit = i
			if num >= 8 {
				f |= fDigits8
				if num >= 13 {
					f |= fDigits13
				}
			}
			if i+2 < len(s) && s[i+1] == '.' && isDigit(s[i+2]) {
				f |= fDigitDot
			}
			dashes = 0
			continue
		}
		if c == '-' {
			if dashes++; dashes >= 5 {
				f |= fDash5
			}
			continue
		}
		dashes = 0
		rest := s[i+1:]
		switch c {
		case '@':
			f |= fAt
		case ':':
			f |= fColonEq
			if colons++; colons >= 2 {
				f |= fColon2
			}
			if strings.HasPrefix(rest, "//") {
				f |= fScheme
			}
		case '=':
			f |= fColonEq
		case '/', '\\':
			f |= fSlash
			if strings.HasPrefix(rest, "home/") || hasPrefixFold(rest, "users") {
				f |= fHome
			}
		case 'e':
			if strings.HasPrefix(rest, "yJ") {
				f |= fEyJ
			}
		case 'b', 'B':
			if hasPrefixFold(rest, "earer") || hasPrefixFold(rest, "asic ") {
				f |= fBearer
			}
		case 'A', 'g', 'x', 's':
			for _, p := range cloudPrefixes {
				if p[0] == c && strings.HasPrefix(rest, p[1:]) {
					f |= fCloud
					break
				}
			}
		}
	}
	return f
}

// containsFold reports whether s contains the lower-case ASCII sub in any
// case, without allocating.
func containsFold(sub string) func(string) bool {
	return func(s string) bool { return indexFold(s, sub) >= 0 }
}

func indexFold(s, sub string) int {
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == first && hasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}

// kvWords are the key words the kv_secret rule looks for, by first
// letter, so one pass over the text finds any of them.
var kvWords = [26][]string{
	0:         {"auth"},
	'c' - 'a': {"credential", "cookie"},
	'j' - 'a': {"jwt"},
	'k' - 'a': {"key"},
	'p' - 'a': {"pass", "pwd"},
	's' - 'a': {"secret", "ssn"},
	't' - 'a': {"token"},
}

func kvMaybe(s string) bool {
	if !strings.ContainsAny(s, ":=") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case
		if c < 'a' || c > 'z' {
			continue
		}
		for _, w := range kvWords[c-'a'] {
			if hasPrefixFold(s[i:], w) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word
// in any case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for j := 0; j < len(word); j++ {
		if s[j]|0x20 != word[j] {
			return false
		}
	}
	return true
}

func isNumSep(c byte) bool { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitsAt reports whether s[i:i+n] are all digits.
func digitsAt(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// ssnMaybe looks for ddd-dd-dddd or ddd dd dddd.
func ssnMaybe(s string) bool {
	for i := 3; i+8 <= len(s); i++ {
		if c := s[i]; (c == '-' || c == ' ') && s[i+3] == c && digitsAt(s, i-3, 3) && digitsAt(s, i+1, 2) && digitsAt(s, i+4, 4) {
			return true
		}
	}
	return false
}

// digitRunAtLeast reports whether s holds n digits in a row, single
// spaces or dashes allowed between them.
func digitRunAtLeast(n int) func(string) bool {
	return func(s string) bool {
		run := 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case isDigit(c):
				if run++; run >= n {
					return true
				}
			case (c == ' ' || c == '-') && run > 0 && i+1 < len(s) && isDigit(s[i+1]):
			default:
				run = 0
			}
		}
		return false
	}
}

// ipv4Maybe looks for four dot-separated numbers of one to three digits.
func ipv4Maybe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			continue
		}
		j, parts := i, 0
		for parts < 4 {
			k := j
			for k < len(s) && k-j < 4 && isDigit(s[k]) {
				k++
			}
			if k == j || k-j > 3 {
				break
			}
			parts++
			if parts == 4 {
				return true
			}
			if k >= len(s) || s[k] != '.' {
				break
			}
			j = k + 1
		}
	}
	return false
}

// phoneMaybe looks for "+d", "(ddd)" or ddd?ddd?dddd.
func phoneMaybe(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+':
			n := 0
			for k := i + 1; k < len(s) && k < i+24; k++ {
				if c := s[k]; isDigit(c) {
					n++
				} else if c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' {
					break
				}
			}
			if n >= 8 {
				return true
			}
		case '(':
			if digitsAt(s, i+1, 3) && i+4 < len(s) && s[i+4] == ')' {
				return true
			}
		case '-', '.', ' ':
			if digitsAt(s, i-3, 3) && digitsAt(s, i+1, 3) && i+4 < len(s) && (s[i+4] == s[i]) && digitsAt(s, i+5, 4) {
				return true
			}
		}
	}
	return false
}

func replaceAll(s string, r *rule, sc *scrubber) string {
	return r.re.ReplaceAllStringFunc(s, func(m string) string { return sc.mark(r, m) })
}

// replaceGroup replaces only submatch g, keeping the rest.
func replaceGroup(g int) func(string, *rule, *scrubber) string {
	return func(s string, r *rule, sc *scrubber) string {
		return replaceSubmatches(s, r.re, func(sm []string) string {
			var b strings.Builder
			for i := 1; i < len(sm); i++ {
				if i == g {
					b.WriteString(sc.mark(r, sm[i]))
				} else {
					b.WriteString(sm[i])
				}
			}
			return b.String()
		})
	}
}

// replaceSubmatches calls f with the submatches of every match and puts
// its result in place of the match.
func replaceSubmatches(s string, re *regexp.Regexp, f func(sm []string) string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		b.WriteString(s[last:m[0]])
		sm := make([]string, len(m)/2)
		for i := range sm {
			if m[2*i] >= 0 {
				sm[i] = s[m[2*i]:m[2*i+1]]
			}
		}
		b.WriteString(f(sm))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceKV keeps the key and separator of key=value pairs and replaces
// the value; a value that is already a marker is left alone.
func replaceKV(s string, r *rule, sc *scrubber) string {
	return replaceSubmatches(s, r.re, func(sm []string) string {
		key, val := sm[2], sm[5]
		if strings.HasPrefix(val, "[") || sc.keys.measurement(key) || strings.EqualFold(val, "bearer") || strings.EqualFold(val, "basic") {
			return sm[0]
		}
		q := ""
		if strings.HasPrefix(val, `"`) {
			q = `"`
		} else if strings.HasPrefix(val, "'") {
			q = "'"
		}
		return sm[1] + key + sm[3] + sm[4] + q + sc.mark(r, val) + q
	})
}

// replaceCards replaces Luhn-valid runs of 13 to 19 digits that start
// like a card number and do not sit inside a longer word or hex string.
func replaceCards(s string, r *rule, sc *scrubber) string {
	return replaceChecked(s, r, sc, func(m string, before byte, rest string) bool {
		after := first(rest)
		if isWordByte(before) || isWordByte(after) || before == '.' || after == '.' {
			return false
		}
		digits := make([]byte, 0, 19)
		for i := 0; i < len(m); i++ {
			if m[i] >= '0' && m[i] <= '9' {
				digits = append(digits, m[i])
			}
		}
		return len(digits) >= 13 && len(digits) <= 19 && digits[0] >= '2' && digits[0] <= '6' && luhn(digits)
	})
}

func replaceIPv4(s string, r *rule, sc *scrubber) string {
	return replaceChecked(s, r, sc, func(m string, before byte, rest string) bool {
		// 10.0.19045.3693 is a version, not an address; "at 10.0.0.1." is.
		if before == '.' || isWordByte(before) {
			return false
		}
		if len(rest) > 0 && isWordByte(rest[0]) {
			return false
		}
		return !(len(rest) > 1 && rest[0] == '.' && '0' <= rest[1] && rest[1] <= '9')
	})
}

// replaceIPv6 finds runs of hex digits, colons and dots (with an optional
// %zone) that hold "::" or seven colons, and replaces those that parse as
// IPv6 addresses. Scanning by hand keeps long stack traces, full of
// colons, cheap.
func replaceIPv6(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isIPv6Byte(s[i]) || (i > 0 && (isWordByte(s[i-1]) && !isIPv6Byte(s[i-1]))) {
			i++
			continue
		}
		j := i
		for j < len(s) && isIPv6Byte(s[j]) {
			j++
		}
		end := j
		if j < len(s) && s[j] == '%' { // zone: %wlan0, %eth0
			k := j + 1
			for k < len(s) && (isWordByte(s[k]) || s[k] == '.' || s[k] == '-') {
				k++
			}
			if k > j+1 {
				end = k
			}
		}
		cand := s[i:j]
		if (strings.Contains(cand, "::") || strings.Count(cand, ":") == 7) && (end == len(s) || !isWordByte(s[end])) {
			if a, err := netip.ParseAddr(strings.TrimRight(cand, ".")); err == nil && a.Is6() {
				b.WriteString(s[last:i])
				b.WriteString(sc.mark(r, s[i:end]))
				last = end
			}
		}
		i = max(end, i+1)
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

func replacePhones(s string, r *rule, sc *scrubber) string {
	return replaceChecked(s, r, sc, func(m string, before byte, rest string) bool {
		if isWordByte(before) || isWordByte(first(rest)) {
			return false
		}
		n := 0
		for i := 0; i < len(m); i++ {
			if m[i] >= '0' && m[i] <= '9' {
				n++
			}
		}
		if strings.HasPrefix(m, "+") {
			return n >= 8 && n <= 15
		}
		return n == 10
	})
}

// replaceChecked replaces the matches that ok accepts, given the byte
// before the match (0 at the start) and the text after it.
func replaceChecked(s string, r *rule, sc *scrubber, ok func(m string, before byte, rest string) bool) string {
	idx := r.re.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		var before byte
		if m[0] > 0 {
			before = s[m[0]-1]
		}
		if !ok(s[m[0]:m[1]], before, s[m[1]:]) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(sc.mark(r, s[m[0]:m[1]]))
		last = m[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func first(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

package sanitizer

import "strings"

// feat is a set of cheap facts about a text, found in one pass, that
// decide which rules can possibly fire.
type feat uint32

const (
	fAt       feat = 1 << iota // '@' or "%40"
	fScheme                    // "://"
	fColon2                    // two or more ':'
	fColonEq                   // ':' or '='
	fDash5                     // "-----"
	fJWT                       // "eyJ", how a JSON web token starts
	fDigitDot                  // a digit, '.', a digit
	fSlash                     // '/' or '\'
	fBearer                    // a word "bearer" or "basic", any case
	fCloud                     // a word starting like a known cloud key
	fDigits8                   // a number of 8 digits or more (short separators allowed)
	fDigits13                  // a number of 13 digits or more
	fHome                      // a home directory: "/home/", "/Users/", "\Users\"
	fNonASCII                  // a byte of 0x80 or more: the text may not be valid UTF-8
	fFlag                      // "--", "-u ", " -p", which start command-line flags
	fXML                       // "</", which closes an XML element
)

// Byte classes for features. Letters and '_' are class 0: the commonest
// bytes cost one table look-up.
const (
	cDigit = 1 << iota // 0-9
	cSep               // not a letter, digit or '_': a word may start after it
	cHigh              // 0x80 and above
	cPunct             // a byte some rule looks for
)

// cloudPrefixes start the keys the cloud_key rule knows.
var cloudPrefixes = []string{
	"AKIA", "ASIA", "ABIA", "ACCA", "AIza", "GOCSPX-", "ya29.", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
	"glpat-", "glptt-", "gldt-", "glrt-", "glsoat-", "glcbt-", "glimt-", "gloas-", "glft-", "glagent-", "GR1348941",
	"glsa_", "glc_", "xox", "xapp-", "hooks.slack.com/", "sk_", "rk_", "whsec_", "sk-", "gsk_", "xai-", "pplx-",
	"tvly-", "r8_", "hf_", "lsv2_", "npm_", "pypi-", "rubygems_", "dckr_pat_", "shp", "SG.", "key-", "SK", "sq0",
	"dop_", "doo_", "dor_", "hvs.", "hvb.", "hvr.", "dapi", "NRAK-", "sntrys_", "sntryu_", "sbp_", "lin_api_",
	"PMAK-", "ATATT3", "ATBB", "HRKU-", "AGE-SECRET-KEY-1",
}

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
			t[c] |= cSep
		}
		if c >= 0x80 {
			t[c] |= cHigh
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for _, c := range []byte("@%:=/\\-J<") {
		t[c] |= cPunct
	}
	return t
}()

// startPair marks, for each byte that may start a word worth a closer
// look, the second bytes that may follow it (by their low six bits, so a
// few more pass than need to).
var startPair = func() (t [256]uint64) {
	for _, p := range append([]string{"be", "Be", "BE", "bE", "ba", "Ba", "BA", "bA"}, cloudPrefixes...) {
		t[p[0]] |= 1 << (p[1] & 63)
	}
	return t
}()

// features finds, in one pass, the cheap facts that decide which rules can
// fire on s.
func features(s string) feat {
	var f feat
	if len(s) >= 2 && startPair[s[0]]&(1<<(s[1]&63)) != 0 {
		f |= wordFeatures(s)
	}
	colons, num, lastDigit := 0, 0, -4
	inWord := false // the number started inside a word: 0xc000123456, go1
	for i := 0; i < len(s); i++ {
		c := s[i]
		cl := byteClass[c]
		if cl == 0 {
			continue // a letter: the commonest byte, nothing to note
		}
		if cl == cDigit {
			// A number may hold one or two separators between digits:
			// 4111 1111, 555-2671, (646) 555.
			// Rules look only at numbers that do not start inside a word.
			gap := i - lastDigit
			switch {
			case gap == 1:
				num++
			case !inWord && (gap == 2 && isNumSep(s[i-1]) || gap == 3 && isNumSep(s[i-1]) && isNumSep(s[i-2])):
				num++
			default:
				num = 1
				inWord = i > 0 && byteClass[s[i-1]] == 0
			}
			lastDigit = i
			if num >= 8 && !inWord {
				f |= fDigits8
				if num >= 13 {
					f |= fDigits13
				}
			}
			if i+2 < len(s) && s[i+1] == '.' && isDigit(s[i+2]) {
				f |= fDigitDot
			}
			continue
		}
		if cl&cSep != 0 {
			if cl&cHigh != 0 {
				f |= fNonASCII
			}
			if i+2 < len(s) && startPair[s[i+1]]&(1<<(s[i+2]&63)) != 0 {
				f |= wordFeatures(s[i+1:])
			}
		}
		if cl&cPunct == 0 {
			continue
		}
		switch c {
		case 'J':
			if i >= 2 && s[i-2] == 'e' && s[i-1] == 'y' {
				f |= fJWT
			}
		case '-':
			if i+2 < len(s) && (s[i+1] == 'u' || s[i+1] == 'a') && s[i+2] == ' ' ||
				i+2 < len(s) && s[i+1] == 'p' && (i == 0 || s[i-1] == ' ') {
				f |= fFlag // curl -u name:password, mysql -p password, redis-cli -a password
			}
			if i+1 < len(s) && s[i+1] == '-' {
				f |= fFlag
				if strings.HasPrefix(s[i:], "-----") {
					f |= fDash5
				}
			}
		case '<':
			if i+1 < len(s) && s[i+1] == '/' {
				f |= fXML
			}
		case '@':
			f |= fAt
		case '%':
			if strings.HasPrefix(s[i+1:], "40") {
				f |= fAt
			}
		case ':':
			f |= fColonEq
			if colons++; colons >= 2 {
				f |= fColon2
			}
			if strings.HasPrefix(s[i+1:], "//") {
				f |= fScheme
			}
		case '=':
			f |= fColonEq
		case '/', '\\':
			f |= fSlash
			if rest := s[i+1:]; len(rest) >= 4 && (rest[0]|0x20 == 'h' || rest[0]|0x20 == 'u') &&
				(hasPrefixFold(rest, "home") || hasPrefixFold(rest, "users")) {
				f |= fHome
			}
		}
	}
	return f
}

// cloudByFirst holds the cloud key prefixes by their first byte.
var cloudByFirst = func() (t [256][]string) {
	for _, p := range cloudPrefixes {
		t[p[0]] = append(t[p[0]], p)
	}
	return t
}()

// wordFeatures looks at a word start for the features words carry.
func wordFeatures(w string) feat {
	if (w[0] == 'b' || w[0] == 'B') && (hasPrefixFold(w, "bearer") || hasPrefixFold(w, "basic")) {
		return fBearer
	}
	for _, p := range cloudByFirst[w[0]] {
		if strings.HasPrefix(w, p) {
			return fCloud
		}
	}
	return 0
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

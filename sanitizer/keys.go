package sanitizer

import (
	"strings"
	"sync"
	"unicode"
)

// defaultSensitiveWords are key words whose presence makes a key
// sensitive; defaultSensitivePairs are two adjacent words that do.
var (
	defaultSensitiveWords = []string{
		"password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "secrets",
		"token", "tokens", "auth", "authorization", "credential", "credentials", "creds",
		"ssn", "cookie", "cookies", "jwt", "apikey", "privatekey", "creditcard", "cvv", "cvc",
		"pin", "otp", "signature", "sessiontoken", "accesstoken", "refreshtoken", "clientsecret",
	}
	defaultSensitivePairs = [][2]string{
		{"api", "key"}, {"private", "key"}, {"credit", "card"}, {"card", "number"},
		{"access", "key"}, {"secret", "key"}, {"set", "cookie"},
	}
	// A key whose last word is one of these is a measurement, not a secret:
	// token_count, auth_latency_ms, cookie_bytes_total.
	measurementWords = map[string]bool{
		"count": true, "total": true, "ms": true, "bytes": true, "length": true, "len": true,
		"size": true, "type": true, "kind": true, "expires": true, "expiry": true, "ttl": true,
		"at": true, "id": false,
	}
	// Keys fieldlog itself relies on are never redacted.
	sdkKeys = []string{"install_id", "session_id", "user_id", "trace_id", "span_id", "breadcrumb_category", ScrubbedKey}
)

// keyMatcher decides whether an attribute key is sensitive. Results are
// cached: applications use few distinct keys.
type keyMatcher struct {
	words map[string]bool
	pairs [][2]string
	safe  map[string]bool // exact keys never redacted

	mu    sync.RWMutex
	cache map[string]bool
}

func newKeyMatcher(extra, safe []string) *keyMatcher {
	m := &keyMatcher{words: map[string]bool{}, pairs: defaultSensitivePairs, safe: map[string]bool{}, cache: map[string]bool{}}
	for _, w := range defaultSensitiveWords {
		m.words[w] = true
	}
	for _, k := range extra {
		ws := splitWords(k)
		switch len(ws) {
		case 0:
		case 1:
			m.words[ws[0]] = true
		default:
			m.words[strings.Join(ws, "")] = true
			for i := 0; i+1 < len(ws); i++ {
				m.pairs = append(m.pairs, [2]string{ws[i], ws[i+1]})
			}
		}
	}
	for _, k := range append(append([]string(nil), sdkKeys...), safe...) {
		m.safe[strings.ToLower(k)] = true
	}
	return m
}

const maxCachedKeys = 10000

func (m *keyMatcher) sensitive(key string) bool {
	m.mu.RLock()
	v, ok := m.cache[key]
	m.mu.RUnlock()
	if ok {
		return v
	}
	v = m.classify(key)
	m.mu.Lock()
	if len(m.cache) < maxCachedKeys {
		m.cache[key] = v
	}
	m.mu.Unlock()
	return v
}

// isSafe reports whether key is on the safe list, ignoring case.
func (m *keyMatcher) isSafe(key string) bool {
	if m.safe[key] {
		return true
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; 'A' <= c && c <= 'Z' {
			return m.safe[strings.ToLower(key)]
		}
	}
	return false
}

func (m *keyMatcher) classify(key string) bool {
	if m.safe[strings.ToLower(key)] {
		return false
	}
	ws := splitWords(key)
	if len(ws) == 0 {
		return false
	}
	if measurementWords[ws[len(ws)-1]] && len(ws) > 1 {
		return false
	}
	if m.words[strings.Join(ws, "")] {
		return true
	}
	for i, w := range ws {
		if m.words[w] {
			return true
		}
		if i+1 < len(ws) {
			for _, p := range m.pairs {
				if p[0] == w && p[1] == ws[i+1] {
					return true
				}
			}
		}
	}
	return false
}

// splitWords lower-cases key and splits it into words at separators and
// camel-case boundaries: "x-api-key", "apiKey" and "API_KEY" all give
// [api key] (with "x" first for the first).
func splitWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(key)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && len(cur) > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]) ||
			(i+1 < len(runes) && unicode.IsLower(runes[i+1]) && unicode.IsUpper(runes[i-1]))):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

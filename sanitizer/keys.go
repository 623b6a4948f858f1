package sanitizer

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
)

// defaultSensitiveWords make a key sensitive when they appear in it as a
// word, as two or more adjacent words run together ("api key", "credit
// card"), or as the whole key with separators removed ("APIKEY"). Words
// are lower case, without separators.
var defaultSensitiveWords = []string{
	"password", "passwd", "pwd", "pass", "passphrase", "passcode",
	"secret", "secrets", "clientsecret", "secretkey",
	"token", "tokens", "accesstoken", "refreshtoken", "idtoken", "authtoken", "sessiontoken", "apitoken",
	"auth", "authorization", "credential", "credentials", "creds",
	"ssn", "cookie", "cookies", "setcookie", "jwt",
	"apikey", "privatekey", "accesskey", "accountkey", "sharedaccesskey", "signingkey", "encryptionkey",
	"creditcard", "cardnumber", "ccnumber", "cvv", "cvv2", "cvc", "cvc2", "pin", "otp", "signature", "sig",
	"bearer", "socialsecuritynumber",
}

// sensitiveSuffixes make a single word sensitive when it ends with one of
// them: dbpassword, mytoken, appsecret.
var sensitiveSuffixes = []string{"password", "passwd", "token", "secret", "credential", "credentials"}

// measurementWords, as the last word of a key of two words or more, make
// it a measurement or a reference rather than a secret: token_count,
// auth_latency_ms, cookie_bytes_total, secret_fetch_ms, token_file.
var measurementWords = map[string]bool{
	"count": true, "total": true, "ms": true, "us": true, "ns": true, "seconds": true, "secs": true,
	"bytes": true, "length": true, "len": true, "size": true, "type": true, "kind": true,
	"expires": true, "expiry": true, "ttl": true, "at": true, "rotations": true, "failures": true,
	"errors": true, "enabled": true, "required": true, "present": true, "latency": true, "duration": true,
	"verified": true, "valid": true,
	// What names a secret rather than holds it: token_file, secret_name,
	// auth_url, api_key_id.
	"file": true, "path": true, "dir": true, "directory": true, "name": true, "url": true, "uri": true,
	"endpoint": true, "id": true, "ids": true, "policy": true, "ref": true, "arn": true,
}

// tokenCounters are the words that, before a final "tokens", name a
// language-model usage counter (max_tokens, prompt_tokens), not secrets.
var tokenCounters = map[string]bool{
	"max": true, "min": true, "prompt": true, "completion": true, "input": true, "output": true,
	"total": true, "cached": true, "reasoning": true, "num": true, "used": true, "remaining": true,
}

// sdkKeys are the keys fieldlog itself relies on; they are never redacted.
var sdkKeys = []string{"install_id", "session_id", "user_id", "trace_id", "span_id", "active_run", logrecord.CategoryKey, ScrubbedKey}

// maxKeyWords bounds the words of a key that are looked at; a longer key
// is classified by its first words.
const maxKeyWords = 12

// keyMatcher decides whether an attribute key is sensitive. It is
// immutable after construction apart from its cache.
type keyMatcher struct {
	words map[string]bool
	safe  map[string]bool // lower-case keys never redacted
	// starts holds the first three letters of every sensitive word, as a
	// bit set over letter trigrams: a key whose letters hold none of them
	// cannot be sensitive, which a cheap scan finds out. noFilter is set
	// when a word is too short to have three letters.
	starts   [(26*26*26 + 63) / 64]uint64
	noFilter bool

	// clean reports whether the free-text rules leave a key as it is.
	clean func(key string) bool

	// cache maps attribute keys to what is known of them. It is replaced,
	// never changed, so that reading it needs no lock.
	cache atomic.Pointer[map[string]keyInfo]
	mu    sync.Mutex // serializes cache writers
}

// keyInfo is what is known of an attribute key.
type keyInfo uint8

const (
	keySensitive  keyInfo = 1 << iota // its value is redacted
	keySafe                           // its value is never scrubbed
	keyClean                          // no free-text rule changes the key itself
	keyNameField                      // names another field's content: name, key, header
	keyValueField                     // holds the content another field names: value
)

func newKeyMatcher(extra, safe []string) *keyMatcher {
	m := &keyMatcher{words: map[string]bool{}, safe: map[string]bool{}}
	for _, w := range defaultSensitiveWords {
		m.words[w] = true
	}
	for _, k := range extra {
		var kw keyWords
		kw.split(k)
		if kw.n > 0 {
			m.words[string(kw.buf[kw.span[0].from:kw.span[kw.n-1].to])] = true
		}
	}
	for w := range m.words {
		m.addStart(w)
	}
	for _, w := range sensitiveSuffixes {
		m.addStart(w)
	}
	for _, k := range sdkKeys {
		m.safe[strings.ToLower(k)] = true
	}
	for _, k := range safe {
		m.safe[strings.ToLower(k)] = true
	}
	m.cache.Store(&map[string]keyInfo{})
	return m
}

// addStart notes the first three letters of a sensitive word.
func (m *keyMatcher) addStart(w string) {
	var t [3]int
	n := 0
	for i := 0; i < len(w) && n < 3; i++ {
		if c := w[i]; 'a' <= c && c <= 'z' {
			t[n] = int(c - 'a')
			n++
		} else if c >= utf8.RuneSelf {
			m.noFilter = true
			return
		}
	}
	if n < 3 {
		m.noFilter = true
		return
	}
	k := (t[0]*26+t[1])*26 + t[2]
	m.starts[k/64] |= 1 << (k % 64)
}

// mayBeSensitive reports whether the letters of prev and key, run
// together and in lower case, hold the start of a sensitive word. When it
// says no, the key is not sensitive; when yes, classify decides.
func (m *keyMatcher) mayBeSensitive(prev, key string) bool {
	if m.noFilter {
		return true
	}
	a, b, n := 0, 0, 0 // the last two letters, and how many letters so far
	for _, part := range [2]string{prev, key} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c >= utf8.RuneSelf {
				return true // a non-ASCII letter may lower-case to an ASCII one
			}
			c |= 0x20
			if c < 'a' || c > 'z' {
				continue
			}
			x := int(c - 'a')
			if n++; n >= 3 {
				if k := (a*26+b)*26 + x; m.starts[k/64]&(1<<(k%64)) != 0 {
					return true
				}
			}
			a, b = b, x
		}
	}
	return false
}

// maxCachedKeys bounds the cache: applications use few distinct keys, but
// keys built from data must not grow it without limit.
const maxCachedKeys = 1024

// info returns what is known of an attribute key, from the cache when it
// is there.
func (m *keyMatcher) info(key string) keyInfo {
	if v, ok := (*m.cache.Load())[key]; ok {
		return v
	}
	var v keyInfo
	switch {
	case m.isSafe(key):
		v = keySafe
	case m.classify(key):
		v = keySensitive
	}
	if m.clean == nil || m.clean(key) {
		v |= keyClean
	}
	if v&keySafe == 0 {
		v |= fieldRole(key)
	}
	if len(key) <= 64 {
		m.mu.Lock()
		if old := *m.cache.Load(); len(old) < maxCachedKeys {
			next := make(map[string]keyInfo, len(old)+1)
			for k, x := range old {
				next[k] = x
			}
			next[strings.Clone(key)] = v
			m.cache.Store(&next)
		}
		m.mu.Unlock()
	}
	return v
}

// sensitive reports whether the value of an attribute with this key must
// be redacted. Safe keys never are.
func (m *keyMatcher) sensitive(key string) bool { return m.info(key)&keySensitive != 0 }

// safe reports whether the value of an attribute with this key is never
// scrubbed.
func (m *keyMatcher) safeKey(key string) bool { return m.info(key)&keySafe != 0 }

// isSafe reports whether key is on the safe list, ignoring case.
func (m *keyMatcher) isSafe(key string) bool {
	if len(key) > 64 {
		return false
	}
	var buf [64]byte
	b := buf[:0]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return m.safe[string(b)] // the conversion does not allocate: it is only a map key
}

// classify reports whether key names a secret, without allocating for
// keys of ordinary length.
func (m *keyMatcher) classify(key string) bool {
	if !m.mayBeSensitive("", key) {
		return false
	}
	var kw keyWords
	kw.split(key)
	n := kw.n
	if n == 0 {
		return false
	}
	if n > 1 {
		last := kw.word(n - 1)
		if measurementWords[string(last)] || string(last) == "tokens" && tokenCounters[string(kw.word(n-2))] {
			return false
		}
	}
	for i := range n {
		w := kw.word(i)
		if m.words[string(w)] {
			return true
		}
		for _, suf := range sensitiveSuffixes {
			if len(w) > len(suf) && string(w[len(w)-len(suf):]) == suf {
				return true
			}
		}
		// Adjacent words run together: api+key, credit+card+number. The
		// words sit next to each other in buf, so a run is one slice.
		for j := i + 1; j < n; j++ {
			if m.words[string(kw.joined(i, j))] {
				return true
			}
		}
	}
	return false
}

// keyWords holds a key split into lower-case words, each word's letters
// stored back to back in buf so that a run of words is one slice.
type keyWords struct {
	buf  [256]byte
	len  int
	span [maxKeyWords]struct{ from, to int }
	n    int
}

func (kw *keyWords) word(i int) []byte { return kw.buf[kw.span[i].from:kw.span[i].to] }

// joined returns words i through j run together.
func (kw *keyWords) joined(i, j int) []byte { return kw.buf[kw.span[i].from:kw.span[j].to] }

// split lower-cases key and splits it into words at separators and
// camel-case boundaries: "x-api-key", "xApiKey" and "X_API_KEY" all give
// [x api key]. Words past maxKeyWords or past the buffer are ignored.
func (kw *keyWords) split(key string) {
	start := 0
	flush := func() {
		if kw.len > start && kw.n < maxKeyWords {
			kw.span[kw.n] = struct{ from, to int }{start, kw.len}
			kw.n++
		}
		start = kw.len
	}
	prev := rune(-1)
	for i := 0; i < len(key); {
		r, size := rune(key[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(key[i:])
		}
		i += size
		if !isLetter(r) && !isDigitRune(r) {
			flush()
			prev = -1
			continue
		}
		if prev >= 0 && isUpper(r) {
			next := rune(-1)
			if i < len(key) {
				next, _ = utf8.DecodeRuneInString(key[i:])
			}
			// fooBar, foo2Bar, and the last capital of an acronym before a
			// word: APIKey → api key.
			if isLower(prev) || isDigitRune(prev) || isUpper(prev) && isLower(next) {
				flush()
			}
		}
		lr := toLower(r)
		if kw.len+utf8.RuneLen(lr) > len(kw.buf) || kw.n == maxKeyWords {
			break
		}
		if lr < utf8.RuneSelf {
			kw.buf[kw.len] = byte(lr)
			kw.len++
		} else {
			kw.len += utf8.EncodeRune(kw.buf[kw.len:], lr)
		}
		prev = r
	}
	flush()
}

// textKeySensitive reports whether a key found in free text before '='
// or ':' is sensitive. prev is the word before it, if any, for keys
// written as two words: "API key", "secret key".
func (m *keyMatcher) textKeySensitive(key, prev string) bool {
	if !m.mayBeSensitive(prev, key) || m.isSafe(key) {
		return false
	}
	if m.classify(key) {
		return true
	}
	if prev == "" || len(prev)+len(key) > 64 {
		return false
	}
	var buf [64]byte
	b := buf[:0]
	for _, part := range [2]string{prev, key} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			switch {
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			case 'a' <= c && c <= 'z':
				b = append(b, c)
			default:
				return false
			}
		}
	}
	return m.words[string(b)]
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

func isDigitRune(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

func isUpper(r rune) bool {
	if r < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z'
	}
	return unicode.IsUpper(r)
}

func isLower(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.IsLower(r)
}

func toLower(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

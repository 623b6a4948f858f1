package sanitizer

import "strings"

// sourceExts are file extensions that make "token.go:42" a file and line,
// not a pair.
var sourceExts = map[string]bool{
	"go": true, "dart": true, "py": true, "js": true, "mjs": true, "ts": true, "jsx": true, "tsx": true,
	"java": true, "kt": true, "kts": true, "swift": true, "rs": true, "c": true, "h": true, "cc": true,
	"cpp": true, "hpp": true, "m": true, "mm": true, "rb": true, "php": true, "cs": true, "scala": true,
	"ex": true, "exs": true, "erl": true, "lua": true, "sh": true, "s": true, "yaml": true, "yml": true,
	"json": true, "toml": true, "proto": true, "sql": true, "html": true, "vue": true, "tmpl": true,
}

// replaceKV finds a sensitive key followed by '=' or ':' in free text
// (password=…, "token": "…", ?sig=…&, Authorization: Digest …, Cookie:
// a=1; b=2) and replaces the value. The key is judged by the same rules
// as attribute keys: case, separators and camel case do not matter.
func replaceKV(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	colon, equals := -1, -1 // the next ':' and '=' at or after i, found with a fast search
	for i := 0; i < len(s); i++ {
		if colon < i {
			colon = indexFrom(s, i, ':')
		}
		if equals < i {
			equals = indexFrom(s, i, '=')
		}
		if i = min(colon, equals); i == len(s) {
			break
		}
		c := s[i]
		sepLen := 1
		if i+1 < len(s) {
			n := s[i+1]
			switch {
			case c == '=' && n == '>' && isQuoteAt(s, skipSpaces(s, i+2)):
				sepLen = 2 // 'password' => 'x', :password => "x"
			case n == '=' || n == '>' || n == ':' || c == ':' && n == '/' && strings.HasPrefix(s[i+1:], "//"):
				// ==, =>, ::, :=, :// are operators and schemes, not pairs.
				i++
				continue
			}
		}
		if i > 0 && strings.IndexByte("=!<>:", s[i-1]) >= 0 {
			continue
		}
		key, prev, quote, ok := kvKey(s, i)
		if !ok || !sc.keys.textKeySensitive(key, prev) {
			continue
		}
		if c == ':' && i+1 < len(s) && isDigit(s[i+1]) && isSourceFile(key) {
			continue // token.go:42
		}
		var buf [8][2]int
		spans, next := kvSpans(buf[:0], s, i+sepLen, headerKind(key))
		if len(spans) == 1 && isPlaceholder(s[spans[0][0]:spans[0][1]]) {
			spans = spans[:0] // password: ********, token: expired
		}
		for _, sp := range spans {
			from, to := sp[0], sp[1]
			b.WriteString(s[last:from])
			if m := sc.mark(r, s[from:to]); quote != "" && !isQuote(s[from-1]) && len(spans) == 1 {
				// "pin": 1234 or "auth": {…} in JSON: the marker is a string,
				// so that the JSON stays valid.
				b.WriteString(quote + m + quote)
			} else {
				b.WriteString(m)
			}
			last = to
		}
		i = max(next, i+1) - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceXMLElements replaces the content of XML elements whose name is
// sensitive: <password>…</password>, <wsse:Password Type="…">…</wsse:Password>.
func replaceXMLElements(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last, gt := 0, -1 // gt: the next '>'
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '<')
		if k < 0 {
			break
		}
		i += k + 1
		j := i
		for j < len(s) && (isKeyByte(s[j]) || s[j] == ':') {
			j++
		}
		name := s[i:j]
		if gt < j {
			if gt = indexFrom(s, j, '>'); gt == len(s) {
				break // no tag ends after this one
			}
		}
		if name == "" || s[gt-1] == '/' || indexFrom(s, j, '<') < gt {
			continue
		}
		local := name[strings.LastIndexByte(name, ':')+1:]
		if !sc.keys.textKeySensitive(local, "") {
			continue
		}
		from := gt + 1
		to := indexFrom(s, from, '<')
		if to == len(s) || !strings.HasPrefix(s[to:], "</"+name) || from == to || isWholeMarker(s[from:to]) || isPlaceholder(s[from:to]) {
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

// placeholders are values of a sensitive key in text that say something
// about the secret without being one.
var placeholders = []string{
	"ok", "true", "false", "yes", "no", "null", "nil", "none", "empty", "set", "unset", "missing", "present",
	"absent", "required", "optional", "valid", "invalid", "expired", "revoked", "enabled", "disabled",
	"redacted", "hidden", "masked", "n/a", "undefined", "changed", "rotated",
}

// isPlaceholder reports whether v stands for a secret instead of being
// one: a word such as "expired" or "none", a mask (********, xxxx), or a
// reference to where the secret is kept (${DB_PASSWORD}, $TOKEN,
// {{ .Values.password }}).
func isPlaceholder(v string) bool {
	if v == "" {
		return false
	}
	for _, p := range placeholders {
		if len(v) == len(p) && hasPrefixFold(v, p) {
			return true
		}
	}
	switch {
	case strings.Trim(v, "*xX•·.") == "" && len(v) >= 3,
		strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}"),
		strings.HasPrefix(v, "{{") && strings.HasSuffix(v, "}}"),
		strings.HasPrefix(v, "$") && isEnvName(v[1:]),
		strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") && !strings.ContainsAny(v[1:len(v)-1], "<> "):
		return true
	}
	return false
}

// isEnvName reports whether s is an environment variable's name:
// upper-case letters, digits and '_'.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return s != ""
}

// skipSpaces returns the index of the first byte at or after i that is
// not a space or a tab.
func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isKeyByte(c byte) bool { return isWordByte(c) || c == '-' || c == '.' }

// kvKey returns the key before the separator at sep: "password" in
// password=x, "api_key" in {"api_key": "x"}, "key" (with "API" before it)
// in API key: x. quote is the quote around a key in double quotes, as in
// JSON: `"`, or `\"` in JSON escaped inside a string. ok is
// false when there is no key, or it ends a path (auth/token.go:42).
func kvKey(s string, sep int) (key, prev, quote string, ok bool) {
	j := sep
	for j > 0 && sep-j < 4 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		q := j - 1
		j--
		for j > 0 && q-j < 7 && s[j-1] == '\\' { // escaped once or more: \", \\\"
			j--
		}
		if s[q] == '"' {
			quote = s[j : q+1]
		}
	}
	k := j
	for k > 0 && j-k < 64 && isKeyByte(s[k-1]) {
		k--
	}
	if k == j {
		return "", "", "", false
	}
	if k > 0 && (s[k-1] == '/' || s[k-1] == '\\') {
		return "", "", "", false
	}
	for k < j && (s[k] == '.' || s[k] == '-') {
		k++
	}
	for j > k && (s[j-1] == '.' || s[j-1] == '-') {
		j--
	}
	key = s[k:j]
	// One plain word before, separated by a space: API key, secret key.
	if k >= 2 && s[k-1] == ' ' {
		p := k - 1
		for p > 0 && k-1-p < 32 && isWordByte(s[p-1]) {
			p--
		}
		prev = s[p : k-1]
	}
	return key, prev, quote, key != ""
}

func isQuote(c byte) bool { return c == '"' || c == '\'' }

// isQuoteAt reports whether s[i] is a quote.
func isQuoteAt(s string, i int) bool { return i < len(s) && isQuote(s[i]) }

// isSourceFile reports whether key ends with a source file extension.
func isSourceFile(key string) bool {
	dot := strings.LastIndexByte(key, '.')
	return dot > 0 && sourceExts[strings.ToLower(key[dot+1:])]
}

// kvSpans appends to spans what of the value after a separator at from
// is to be replaced, and returns where the value ends. Most values are
// one span (see kvValue); an unquoted cookie header gives one per cookie.
func kvSpans(spans [][2]int, s string, from int, kind valueKind) ([][2]int, int) {
	for from < len(s) && (s[from] == ' ' || s[from] == '\t') {
		from++
	}
	if kind == cookieValue && from < len(s) && !isQuote(s[from]) && s[from] != '\\' && s[from] != '{' && s[from] != '[' {
		return cookieSpans(spans, s, from)
	}
	vFrom, vTo := kvValue(s, from, kind == authValue)
	if vFrom < vTo && !isMarker(s[vFrom:vTo]) {
		spans = append(spans, [2]int{vFrom, vTo})
	}
	return spans, vTo
}

// kvValue returns the span of the value that starts at from: the inside
// of a quoted string, a whole bracketed object or list, the credentials
// after an authorization scheme (see authSpan), or a run up to a space or
// a delimiter. auth reads an unquoted value as an Authorization header's.
func kvValue(s string, from int, auth bool) (int, int) {
	if from >= len(s) {
		return from, from
	}
	switch c := s[from]; {
	case c == '\\': // an escaped quote: JSON inside a JSON string, maybe more than once
		q := from
		for q < len(s) && q-from < 7 && s[q] == '\\' {
			q++
		}
		if q >= len(s) || s[q] != '"' {
			break
		}
		quote := s[from : q+1]
		start := q + 1
		end := strings.Index(s[start:], quote)
		if end < 0 {
			return start, len(s)
		}
		return start, start + end
	case c == '"' || c == '\'':
		return from + 1, quotedEnd(s, from)
	case c == '{' || c == '[':
		if isMarker(s[from:]) {
			return from, from
		}
		return from, matchBracket(s, from)
	case c == '$' && strings.HasPrefix(s[from:], "${"): // a reference: ${DB_PASSWORD}
		if end := strings.IndexByte(s[from:], '}'); end > 0 {
			return from, from + end + 1
		}
	}
	if isMarker(s[from:]) {
		return from, from
	}
	end := valueEnd(s, from)
	if auth || end < len(s) && s[end] == ' ' && isAuthScheme(s[from:end]) {
		return authSpan(s, from)
	}
	return from, end
}

// quotedEnd returns the index of the quote closing the one at from, or
// len(s).
func quotedEnd(s string, from int) int {
	c := s[from]
	for k := from + 1; k < len(s); k++ {
		if s[k] == '\\' && c == '"' {
			k++
			continue
		}
		if s[k] == c {
			return k
		}
	}
	return len(s)
}

// valueEnd returns the end of an unquoted value starting at from.
func valueEnd(s string, from int) int {
	k := from
	for ; k < len(s); k++ {
		c := s[k]
		if c == '\r' || c == '\n' || c == '"' || c == '\'' {
			break
		}
		if c == '\\' && k+1 < len(s) && (s[k+1] == '"' || s[k+1] == 'n' || s[k+1] == 'r') {
			break
		}
		if c == ' ' || c == '\t' || strings.IndexByte(",;<>)]}", c) >= 0 || c == '&' && startsPair(s[k+1:]) {
			break
		}
	}
	return k
}

// startsPair reports whether s starts with name=, as the next parameter
// of a query string does after '&'.
func startsPair(s string) bool {
	k := 0
	for k < len(s) && (isWordByte(s[k]) || s[k] == '.' || s[k] == '-' || s[k] == '[' || s[k] == ']') {
		k++
	}
	return k > 0 && k < len(s) && s[k] == '='
}

// matchBracket returns the index after the bracket that closes the one at
// from, or len(s) when it is not closed.
func matchBracket(s string, from int) int {
	depth := 0
	var quote byte
	for k := from; k < len(s); k++ {
		c := s[k]
		switch {
		case quote != 0:
			if c == '\\' {
				k++
			} else if c == quote {
				quote = 0
			}
		case c == '"':
			quote = c
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return k + 1
			}
		}
	}
	return len(s)
}

// containsFoldASCII reports whether s contains the lower-case word in any
// case.
func containsFoldASCII(s, word string) bool { return indexFold(s, word) >= 0 }

// indexFrom returns the index of the first c in s at or after from, or
// len(s).
func indexFrom(s string, from int, c byte) int {
	if k := strings.IndexByte(s[from:], c); k >= 0 {
		return from + k
	}
	return len(s)
}

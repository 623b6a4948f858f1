package sanitizer

import "strings"

// valueKind tells how the value after a sensitive key is read.
type valueKind uint8

const (
	plainValue  valueKind = iota
	authValue             // an Authorization header: scheme and credentials
	cookieValue           // a Cookie or Set-Cookie header: name=value pairs
)

// headerKind returns how the value after key is read.
func headerKind(key string) valueKind {
	switch {
	case containsFoldASCII(key, "cookie"):
		return cookieValue
	case containsFoldASCII(key, "authoriz"):
		return authValue
	}
	return plainValue
}

// authSchemes are the words that can stand before credentials in an
// Authorization value; the scheme is kept and the credentials replaced.
var authSchemes = []string{
	"bearer", "basic", "digest", "token", "negotiate", "ntlm", "bot", "dpop", "apikey", "api-key", "sso-key",
	"hoba", "mutual", "vapid", "hawk", "oauth", "aws4-hmac-sha256", "sharedkey", "sharedkeylite", "ssws",
	"scram-sha-1", "scram-sha-256", "gssapi", "kerberos", "key", "sig", "signature", "privatetoken", "otp",
}

func isAuthScheme(w string) bool {
	for _, a := range authSchemes {
		if len(w) == len(a) && hasPrefixFold(w, a) {
			return true
		}
	}
	return false
}

// authSpan returns the span of the credentials in an unquoted
// Authorization value starting at from. A known scheme is kept: Token
// abc → abc, Digest username="bob", response="…" → the whole parameter
// list. An unknown word followed by credentials or parameters is a
// scheme too (MyScheme c2VjcmV0 → c2VjcmV0); any other value is one word
// (Authorization: denied by policy → denied).
func authSpan(s string, from int) (int, int) {
	w := from
	for w < len(s) && isTokenByte(s[w]) {
		w++
	}
	if w == from || w+1 >= len(s) || s[w] != ' ' || s[w+1] == ' ' {
		return from, valueEnd(s, from)
	}
	next := w + 1
	if isMarker(s[next:]) {
		return next, next // redacted before
	}
	if end, ok := paramsEnd(s, next); ok {
		return next, end
	}
	end := credentialEnd(s, next)
	switch {
	case isAuthScheme(s[from:w]):
		return next, end
	case looksLikeCredential(s[next:end]):
		if looksLikeCredential(s[from:w]) && !isSchemeName(s[from:w]) {
			return from, end // two credential-like words: both go
		}
		return next, end
	}
	return from, valueEnd(s, from)
}

// isSchemeName reports whether w reads as the name of an authorization
// scheme: letters, digits and '-', starting with a letter, at most 24
// long, without a run of digits typical of credentials.
func isSchemeName(w string) bool {
	if w == "" || len(w) > 24 || !isLetterByte(w[0]) {
		return false
	}
	digits := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case isDigit(c):
			if digits++; digits > 3 {
				return false
			}
		case isLetterByte(c) || c == '-':
		default:
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may be part of an HTTP token (RFC 9110).
func isTokenByte(c byte) bool {
	return isWordByte(c) || strings.IndexByte("!#$%&'*+-.^`|~", c) >= 0
}

// credentialEnd returns the end of one credential starting at from: a
// run up to a space, a quote or a delimiter.
func credentialEnd(s string, from int) int {
	k := from
	for k < len(s) {
		c := s[k]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == ',' || c == ';' ||
			c == '\\' && k+1 < len(s) && (s[k+1] == '"' || s[k+1] == 'n' || s[k+1] == 'r') {
			break
		}
		k++
	}
	return k
}

// paramsEnd reports whether an auth-parameter list (name=value or
// name="value", joined by commas) starts at from, and where it ends.
func paramsEnd(s string, from int) (int, bool) {
	k := from
	for {
		name := k
		for k < len(s) && isTokenByte(s[k]) {
			k++
		}
		if k == name || k+1 >= len(s) || s[k] != '=' || s[k+1] == '=' || s[k+1] == ' ' {
			break
		}
		k++
		switch {
		case s[k] == '"':
			k = min(quotedEnd(s, k)+1, len(s))
		case s[k] == '\\' && k+1 < len(s) && s[k+1] == '"': // escaped, inside a JSON string
			if e := strings.Index(s[k+2:], `\"`); e >= 0 {
				k += 2 + e + 2
			} else {
				k = len(s)
			}
		default: // a token: SignedHeaders=host;x-amz-date
			for k < len(s) && strings.IndexByte(" \t\r\n,\"'", s[k]) < 0 && (s[k] != '\\' || k+1 >= len(s) || s[k+1] != '"' && s[k+1] != 'n') {
				k++
			}
		}
		end := k
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k >= len(s) || s[k] != ',' {
			return end, true
		}
		k++
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k >= len(s) || !isTokenByte(s[k]) {
			return end, true
		}
	}
	return 0, false
}

// cookieAttributes are Set-Cookie attributes: their values are kept.
var cookieAttributes = []string{"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority", "partitioned", "version", "comment"}

func isCookieAttribute(name string) bool {
	for _, a := range cookieAttributes {
		if len(name) == len(a) && hasPrefixFold(name, a) {
			return true
		}
	}
	return false
}

// cookieSpans appends to spans the value of every cookie in an unquoted
// Cookie or Set-Cookie value starting at from (a=1; sid=abc), keeping
// names and Set-Cookie attributes, and returns where the header ends. A
// value without a name is a credential as a whole.
func cookieSpans(spans [][2]int, s string, from int) ([][2]int, int) {
	k := from
	for k < len(s) {
		name := k
		for k < len(s) && !isCookieDelim(s[k]) && s[k] != '=' {
			k++
		}
		switch {
		case k < len(s) && s[k] == '=':
			v := k + 1
			attr := isCookieAttribute(s[name:k])
			switch {
			case attr: // Path=/, Expires=Wed, 21 Oct 2026 07:28:00 GMT
				k = v
				for k < len(s) && s[k] != ';' && s[k] != '\r' && s[k] != '\n' && s[k] != '"' &&
					(s[k] != '\\' || k+1 >= len(s) || s[k+1] != 'n' && s[k+1] != '"') {
					k++
				}
			case v < len(s) && s[v] == '"':
				k = min(quotedEnd(s, v)+1, len(s))
				if v+1 < k-1 && !isMarker(s[v+1:]) {
					spans = append(spans, [2]int{v + 1, k - 1})
				}
			default:
				if isMarker(s[v:]) {
					k = v + strings.IndexByte(s[v:], ']') + 1
					break
				}
				k = v
				for k < len(s) && !isCookieDelim(s[k]) {
					k++
				}
				if k > v {
					spans = append(spans, [2]int{v, k})
				}
			}
		case k > name && name == from && !isCookieAttribute(s[name:k]) && !isMarker(s[name:]):
			spans = append(spans, [2]int{name, k}) // Cookie: abc123
		case isMarker(s[name:]):
			k = name + strings.IndexByte(s[name:], ']') + 1
		}
		// Another pair follows a ';'; anything else ends the header.
		j := k
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || s[j] != ';' {
			return spans, k
		}
		j++
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || isCookieDelim(s[j]) {
			return spans, j
		}
		k = j
	}
	return spans, k
}

// isCookieDelim reports whether c ends a cookie name or value.
func isCookieDelim(c byte) bool {
	switch c {
	case ';', ' ', '\t', '\r', '\n', '"', '\'', ',', '\\':
		return true
	}
	return false
}

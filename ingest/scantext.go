package ingest

import (
	"fmt"
	"unicode/utf8"
)

// The scanner's leaves: strings, checked as UTF-8 (in python mode also
// surrogates in UTF-8's three-byte form) and unescaped, and numbers,
// checked against MaxIntDigits.

// text reads a string and returns its content, which aliases the body
// when the string has no escapes: copy it to keep it.
func (s *scanner) text() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, s.fail(ErrMalformed, "expected a string")
	}
	b := s.b
	start := s.i + 1
	for i := start; i < len(b); {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:i], true
		case c == '\\':
			return s.unescape(start, i)
		case c < 0x20:
			s.i = i
			return nil, s.fail(ErrMalformed, "control character in a string")
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return s.unescape(start, i)
		}
		i += size
	}
	s.i = len(b)
	return nil, s.fail(ErrMalformed, "unterminated string")
}

// unescape finishes a string that has escapes or bytes that are not
// UTF-8, from its start; plain is where the plain prefix ends.
func (s *scanner) unescape(start, plain int) ([]byte, bool) {
	b := s.b
	end := plain // the closing quote, or the end: no string decodes longer than it is
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' {
			end++
		}
		end++
	}
	buf := make([]byte, 0, min(end, len(b))-start)
	buf = append(buf, b[start:plain]...)
	i := plain
	for i < len(b) {
		run := i
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' && b[i] < utf8.RuneSelf {
			i++
		}
		buf = append(buf, b[run:i]...)
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return buf, true
		case c == '\\':
			if i+1 >= len(b) {
				s.i = i
				return nil, s.fail(ErrMalformed, "unterminated string")
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, n := s.unicodeEscape(i)
				if n == 0 {
					return nil, false
				}
				buf = utf8.AppendRune(buf, r)
				i += n
				continue
			default:
				s.i = i
				return nil, s.fail(ErrMalformed, "invalid escape in a string")
			}
			i += 2
		case c < 0x20:
			s.i = i
			return nil, s.fail(ErrMalformed, "control character in a string")
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				if !s.python || !encodedSurrogate(b[i:]) {
					s.i = i
					return nil, s.fail(ErrUnreadable, "invalid UTF-8")
				}
				r, size = utf8.RuneError, 3
			}
			buf = utf8.AppendRune(buf, r)
			i += size
		}
	}
	s.i = len(b)
	return nil, s.fail(ErrMalformed, "unterminated string")
}

// unicodeEscape reads \uXXXX at i, and a second one when the first is a
// high surrogate, and returns the rune and the bytes read (0 on error). A
// lone surrogate, which valid UTF-8 cannot hold, becomes U+FFFD.
func (s *scanner) unicodeEscape(i int) (rune, int) {
	r, ok := hex4(s.b, i+2)
	if !ok {
		s.i = i
		s.fail(ErrMalformed, "invalid \\u escape")
		return 0, 0
	}
	if 0xD800 <= r && r < 0xDC00 && i+11 < len(s.b) && s.b[i+6] == '\\' && s.b[i+7] == 'u' {
		if lo, ok := hex4(s.b, i+8); ok && 0xDC00 <= lo && lo < 0xE000 {
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12
		}
	}
	if 0xD800 <= r && r < 0xE000 {
		return utf8.RuneError, 6
	}
	return r, 6
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// encodedSurrogate reports whether b starts with a surrogate code point
// in UTF-8's three-byte form, which Python decodes with surrogatepass.
func encodedSurrogate(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xED && 0xA0 <= b[1] && b[1] <= 0xBF && 0x80 <= b[2] && b[2] <= 0xBF
}

// number reads a number and returns its text, which aliases the body. In
// python mode NaN and the infinities come back as their words.
func (s *scanner) number() ([]byte, bool) {
	b := s.b
	start := s.i
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
		if s.python && i < len(b) && b[i] == 'I' {
			s.i = i
			if !s.lit("Infinity") {
				return nil, false
			}
			return b[start:s.i], true
		}
	}
	intStart := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return nil, s.fail(ErrMalformed, "invalid number")
	}
	intDigits := i - intStart
	isInt := true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, s.fail(ErrMalformed, "invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, s.fail(ErrMalformed, "invalid number")
		}
	}
	if isInt && intDigits > MaxIntDigits {
		return nil, s.fail(ErrUnreadable, fmt.Sprintf("integer longer than %d digits", MaxIntDigits))
	}
	s.i = i
	return b[start:i], true
}

// invalidText returns where b stops being text the decoder could read
// (UTF-8 and, in python mode, UTF-8-encoded surrogates), or -1.
func invalidText(b []byte, python bool) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if !python || !encodedSurrogate(b[i:]) {
				return i
			}
			size = 3
		}
		i += size
	}
	return -1
}

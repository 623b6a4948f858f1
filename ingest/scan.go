package ingest

import (
	"encoding/json"
	"fmt"
)

// scanner reads JSON text: RFC 8259, plus, in python mode, what Python's
// json module also reads (NaN, Infinity and -Infinity; surrogate code
// points encoded in UTF-8). It bounds nesting by MaxNesting and integers
// by MaxIntDigits. The first error is kept in err; the method that met
// it returns false, and so do its callers.
type scanner struct {
	b       []byte
	i       int
	depth   int
	deepest int // the greatest depth reached since the caller last set it
	python  bool
	err     error
}

// A syntaxError says what is wrong with a body and where. It wraps
// ErrMalformed or ErrUnreadable.
type syntaxError struct {
	kind   error
	offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%v at byte %d: %s", e.kind, e.offset, e.msg)
}

func (e *syntaxError) Unwrap() error { return e.kind }

func (s *scanner) fail(kind error, msg string) bool {
	if s.err == nil {
		s.err = &syntaxError{kind: kind, offset: s.i, msg: msg}
	}
	return false
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return s.fail(ErrMalformed, "invalid literal")
}

// null consumes a null if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) enter() bool {
	s.i++
	s.depth++
	if s.depth > MaxNesting {
		return s.fail(ErrUnreadable, fmt.Sprintf("nested deeper than %d levels", MaxNesting))
	}
	if s.depth > s.deepest {
		s.deepest = s.depth
	}
	return true
}

// object reads {"key": value, …}, calling member with the scanner at each
// value. The key may alias the body: copy it to keep it.
func (s *scanner) object(member func(key []byte) bool) bool {
	if s.peek() != '{' {
		return s.fail(ErrMalformed, "expected an object")
	}
	if !s.enter() {
		return false
	}
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return s.fail(ErrMalformed, "expected a string key")
		}
		key, ok := s.text()
		if !ok {
			return false
		}
		if s.peek() != ':' {
			return s.fail(ErrMalformed, "expected ':' after a key")
		}
		s.i++
		if !member(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return s.fail(ErrMalformed, "expected ',' or '}' in an object")
		}
	}
}

// array reads [value, …], calling elem with the scanner at each value.
func (s *scanner) array(elem func() bool) bool {
	if s.peek() != '[' {
		return s.fail(ErrMalformed, "expected an array")
	}
	if !s.enter() {
		return false
	}
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return s.fail(ErrMalformed, "expected ',' or ']' in an array")
		}
	}
}

// A kind is the JSON type of a value, for messages.
type kind uint8

const (
	kMissing kind = iota
	kNull
	kString
	kNumber
	kBool
	kArray
	kObject
)

func (k kind) String() string {
	return [...]string{"nothing", "null", "a string", "a number", "a boolean", "an array", "an object"}[k]
}

// value reads any value. With keep it returns it as encoding/json with
// UseNumber would (NaN and the infinities as strings); without, it only
// checks it and returns nil.
func (s *scanner) value(keep bool) (any, kind, bool) {
	switch c := s.peek(); {
	case c == '"':
		t, ok := s.text()
		if !keep || !ok {
			return nil, kString, ok
		}
		return string(t), kString, true
	case c == '{':
		var m map[string]any
		if keep {
			m = map[string]any{}
		}
		ok := s.object(func(k []byte) bool {
			v, _, ok := s.value(keep)
			if keep {
				m[string(k)] = v
			}
			return ok
		})
		if !keep {
			return nil, kObject, ok
		}
		return m, kObject, ok
	case c == '[':
		var a []any
		if keep {
			a = []any{}
		}
		ok := s.array(func() bool {
			v, _, ok := s.value(keep)
			if keep {
				a = append(a, v)
			}
			return ok
		})
		if !keep {
			return nil, kArray, ok
		}
		return a, kArray, ok
	case c == 't':
		return true, kBool, s.lit("true")
	case c == 'f':
		return false, kBool, s.lit("false")
	case c == 'n':
		return nil, kNull, s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		t, ok := s.number()
		if !ok || !keep {
			return nil, kNumber, ok
		}
		if t[len(t)-1] == 'y' { // -Infinity
			return string(t), kNumber, true
		}
		return json.Number(t), kNumber, true
	case s.python && c == 'N':
		return "NaN", kNumber, s.lit("NaN")
	case s.python && c == 'I':
		return "Infinity", kNumber, s.lit("Infinity")
	case c == 0 && s.i >= len(s.b):
		return nil, kMissing, s.fail(ErrMalformed, "unexpected end of the body")
	}
	return nil, kMissing, s.fail(ErrMalformed, "invalid character")
}

// skip reads and drops a value, returning its kind.
func (s *scanner) skip() (kind, bool) {
	_, k, ok := s.value(false)
	return k, ok
}

package ingest

import (
	"encoding/json"
	"unicode/utf8"
)

// The fast path parses a payload straight into an Entry slice, several
// times cheaper than encoding/json's generic tree that the validator walks.
// It only ever accepts: on anything unusual (an escape other than the
// common ones, invalid UTF-8, a respelled contract name, deep nesting, any
// violation) it gives up and leaves the payload to the generic path, which
// then reports every violation with its path. On every payload it accepts,
// it returns what the generic path returns (FuzzFastPathAgrees).

// decodeFast returns the payload when raw is certainly valid, or false.
func decodeFast(raw []byte) (*Payload, bool) {
	p := parser{b: raw}
	var out Payload
	seenLogs := false
	ok := p.object(func(key string) bool {
		switch key {
		case "logs":
			seenLogs = true
			out.Logs = make([]Entry, 0, 16)
			return p.array(func() bool {
				out.Logs = append(out.Logs, Entry{})
				return p.entry(&out.Logs[len(out.Logs)-1])
			}) && out.Logs != nil
		case "resource":
			if p.null() {
				out.Resource = nil
				return true
			}
			res := map[string]string{}
			ok := p.object(func(k string) bool {
				s, ok := p.str()
				res[k] = s
				return ok
			})
			out.Resource = nil
			if len(res) > 0 {
				out.Resource = res
			}
			return ok
		}
		return !respelled(key, payloadNames) && p.skip()
	})
	p.ws()
	if !ok || !seenLogs || p.i != len(p.b) {
		return nil, false
	}
	return &out, true
}

var (
	payloadNames = []string{"logs", "resource"}
)

// respelled reports whether key is one of names in another spelling.
func respelled(key string, names []string) bool {
	n := snake(key)
	if n == key {
		return false
	}
	for _, name := range names {
		if n == name {
			return true
		}
	}
	return false
}

type parser struct {
	b     []byte
	i     int
	depth int
}

// Presence bits of an entry's required fields.
const (
	hasTimestamp = 1 << iota
	hasLevel
	hasLogger
	hasMessage
	hasInstall
	hasSession
	hasAll = 1<<iota - 1
)

func (p *parser) entry(e *Entry) bool {
	seen := 0
	ok := p.object(func(key string) bool {
		var ok bool
		switch key {
		case "timestamp":
			seen |= hasTimestamp
			e.Timestamp, ok = p.str()
			return ok && validTimestamp(e.Timestamp)
		case "level":
			seen |= hasLevel
			e.Level, ok = p.str()
			return ok && isLevel(e.Level)
		case "logger":
			seen |= hasLogger
			e.Logger, ok = p.str()
			return ok
		case "message":
			seen |= hasMessage
			e.Message, ok = p.str()
			return ok
		case "install_id":
			seen |= hasInstall
			e.InstallID, ok = p.str()
			return ok
		case "session_id":
			seen |= hasSession
			e.SessionID, ok = p.str()
			return ok
		case "error":
			e.Error, ok = p.nullable()
			return ok
		case "stack_trace":
			e.StackTrace, ok = p.nullable()
			return ok
		case "user_id":
			e.UserID, ok = p.nullable()
			return ok
		case "span_id":
			e.SpanID, ok = p.nullable()
			return ok && (e.SpanID == nil || lowerHex(*e.SpanID, 16))
		case "trace_id":
			e.TraceID, ok = p.nullable()
			return ok && (e.TraceID == nil || lowerHex(*e.TraceID, 32))
		case "attributes":
			e.Attributes = nil
			if p.null() {
				return true
			}
			if p.peek() != '{' {
				return false
			}
			v, ok := p.value()
			e.Attributes, _ = v.(map[string]any)
			return ok && depth(e.Attributes, 1) <= MaxAttributeDepth
		case "active_run":
			e.ActiveRun = nil
			if p.null() {
				return true
			}
			var r ActiveRun
			has := 0
			ok := p.object(func(k string) bool {
				var ok bool
				switch k {
				case "thread_id":
					has |= 1
					r.ThreadID, ok = p.str()
					return ok
				case "run_id":
					has |= 2
					r.RunID, ok = p.str()
					return ok
				}
				return !respelled(k, runFields) && p.skip()
			})
			e.ActiveRun = &r
			return ok && has == 3
		case "breadcrumbs":
			e.Breadcrumbs = nil
			if p.null() {
				return true
			}
			var crumbs []Breadcrumb
			ok := p.array(func() bool {
				crumbs = append(crumbs, Breadcrumb{})
				return p.crumb(&crumbs[len(crumbs)-1])
			})
			if len(crumbs) > 0 {
				e.Breadcrumbs = crumbs
			}
			return ok
		}
		return !respelled(key, entryFields) && p.skip()
	})
	return ok && seen == hasAll
}

func (p *parser) crumb(c *Breadcrumb) bool {
	seen := 0
	ok := p.object(func(key string) bool {
		var ok bool
		switch key {
		case "timestamp":
			seen |= 1
			c.Timestamp, ok = p.str()
			return ok && validTimestamp(c.Timestamp)
		case "level":
			seen |= 2
			c.Level, ok = p.str()
			return ok && isLevel(c.Level)
		case "logger":
			seen |= 4
			c.Logger, ok = p.str()
			return ok
		case "message":
			seen |= 8
			c.Message, ok = p.str()
			return ok
		case "category":
			seen |= 16
			c.Category, ok = p.str()
			return ok && isCategory(c.Category)
		}
		return !respelled(key, crumbFields) && p.skip()
	})
	return ok && seen == 31
}

func isLevel(s string) bool {
	switch s {
	case "trace", "debug", "info", "warning", "error", "fatal":
		return true
	}
	return false
}

func isCategory(s string) bool {
	switch s {
	case "ui", "network", "system", "user":
		return true
	}
	return false
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// null consumes a null if one is next.
func (p *parser) null() bool {
	return p.peek() == 'n' && p.lit("null")
}

// object parses {"key": value, …}, calling member with the parser at
// each value.
func (p *parser) object(member func(key string) bool) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	if p.depth++; p.depth > MaxAttributeDepth+4 {
		return false
	}
	defer func() { p.depth-- }()
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		key, ok := p.str()
		if !ok || p.peek() != ':' {
			return false
		}
		p.i++
		if !member(key) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// array parses [value, …], calling elem with the parser at each value.
func (p *parser) array(elem func() bool) bool {
	if p.peek() != '[' {
		return false
	}
	p.i++
	if p.depth++; p.depth > MaxAttributeDepth+4 {
		return false
	}
	defer func() { p.depth-- }()
	if p.peek() == ']' {
		p.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

// str parses a string. It gives up on \u escapes, invalid UTF-8 and
// control characters, which the generic path handles.
func (p *parser) str() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			p.i += size
		}
	}
	return "", false
}

// escaped finishes a string that has escapes, from its start.
func (p *parser) escaped(start int) (string, bool) {
	buf := make([]byte, 0, p.i-start+64)
	buf = append(buf, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", false
			}
			var r byte
			switch p.b[p.i+1] {
			case '"', '\\', '/':
				r = p.b[p.i+1]
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			case 'r':
				r = '\r'
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			default: // \u and anything else: the generic path
				return "", false
			}
			buf = append(buf, r)
			p.i += 2
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			buf = append(buf, p.b[p.i:p.i+size]...)
			p.i += size
		}
	}
	return "", false
}

func (p *parser) nullable() (*string, bool) {
	if p.null() {
		return nil, true
	}
	s, ok := p.str()
	return &s, ok
}

// value parses any JSON value as encoding/json does into an any with
// UseNumber.
func (p *parser) value() (any, bool) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '{':
		m := map[string]any{}
		ok := p.object(func(k string) bool {
			v, ok := p.value()
			m[k] = v
			return ok
		})
		return m, ok
	case c == '[':
		a := []any{}
		ok := p.array(func() bool {
			v, ok := p.value()
			a = append(a, v)
			return ok
		})
		return a, ok
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return nil, false
}

// number parses a JSON number into a json.Number.
func (p *parser) number() (json.Number, bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && '1' <= p.b[p.i] && p.b[p.i] <= '9':
		p.digits()
	default:
		return "", false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.digits() {
			return "", false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return "", false
		}
	}
	return json.Number(p.b[start:p.i]), true
}

func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// skip parses and drops a value.
func (p *parser) skip() bool {
	_, ok := p.value()
	return ok
}

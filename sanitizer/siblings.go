package sanitizer

import (
	"slices"
	"strings"
)

// replaceSiblings replaces, in JSON held in text (escaped inside a JSON
// string too), the value of objects that name a secret in a sibling
// field: [{"name": "Authorization", "value": "…"}] in HAR headers,
// {"name": "DB_PASSWORD", "value": "…"} in Kubernetes env lists,
// {"Key": "api_token", "Value": "…"} in tag lists. Only JSON objects are
// read; text that is not JSON is left to the other rules.
func replaceSiblings(s string, r *rule, sc *scrubber) string {
	p := objectParser{s: s, keys: sc.keys, budget: 8 * len(s)}
	for i := 0; i < len(s) && p.budget > 0; i++ {
		k := strings.IndexByte(s[i:], '{')
		if k < 0 {
			break
		}
		i += k
		p.escapes = false
		if end, ok := p.object(i, 0); ok && !p.escapes {
			i = end - 1 // else JSON escaped in its strings is read next
		}
	}
	if len(p.edits) == 0 {
		return s
	}
	slices.SortFunc(p.edits, func(a, b siblingEdit) int { return a.from - b.from })
	var b strings.Builder
	last := 0
	for _, e := range p.edits {
		if e.from < last {
			continue // inside a value replaced already
		}
		b.WriteString(s[last:e.from])
		m := sc.mark(r, s[e.from:e.to])
		if e.quote != "" {
			m = e.quote + m + e.quote
		}
		b.WriteString(m)
		last = e.to
	}
	b.WriteString(s[last:])
	return b.String()
}

// siblingMaybe is the cheap test for replaceSiblings: an object and a
// field name like "value".
func siblingMaybe(s string) bool {
	return strings.IndexByte(s, '{') >= 0 && indexFold(s, "val") >= 0
}

// siblingEdit is a value to replace; quote, when set, is written around
// the marker (a number or an object becomes a string).
type siblingEdit struct {
	from, to int
	quote    string
}

// objectParser reads JSON objects leniently in text. Strings are quoted
// with '"', or with '\"' in JSON escaped inside a string.
type objectParser struct {
	s       string
	keys    *keyMatcher
	edits   []siblingEdit
	budget  int  // bytes left to read, so that text made of many '{' stays linear
	escapes bool // a string held an escaped quote: it may hold JSON itself
}

// maxObjectDepth bounds the nesting objectParser follows.
const maxObjectDepth = 16

// object reads the object at from (s[from] == '{') and returns where it
// ends.
func (p *objectParser) object(from, depth int) (int, bool) {
	if depth > maxObjectDepth {
		return 0, false
	}
	s := p.s
	k := p.space(from + 1)
	if k < len(s) && s[k] == '}' {
		return k + 1, true
	}
	var q string // the quote of this object's strings
	switch {
	case strings.HasPrefix(s[k:], `\"`):
		q = `\"`
	case k < len(s) && s[k] == '"':
		q = `"`
	default:
		return 0, false
	}
	named := false           // a name field holds a sensitive key
	var values []siblingEdit // the value fields
	for {
		keyFrom, keyTo, ok := p.str(k, q)
		if !ok {
			return 0, false
		}
		k = p.space(keyTo + len(q))
		if k >= len(s) || s[k] != ':' {
			return 0, false
		}
		k = p.space(k + 1)
		vFrom, vTo, quoted, ok := p.value(k, q, depth)
		if !ok {
			return 0, false
		}
		switch fieldRole(s[keyFrom:keyTo]) {
		case keyNameField:
			if quoted && p.keys.textKeySensitive(s[vFrom:vTo], "") {
				named = true
			}
		case keyValueField:
			e := siblingEdit{from: vFrom, to: vTo}
			if !quoted {
				e.quote = q
			}
			if !isWholeMarker(s[vFrom:vTo]) && vFrom < vTo {
				values = append(values, e)
			}
		}
		k = vTo
		if quoted {
			k += len(q)
		}
		k = p.space(k)
		if k >= len(s) {
			return 0, false
		}
		switch s[k] {
		case '}':
			if named {
				p.edits = append(p.edits, values...)
			}
			return k + 1, true
		case ',':
			k = p.space(k + 1)
		default:
			return 0, false
		}
	}
}

// value reads the value at k and returns its span: the inside of a
// string (quoted), or the whole of a number, literal, object or list.
func (p *objectParser) value(k int, q string, depth int) (from, to int, quoted, ok bool) {
	s := p.s
	switch {
	case k >= len(s):
		return 0, 0, false, false
	case strings.HasPrefix(s[k:], q):
		from, to, ok := p.str(k, q)
		return from, to, true, ok
	case s[k] == '{':
		end, ok := p.object(k, depth+1)
		return k, end, false, ok
	case s[k] == '[':
		end, ok := p.list(k, q, depth+1)
		return k, end, false, ok
	}
	end := k
	for end < len(s) && (isWordByte(s[end]) || s[end] == '.' || s[end] == '-' || s[end] == '+') {
		end++
	}
	p.budget -= end - k
	return k, end, false, end > k
}

// list reads the list at k (s[k] == '[') and returns where it ends.
func (p *objectParser) list(k int, q string, depth int) (int, bool) {
	if depth > maxObjectDepth {
		return 0, false
	}
	s := p.s
	k = p.space(k + 1)
	if k < len(s) && s[k] == ']' {
		return k + 1, true
	}
	for {
		_, to, quoted, ok := p.value(k, q, depth)
		if !ok {
			return 0, false
		}
		if quoted {
			to += len(q)
		}
		k = p.space(to)
		if k >= len(s) {
			return 0, false
		}
		switch s[k] {
		case ']':
			return k + 1, true
		case ',':
			k = p.space(k + 1)
		default:
			return 0, false
		}
	}
}

// str reads the string at k, quoted with q, and returns its inside.
func (p *objectParser) str(k int, q string) (from, to int, ok bool) {
	s := p.s
	if !strings.HasPrefix(s[k:], q) {
		return 0, 0, false
	}
	from = k + len(q)
	escaped := false // in escaped JSON, the inner JSON's backslash came last
	defer func() {
		if ok {
			p.budget -= to - k + len(q)
		} else {
			p.budget -= len(s) - k // read to the end
		}
	}()
	if p.budget <= 0 {
		return 0, 0, false
	}
	for i := from; i < len(s); i++ {
		if q == `"` {
			switch s[i] {
			case '\\':
				if i+1 < len(s) && s[i+1] == '"' {
					p.escapes = true
				}
				i++
				continue
			case '"':
				return from, i, true
			}
			continue
		}
		// Escaped JSON: each \x stands for one character of the inner
		// JSON, where \" ends the string unless the inner JSON escaped it.
		if s[i] != '\\' || i+1 >= len(s) {
			escaped = false
			continue
		}
		i++
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '"':
			return from, i - 1, true
		}
	}
	return 0, 0, false
}

// space skips white space, and the escaped \n, \r and \t of JSON held in
// a string.
func (p *objectParser) space(k int) int {
	s := p.s
	start := k
	defer func() { p.budget -= k - start }()
	for k < len(s) {
		switch {
		case s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r':
			k++
		case s[k] == '\\' && k+1 < len(s) && (s[k+1] == 'n' || s[k+1] == 'r' || s[k+1] == 't'):
			k += 2
		default:
			return k
		}
	}
	return k
}

// nameFields and valueFields are the keys, in lower case without
// separators, of objects that carry a name and its value in two fields:
// {"name": "Authorization", "value": "…"}.
var (
	nameFields  = map[string]bool{"name": true, "key": true, "header": true, "headername": true, "field": true, "param": true, "parameter": true, "parametername": true, "parameterkey": true, "variable": true, "var": true, "env": true}
	valueFields = map[string]bool{"value": true, "val": true, "values": true, "parametervalue": true, "headervalue": true}
)

// fieldRole returns keyNameField or keyValueField for the keys of
// name-value objects, else 0.
func fieldRole(key string) keyInfo {
	if len(key) > 20 {
		return 0
	}
	var buf [20]byte
	b := buf[:0]
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		case 'a' <= c && c <= 'z':
			b = append(b, c)
		case c == '_' || c == '-' || c == ' ':
		default:
			return 0
		}
	}
	switch {
	case nameFields[string(b)]:
		return keyNameField
	case valueFields[string(b)]:
		return keyValueField
	}
	return 0
}

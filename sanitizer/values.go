package sanitizer

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/soliplex/fieldlog/logrecord"
)

// attr scrubs one attribute: a sensitive key loses its whole value, any
// other value is walked. secretSibling reports that the object holding
// the attribute names a secret in a sibling field ({"name":
// "Authorization", "value": "…"}): then its value fields are redacted
// too.
func (sc *scrubber) attr(parent string, a slog.Attr, depth int, secretSibling bool) (slog.Attr, bool) {
	keyChanged := false
	if k := sc.key(parent, a.Key); k != a.Key {
		a.Key, keyChanged = k, true
	}
	path := pathT{base: parent, name: a.Key}
	if sc.s.keyRule != nil && (sc.keys.sensitive(a.Key) || secretSibling && sc.keys.info(a.Key)&keyValueField != 0) {
		if a.Value.Kind() == slog.KindString && isWholeMarker(a.Value.String()) {
			return a, keyChanged // redacted before
		}
		saved := sc.path
		sc.path = path
		a.Value = slog.StringValue(sc.mark(sc.s.keyRule, sc.hashInput(a.Value)))
		sc.path = saved
		return a, true
	}
	if sc.keys.safeKey(a.Key) {
		return a, keyChanged
	}
	v, changed := sc.value(path, a.Value, depth)
	a.Value = v
	return a, changed || keyChanged
}

// key scrubs an attribute key with the free-text rules: a key can hold PII
// too ({"bob@x.io": 3}).
func (sc *scrubber) key(parent, k string) string {
	if info := sc.keys.info(k); info&(keySafe|keyClean) != 0 {
		return k
	}
	return sc.field(pathT{base: parent, name: "<key>"}, k)
}

func (sc *scrubber) value(path pathT, v slog.Value, depth int) (slog.Value, bool) {
	if depth > maxDepth {
		return slog.StringValue("!DEPTH"), true
	}
	// A LogValuer is replaced by its scrubbed value in any case: sinks
	// must not call it again and see something else.
	resolved := v.Kind() == slog.KindLogValuer
	v = logrecord.Resolve(v)
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if out := sc.field(path, s); out != s {
			return slog.StringValue(out), true
		}
		return v, resolved
	case slog.KindGroup:
		members := v.Group()
		out := make([]slog.Attr, len(members))
		changed := false
		base := path.String()
		sibling := sc.s.groupNamesSecret(members)
		for i, m := range members {
			var ch bool
			out[i], ch = sc.attr(base, m, depth+1, sibling)
			changed = changed || ch
		}
		if !changed {
			return v, resolved
		}
		return slog.GroupValue(out...), true
	case slog.KindAny:
		saved := sc.path
		sc.path = path
		before := sc.edits + len(sc.fired)
		x := sc.anyValue(v.Any(), depth+1)
		sc.path = saved
		if sc.edits+len(sc.fired) == before && plainData(v.Any()) {
			return v, resolved
		}
		return slog.AnyValue(x), true
	case slog.KindInt64, slog.KindUint64:
		// A long integer may be a card number: {"pan": 4111111111111111}.
		if text, long := longNumber(v.Any()); long {
			if out := sc.field(path, text); out != text {
				return slog.StringValue(out), true
			}
		}
	}
	return v, resolved // other numbers, bools, times, durations carry no text
}

// anyValue scrubs JSON-shaped data (maps, slices, strings, numbers) and
// turns any other value into its scrubbed text, so nothing escapes through
// a type the sanitizer does not know.
func (sc *scrubber) anyValue(x any, depth int) (out any) {
	if depth > maxDepth {
		return "!DEPTH"
	}
	path := sc.path
	switch t := x.(type) {
	case nil, bool, float32, float64:
		return x
	case json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		if text, long := longNumber(x); long {
			if out := sc.field(path, text); out != text {
				return out
			}
		}
		return x
	case string:
		return sc.field(path, t)
	case map[string]any:
		base := path.String()
		m := make(map[string]any, len(t))
		sibling := sc.s.mapNamesSecret(t)
		for k, v := range t {
			k = sc.key(base, k)
			sc.path = pathT{base: base, name: k}
			secret := sc.s.keyRule != nil && (sc.keys.sensitive(k) || sibling && sc.keys.info(k)&keyValueField != 0)
			switch {
			case secret && isMarkerValue(v):
				m[k] = v // redacted before
			case secret:
				m[k] = sc.mark(sc.s.keyRule, sc.hashInput(slog.AnyValue(v)))
			default:
				m[k] = sc.anyValue(v, depth+1)
			}
			sc.path = path
		}
		return m
	case []any:
		base := path.String()
		l := make([]any, len(t))
		for i, v := range t {
			sc.path = pathT{base: base, name: "[" + strconv.Itoa(i) + "]", index: true}
			l[i] = sc.anyValue(v, depth+1)
			sc.path = path
		}
		return l
	case []string:
		base := path.String()
		l := make([]string, len(t))
		for i, v := range t {
			l[i] = sc.field(pathT{base: base, name: "[" + strconv.Itoa(i) + "]", index: true}, v)
		}
		return l
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[k] = v
		}
		return sc.anyValue(m, depth)
	case []byte:
		return sc.field(path, string(t))
	case error:
		return sc.field(path, safeText(func() string { return t.Error() }))
	case fmt.Stringer:
		return sc.field(path, safeText(func() string { return t.String() }))
	}
	// Records hold coerced values, so this is a value that reached the
	// sanitizer some other way: coerce it as a record would (a struct
	// becomes a group whose Password field meets the key rules), never
	// through fmt, which recurses without bound on a value holding itself.
	v, _ := sc.value(path, logrecord.Coerce(slog.AnyValue(x)), depth)
	return v
}

// groupNamesSecret reports whether a group names a secret in a field
// such as "name" or "key", whose sibling "value" then holds it: HAR
// headers, Kubernetes env lists, tag lists.
func (s *Sanitizer) groupNamesSecret(members []slog.Attr) bool {
	for _, m := range members {
		if s.keys.info(m.Key)&keyNameField != 0 && m.Value.Kind() == slog.KindString &&
			s.keys.textKeySensitive(m.Value.String(), "") {
			return true
		}
	}
	return false
}

// recordNamesSecret is groupNamesSecret for the attributes of a record.
func (s *Sanitizer) recordNamesSecret(r logrecord.Record) bool {
	for a := range r.Attrs {
		if s.keys.info(a.Key)&keyNameField != 0 && a.Value.Kind() == slog.KindString &&
			s.keys.textKeySensitive(a.Value.String(), "") {
			return true
		}
	}
	return false
}

// mapNamesSecret is groupNamesSecret for a map.
func (s *Sanitizer) mapNamesSecret(m map[string]any) bool {
	for k, v := range m {
		if name, ok := v.(string); ok && s.keys.info(k)&keyNameField != 0 && s.keys.textKeySensitive(name, "") {
			return true
		}
	}
	return false
}

// isMarkerValue reports whether v is a marker string, put there by an
// earlier scrubbing.
func isMarkerValue(v any) bool {
	s, ok := v.(string)
	return ok && isWholeMarker(s)
}

// maxHashInput bounds the text of a value hashed for a marker.
const maxHashInput = 64 << 10

// hashInput returns the text of a value a marker's keyed hash is made
// of, or "" when markers carry no hash. Maps are written with sorted
// keys, so that the same value gives the same hash.
func (sc *scrubber) hashInput(v slog.Value) string {
	if sc.s.hashKey == nil {
		return ""
	}
	var b strings.Builder
	writeHashInput(&b, v, 0)
	return b.String()
}

func writeHashInput(b *strings.Builder, v slog.Value, depth int) {
	if depth > maxDepth || b.Len() > maxHashInput {
		return
	}
	v = logrecord.Resolve(v)
	switch v.Kind() {
	case slog.KindGroup:
		b.WriteByte('{')
		for i, m := range v.Group() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.Key + ":")
			writeHashInput(b, m.Value, depth+1)
		}
		b.WriteByte('}')
	case slog.KindAny:
		switch t := v.Any().(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(k + ":")
				writeHashInput(b, slog.AnyValue(t[k]), depth+1)
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, x := range t {
				if i > 0 {
					b.WriteByte(',')
				}
				writeHashInput(b, slog.AnyValue(x), depth+1)
			}
			b.WriteByte(']')
		case string:
			b.WriteString(t)
		case []byte:
			b.Write(t)
		case error:
			b.WriteString(safeText(func() string { return t.Error() }))
		case fmt.Stringer:
			b.WriteString(safeText(func() string { return t.String() }))
		default:
			b.WriteString(safeText(func() string { return fmt.Sprint(t) }))
		}
	default:
		b.WriteString(v.String())
	}
}

// plainData reports whether x is of a type anyValue returns as it is when
// nothing in it fired: JSON-shaped data and numbers.
func plainData(x any) bool {
	switch x.(type) {
	case nil, bool, json.Number, string, map[string]any, []any, []string,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return true
	}
	return false
}

func safeText(f func() string) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	return f()
}

// minCardNumber is the smallest number of 13 digits: an integer value this
// long may be a card number and is looked at as text.
const minCardNumber = 1_000_000_000_000

// longNumber returns the text of an integer (or json.Number) and whether
// it has 13 digits or more.
func longNumber(x any) (string, bool) {
	switch t := x.(type) {
	case json.Number:
		return string(t), len(strings.TrimPrefix(string(t), "-")) >= 13
	case int:
		return longInt(int64(t))
	case int64:
		return longInt(t)
	case uint:
		return longUint(uint64(t))
	case uint64:
		return longUint(t)
	}
	return "", false
}

func longInt(n int64) (string, bool) {
	if -minCardNumber < n && n < minCardNumber {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

func longUint(n uint64) (string, bool) {
	if n < minCardNumber {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

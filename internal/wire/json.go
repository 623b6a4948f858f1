package wire

import (
	"encoding/json"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/internal/jsonnum"
	"github.com/soliplex/fieldlog/logrecord"
)

const hexDigits = "0123456789abcdef"

// depthMark replaces a group or list nested deeper than the limit.
const depthMark = "!DEPTH"

// AppendString appends s as a JSON string: the same text as encoding/json
// gives, without its HTML escaping. Invalid UTF-8 becomes U+FFFD; quotes,
// backslashes, control characters, U+2028 and U+2029 are escaped. A
// reader gets back exactly s when s is valid UTF-8.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but they end lines in JavaScript
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

// AppendTime appends t in TimestampLayout as a JSON string. t should be
// ValidTime; another time is written as its UTC digits all the same.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimestampLayout)
	return append(b, '"')
}

// AppendFloat appends f as a JSON number; NaN and the infinities, which
// JSON cannot carry, become the strings "NaN", "+Inf" and "-Inf".
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// AppendNumber appends n as a JSON number when every reader can take it:
// valid JSON, at most MaxIntDigits digits and finite as a float64.
// Otherwise n is written as a string.
func AppendNumber(b []byte, n json.Number) []byte {
	if readableNumber(string(n)) {
		return append(b, n...)
	}
	return AppendString(b, string(n))
}

func readableNumber(s string) bool {
	if len(s) > MaxIntDigits || !jsonnum.Valid(s) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// AppendData appends a value of the JSON data model: nil, bool, string,
// the Go number types, json.Number, []any, []string and map[string]any
// (keys sorted), as decoding JSON or logrecord.Data gives. Its lists and
// maps must form a tree, as decoded and coerced values do; any other
// value is coerced by logrecord first, which cuts cycles. Nesting deeper
// than MaxNesting is cut with "!DEPTH".
func AppendData(b []byte, x any) []byte {
	return appendData(b, x, 0, MaxNesting)
}

// AppendValue appends a coerced attribute value: a group as an object
// (the last of repeated keys wins), a list as an array, a duration as its
// text, a time as RFC 3339 in UTC. Nesting deeper than MaxAttributeDepth
// is cut with "!DEPTH".
func AppendValue(b []byte, v slog.Value) []byte {
	return appendValue(b, v, 0, MaxAttributeDepth)
}

// AppendAttrs appends attrs as the attributes object of an entry: each
// key once (the last value of a repeated key wins, as readers keep it),
// values as AppendValue writes them.
func AppendAttrs(b []byte, attrs []slog.Attr) []byte {
	b = append(b, '{')
	b = appendMembers(b, attrs, 0, MaxAttributeDepth)
	return append(b, '}')
}

// appendValue writes v, which sits below depth groups and lists.
func appendValue(b []byte, v slog.Value, depth, limit int) []byte {
	switch v.Kind() {
	case slog.KindString:
		return AppendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return AppendFloat(b, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return AppendString(b, v.Duration().String())
	case slog.KindTime:
		b = append(b, '"')
		b = v.Time().UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case slog.KindGroup:
		if depth >= limit {
			return AppendString(b, depthMark)
		}
		b = append(b, '{')
		b = appendMembers(b, v.Group(), depth+1, limit)
		return append(b, '}')
	case slog.KindLogValuer:
		return appendValue(b, logrecord.Coerce(v), depth, limit)
	}
	return appendData(b, v.Any(), depth, limit)
}

// appendMembers writes the members of an object, each key once: when a
// key repeats, only its last member is written.
func appendMembers(b []byte, attrs []slog.Attr, depth, limit int) []byte {
	skip := repeated(attrs)
	first := true
	for i, a := range attrs {
		if skip != nil && skip(i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendString(b, a.Key)
		b = append(b, ':')
		b = appendValue(b, a.Value, depth, limit)
	}
	return b
}

// smallObject is the size up to which repeated keys are found by
// comparing every pair, which allocates nothing.
const smallObject = 16

// repeated returns, when some key of attrs repeats, a function telling
// which members to leave out: every one but the last of its key. It
// returns nil when every key is unique.
func repeated(attrs []slog.Attr) func(int) bool {
	n := len(attrs)
	if n < 2 {
		return nil
	}
	if n <= smallObject {
		for i := range n - 1 {
			for j := i + 1; j < n; j++ {
				if attrs[i].Key == attrs[j].Key {
					return func(k int) bool {
						for j := k + 1; j < n; j++ {
							if attrs[j].Key == attrs[k].Key {
								return true
							}
						}
						return false
					}
				}
			}
		}
		return nil
	}
	last := make(map[string]int, n)
	for i, a := range attrs {
		last[a.Key] = i
	}
	if len(last) == n {
		return nil
	}
	return func(k int) bool { return last[attrs[k].Key] != k }
}

// appendData writes a data-model value below depth containers.
func appendData(b []byte, x any, depth, limit int) []byte {
	switch t := x.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return AppendString(b, t)
	case bool:
		return strconv.AppendBool(b, t)
	case int64:
		return strconv.AppendInt(b, t, 10)
	case int:
		return strconv.AppendInt(b, int64(t), 10)
	case int32:
		return strconv.AppendInt(b, int64(t), 10)
	case int16:
		return strconv.AppendInt(b, int64(t), 10)
	case int8:
		return strconv.AppendInt(b, int64(t), 10)
	case uint64:
		return strconv.AppendUint(b, t, 10)
	case uint:
		return strconv.AppendUint(b, uint64(t), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(t), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(t), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(t), 10)
	case float64:
		return AppendFloat(b, t)
	case float32:
		return AppendFloat(b, float64(t))
	case json.Number:
		return AppendNumber(b, t)
	case []any:
		if depth >= limit {
			return AppendString(b, depthMark)
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendData(b, e, depth+1, limit)
		}
		return append(b, ']')
	case []string:
		if depth >= limit {
			return AppendString(b, depthMark)
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, e)
		}
		return append(b, ']')
	case map[string]any:
		if depth >= limit {
			return AppendString(b, depthMark)
		}
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = appendData(b, t[k], depth+1, limit)
		}
		return append(b, '}')
	case slog.Value:
		return appendValue(b, t, depth, limit)
	}
	return appendValue(b, logrecord.Coerce(slog.AnyValue(x)), depth, limit)
}

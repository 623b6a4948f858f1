package backendsink

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
)

// Size limits of the wire contract.
const (
	// MaxEntryBytes is the largest encoded entry; larger records are trimmed.
	MaxEntryBytes = 64 << 10
	// truncMarker ends every string the size guard cut.
	truncMarker = "…[truncated]"
	// maxDepth bounds nesting of attribute values; deeper values (or
	// cycles through maps and slices) are replaced by a placeholder.
	maxDepth = 32
)

// ActiveRun identifies the conversation run in progress when a record was
// logged.
type ActiveRun struct {
	ThreadID string
	RunID    string
}

// A Breadcrumb is a record that came before an error, as shipped with it.
type Breadcrumb struct {
	Time     time.Time
	Level    logrecord.Level
	Logger   string
	Message  string
	Category string // ui, network, system or user
}

// entryMeta is what the sink adds to every record: the ids, the active run
// and, for error and fatal records, the breadcrumbs.
type entryMeta struct {
	installID   string
	sessionID   string
	userID      string // "" encodes as null
	activeRun   *ActiveRun
	breadcrumbs []Breadcrumb
}

// encodeEntry returns the wire JSON of r, trimmed to at most limit bytes in
// the documented order: message, attributes, stack trace, error.
func encodeEntry(dst []byte, r logrecord.Record, m *entryMeta, limit int) []byte {
	start := len(dst)
	dst = appendEntry(dst, r, m)
	if len(dst)-start <= limit {
		return dst
	}
	return trimEntry(dst, start, r, m, limit)
}

// trimEntry re-encodes an entry that was over limit, cutting fields one
// at a time until it fits. It is kept apart from encodeEntry so the common
// path does not move the record to the heap.
func trimEntry(dst []byte, start int, r logrecord.Record, m *entryMeta, limit int) []byte {
	excess := func(b []byte) int { return len(b) - start - limit }
	steps := []func(*logrecord.Record, int) bool{
		func(r *logrecord.Record, over int) bool { return cutField(&r.Message, over) },
		func(r *logrecord.Record, over int) bool { return cutAttrs(r, over) },
		func(r *logrecord.Record, over int) bool { return cutField(&r.StackTrace, over) },
		func(r *logrecord.Record, over int) bool { return cutField(&r.Error, over) },
	}
	for _, step := range steps {
		if !step(&r, excess(dst)) {
			continue
		}
		dst = appendEntry(dst[:start], r, m)
		if excess(dst) <= 0 {
			return dst
		}
	}
	// What is left over is in the breadcrumbs, the ids, the logger name or
	// attribute keys: drop the breadcrumbs and the attributes and cut every
	// string to a share of the limit. A string's encoding is at most six
	// times its length (an escaped byte), so this always fits a limit of a
	// few kilobytes.
	share := max((limit-600)/(6*10), 16)
	m2 := *m
	m2.breadcrumbs = nil
	m2.installID, m2.sessionID, m2.userID = truncate(m.installID, share), truncate(m.sessionID, share), truncate(m.userID, share)
	if m.activeRun != nil {
		m2.activeRun = &ActiveRun{ThreadID: truncate(m.activeRun.ThreadID, share), RunID: truncate(m.activeRun.RunID, share)}
	}
	r.Logger, r.Message = truncate(r.Logger, share), truncate(r.Message, share)
	r.Error, r.StackTrace = truncate(r.Error, share), truncate(r.StackTrace, share)
	r.TraceID, r.SpanID = truncate(r.TraceID, share), truncate(r.SpanID, share)
	if r.NumAttrs() > 0 {
		r = r.ReplaceAttrs([]slog.Attr{slog.String("fieldlog.truncated", "attributes dropped")})
	}
	return appendEntry(dst[:start], r, &m2)
}

// cutField shortens *s so that the encoding shrinks by at least over bytes
// (strings grow when escaped, so cutting the raw length is enough). It
// reports whether it changed anything.
func cutField(s *string, over int) bool {
	if len(*s) == 0 || over <= 0 {
		return false
	}
	keep := max(len(*s)-over-len(truncMarker), 0)
	n := truncate(*s, keep)
	if n == *s {
		return false
	}
	*s = n
	return true
}

// truncate cuts s to at most n bytes on a rune boundary and adds the
// marker; a string that already fits is returned as is.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncMarker
}

// cutAttrs shortens the longest string attribute values until the
// attributes have shrunk by over bytes; if strings are not enough, the
// attributes are replaced by one saying they were dropped.
func cutAttrs(r *logrecord.Record, over int) bool {
	if r.NumAttrs() == 0 {
		return false
	}
	before := len(appendAttrs(nil, r))
	// Find the cap on string lengths that frees enough space.
	lo, hi := 0, before
	for lo < hi {
		mid := (lo + hi + 1) / 2
		cut := capStrings(r.AttrsSlice(), mid, 0)
		if before-len(appendAttrs(nil, ptr(r.ReplaceAttrs(cut)))) >= over {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := capStrings(r.AttrsSlice(), lo, 0)
	if before-len(appendAttrs(nil, ptr(r.ReplaceAttrs(cut)))) >= over {
		*r = r.ReplaceAttrs(cut)
		return true
	}
	*r = r.ReplaceAttrs([]slog.Attr{slog.String("fieldlog.truncated", "attributes dropped: "+strconv.Itoa(before)+" bytes")})
	return true
}

func ptr[T any](v T) *T { return &v }

// capStrings returns attrs with every string value longer than n cut to n
// bytes. Non-string values are first coerced as the encoder would.
func capStrings(attrs []slog.Attr, n, depth int) []slog.Attr {
	out := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		v := logrecord.Resolve(a.Value)
		switch {
		case v.Kind() == slog.KindGroup && depth < maxDepth:
			v = slog.GroupValue(capStrings(v.Group(), n, depth+1)...)
		case v.Kind() == slog.KindString:
			v = slog.StringValue(truncate(v.String(), n))
		case v.Kind() == slog.KindAny:
			s := string(appendAny(nil, v.Any(), 0))
			v = slog.StringValue(truncate(s, n))
		}
		out = append(out, slog.Attr{Key: truncate(a.Key, max(n, 64)), Value: v})
	}
	return out
}

// appendEntry appends the wire JSON object for r.
func appendEntry(b []byte, r logrecord.Record, m *entryMeta) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendTimestamp(b, r.Time)
	b = append(b, `,"level":"`...)
	b = append(b, r.Level.Normalize().String()...)
	b = append(b, `","logger":`...)
	b = appendString(b, r.Logger)
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	b = append(b, `,"attributes":`...)
	b = appendAttrs(b, &r)
	b = append(b, `,"error":`...)
	b = appendNullable(b, r.Error)
	b = append(b, `,"stack_trace":`...)
	b = appendNullable(b, r.StackTrace)
	b = append(b, `,"span_id":`...)
	b = appendNullable(b, r.SpanID)
	b = append(b, `,"trace_id":`...)
	b = appendNullable(b, r.TraceID)
	b = append(b, `,"install_id":`...)
	b = appendString(b, m.installID)
	b = append(b, `,"session_id":`...)
	b = appendString(b, m.sessionID)
	b = append(b, `,"user_id":`...)
	b = appendNullable(b, m.userID)
	b = append(b, `,"active_run":`...)
	if m.activeRun == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"thread_id":`...)
		b = appendString(b, m.activeRun.ThreadID)
		b = append(b, `,"run_id":`...)
		b = appendString(b, m.activeRun.RunID)
		b = append(b, '}')
	}
	if len(m.breadcrumbs) > 0 {
		b = append(b, `,"breadcrumbs":[`...)
		for i, c := range m.breadcrumbs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":`...)
			b = appendTimestamp(b, c.Time)
			b = append(b, `,"level":"`...)
			b = append(b, c.Level.Normalize().String()...)
			b = append(b, `","logger":`...)
			b = appendString(b, c.Logger)
			b = append(b, `,"message":`...)
			b = appendString(b, c.Message)
			b = append(b, `,"category":`...)
			b = appendString(b, c.Category)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendTimestamp writes t as RFC 3339 in UTC with millisecond precision
// and a Z suffix. The zero time is written as the Unix epoch, which a
// reader recognises as unknown.
func appendTimestamp(b []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, '"')
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendAttrs(b []byte, r *logrecord.Record) []byte {
	b = append(b, '{')
	first := true
	for a := range r.Attrs {
		b, first = appendAttr(b, a, first, 0)
	}
	return append(b, '}')
}

// appendAttr writes one attribute as a JSON member. Empty attributes and
// empty groups are left out; a group with an empty key is inlined.
func appendAttr(b []byte, a slog.Attr, first bool, depth int) ([]byte, bool) {
	v := logrecord.Resolve(a.Value)
	if a.Key == "" && v.Equal(slog.Value{}) {
		return b, first
	}
	if v.Kind() == slog.KindGroup {
		members := v.Group()
		if len(members) == 0 {
			return b, first
		}
		if a.Key == "" {
			for _, m := range members {
				b, first = appendAttr(b, m, first, depth)
			}
			return b, first
		}
	}
	if !first {
		b = append(b, ',')
	}
	b = appendString(b, a.Key)
	b = append(b, ':')
	return appendValue(b, v, depth), false
}

func appendValue(b []byte, v slog.Value, depth int) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return appendFloat(b, v.Float64())
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return appendString(b, v.Duration().String())
	case slog.KindTime:
		return appendString(b, v.Time().UTC().Format(time.RFC3339Nano))
	case slog.KindGroup:
		if depth >= maxDepth {
			return appendString(b, "!DEPTH")
		}
		b = append(b, '{')
		first := true
		for _, m := range v.Group() {
			b, first = appendAttr(b, m, first, depth+1)
		}
		return append(b, '}')
	default:
		return appendAny(b, v.Any(), depth)
	}
}

// appendFloat writes f as a JSON number; NaN and the infinities, which
// JSON cannot carry, become strings.
func appendFloat(b []byte, f float64) []byte {
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

// appendAny coerces an arbitrary value: JSON-shaped data (maps with string
// keys, slices, numbers, json.Number) keeps its shape; an error becomes its
// text, a time RFC 3339, a Stringer or TextMarshaler its string, anything
// else fmt.Sprint. A method that panics yields a placeholder.
func appendAny(b []byte, x any, depth int) (out []byte) {
	if depth >= maxDepth {
		return appendString(b, "!DEPTH")
	}
	start := len(b)
	defer func() {
		if p := recover(); p != nil {
			out = appendString(b[:start], fmt.Sprintf("!PANIC: %T: %v", x, p))
		}
	}()
	switch x := x.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		return appendFloat(b, float64(x))
	case float64:
		return appendFloat(b, x)
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err == nil && json.Valid([]byte(x)) {
			return append(b, x...)
		}
		return appendString(b, string(x))
	case time.Time:
		return appendString(b, x.UTC().Format(time.RFC3339Nano))
	case time.Duration:
		return appendString(b, x.String())
	case slog.Value:
		return appendValue(b, logrecord.Resolve(x), depth+1)
	case error:
		if isNilPointer(x) {
			return append(b, "null"...)
		}
		return appendString(b, x.Error())
	case fmt.Stringer:
		if isNilPointer(x) {
			return append(b, "null"...)
		}
		return appendString(b, x.String())
	case encoding.TextMarshaler:
		if isNilPointer(x) {
			return append(b, "null"...)
		}
		t, err := x.MarshalText()
		if err != nil {
			return appendString(b, "!ERROR: "+err.Error())
		}
		return appendString(b, string(t))
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendAny(b, x[k], depth+1)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, v := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAny(b, v, depth+1)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, v := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		return append(b, ']')
	case []byte:
		return appendString(b, string(x))
	}
	if isNilPointer(x) {
		return append(b, "null"...)
	}
	return appendString(b, fmt.Sprint(x))
}

// isNilPointer reports whether x holds a nil pointer (or nil map, slice,
// func or channel), on which calling a method would likely panic.
func isNilPointer(x any) bool {
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// control characters, quotes and backslashes are escaped.
func appendString(b []byte, s string) []byte {
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
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript readers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package ingest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendStored appends se as one JSON object: the same value
// json.Marshal(se) gives, with attribute keys sorted and without HTML
// escaping, several times faster.
func appendStored(b []byte, se *StoredEntry) ([]byte, error) {
	b = append(b, `{"timestamp":`...)
	b = appendString(b, se.Timestamp)
	b = append(b, `,"level":`...)
	b = appendString(b, se.Level)
	b = append(b, `,"logger":`...)
	b = appendString(b, se.Logger)
	b = append(b, `,"message":`...)
	b = appendString(b, se.Message)
	b = append(b, `,"attributes":`...)
	var err error
	if se.Attributes == nil {
		b = append(b, "null"...)
	} else if b, err = appendValue(b, se.Attributes, 0); err != nil {
		return b, err
	}
	b = appendNullable(append(b, `,"error":`...), se.Error)
	b = appendNullable(append(b, `,"stack_trace":`...), se.StackTrace)
	b = appendNullable(append(b, `,"span_id":`...), se.SpanID)
	b = appendNullable(append(b, `,"trace_id":`...), se.TraceID)
	b = append(b, `,"install_id":`...)
	b = appendString(b, se.InstallID)
	b = append(b, `,"session_id":`...)
	b = appendString(b, se.SessionID)
	b = appendNullable(append(b, `,"user_id":`...), se.UserID)
	b = append(b, `,"active_run":`...)
	if r := se.ActiveRun; r == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"thread_id":`...)
		b = appendString(b, r.ThreadID)
		b = append(b, `,"run_id":`...)
		b = appendString(b, r.RunID)
		b = append(b, '}')
	}
	if len(se.Breadcrumbs) > 0 {
		b = append(b, `,"breadcrumbs":[`...)
		for i, c := range se.Breadcrumbs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":`...)
			b = appendString(b, c.Timestamp)
			b = append(b, `,"level":`...)
			b = appendString(b, c.Level)
			b = append(b, `,"logger":`...)
			b = appendString(b, c.Logger)
			b = append(b, `,"message":`...)
			b = appendString(b, c.Message)
			b = append(b, `,"category":`...)
			b = appendString(b, c.Category)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(se.Resource) > 0 {
		b = append(b, `,"resource":{`...)
		keys := make([]string, 0, len(se.Resource))
		for k := range se.Resource {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = appendString(b, se.Resource[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendValue appends a decoded JSON value; other Go values go through
// encoding/json.
func appendValue(b []byte, x any, depth int) ([]byte, error) {
	if depth > 10_000 {
		return b, fmt.Errorf("ingest: encode: value nested deeper than 10000")
	}
	var err error
	switch v := x.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case json.Number:
		if v == "" || !json.Valid([]byte(v)) {
			return b, fmt.Errorf("ingest: encode: invalid number %q", string(v))
		}
		return append(b, v...), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			if b, err = appendValue(b, v[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return b, fmt.Errorf("ingest: encode: %w", err)
	}
	return append(b, raw...), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, as encoding/json does but
// leaving <, > and & alone: invalid UTF-8 becomes U+FFFD, control
// characters and U+2028/U+2029 are escaped.
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
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
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

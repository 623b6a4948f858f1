package ingest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
)

// appendRecord appends se as one JSON object, the log record an
// exporter makes of it under naming n, with object keys sorted and
// without HTML escaping:
//
//	{"time":…,"severity_number":…,"severity_text":…,"scope":…,"body":…,
//	 "trace_id":…,"span_id":…,"attributes":{…},"resource":{…}}
//
// time is null when the entry has none; trace_id, span_id and resource
// are left out when absent or empty.
func appendRecord(b []byte, se *StoredEntry, n Naming, named []namedAttr) ([]byte, []namedAttr, error) {
	b = append(b, `{"time":`...)
	if t := se.Time(); t.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	number, text := 0, se.Level
	if lvl, ok := ParseLevel(se.Level); ok {
		number, text = lvl.Severity(), lvl.SeverityText()
	}
	b = strconv.AppendInt(append(b, `,"severity_number":`...), int64(number), 10)
	b = wire.AppendString(append(b, `,"severity_text":`...), text)
	b = wire.AppendString(append(b, `,"scope":`...), se.Logger)
	b = wire.AppendString(append(b, `,"body":`...), se.Message)
	if se.TraceID != nil {
		b = wire.AppendString(append(b, `,"trace_id":`...), *se.TraceID)
	}
	if se.SpanID != nil {
		b = wire.AppendString(append(b, `,"span_id":`...), *se.SpanID)
	}
	b = append(b, `,"attributes":{`...)
	named, fields := se.appendNamed(named[:0], n)
	first := true
	var err error
	eachSorted(named, fields, func(a *namedAttr) {
		if err != nil {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(wire.AppendString(b, a.key), ':')
		switch a.kind {
		case attrString:
			b = wire.AppendString(b, a.str)
		case attrCrumbs:
			b = appendCrumbs(b, se.Breadcrumbs)
		default:
			b, err = appendValue(b, a.val, 0)
		}
	})
	if err != nil {
		return b, named, err
	}
	b = append(b, '}')
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
			b = append(wire.AppendString(b, k), ':')
			b = wire.AppendString(b, se.Resource[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), named, nil
}

// appendCrumbs appends breadcrumbs as the list NamedAttributes gives
// them: objects with sorted keys.
func appendCrumbs(b []byte, crumbs []Breadcrumb) []byte {
	b = append(b, '[')
	for i, c := range crumbs {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(append(b, `{"category":`...), c.Category)
		b = wire.AppendString(append(b, `,"level":`...), c.Level)
		b = wire.AppendString(append(b, `,"logger":`...), c.Logger)
		b = wire.AppendString(append(b, `,"message":`...), c.Message)
		b = wire.AppendString(append(b, `,"timestamp":`...), c.Timestamp)
		b = append(b, '}')
	}
	return append(b, ']')
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
		return wire.AppendString(b, v), nil
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
			b = append(wire.AppendString(b, k), ':')
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

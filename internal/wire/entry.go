package wire

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
)

// An Entry is one log entry as written on the wire and in stored form.
// Nullable fields are pointers; nil is written as null.
type Entry struct {
	Timestamp string    // written as it is when set, for a server keeping a client's text
	Time      time.Time // written in TimestampLayout when Timestamp is ""
	Level     string    // one of Levels; see LevelName
	Logger    string
	Message   string
	// Attributes is the attributes object, already encoded (AppendAttrs,
	// AppendData); nil is written as null.
	Attributes  []byte
	Error       *string
	StackTrace  *string
	SpanID      *string // ValidSpanID
	TraceID     *string // ValidTraceID
	InstallID   string
	SessionID   string
	UserID      *string
	ActiveRun   *ActiveRun
	Breadcrumbs []Breadcrumb // left out when empty
	// Resource is left out when empty: entries on the wire carry it in the
	// payload, stored entries beside their fields.
	Resource map[string]string
}

// An ActiveRun names the conversation run in progress.
type ActiveRun struct {
	ThreadID string
	RunID    string
}

// A Breadcrumb is a record that came before an error entry.
type Breadcrumb struct {
	Timestamp string    // written as it is when set
	Time      time.Time // written in TimestampLayout when Timestamp is ""
	Level     string    // one of Levels
	Logger    string
	Message   string
	Category  string // one of Categories
}

// AppendEntry appends e as a JSON object with the contract's fields in
// the contract's order.
func AppendEntry(b []byte, e *Entry) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendTimestamp(b, e.Timestamp, e.Time)
	b = append(b, `,"level":`...)
	b = AppendString(b, e.Level)
	b = append(b, `,"logger":`...)
	b = AppendString(b, e.Logger)
	b = append(b, `,"message":`...)
	b = AppendString(b, e.Message)
	b = append(b, `,"attributes":`...)
	if e.Attributes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Attributes...)
	}
	b = appendNullable(append(b, `,"error":`...), e.Error)
	b = appendNullable(append(b, `,"stack_trace":`...), e.StackTrace)
	b = appendNullable(append(b, `,"span_id":`...), e.SpanID)
	b = appendNullable(append(b, `,"trace_id":`...), e.TraceID)
	b = append(b, `,"install_id":`...)
	b = AppendString(b, e.InstallID)
	b = append(b, `,"session_id":`...)
	b = AppendString(b, e.SessionID)
	b = appendNullable(append(b, `,"user_id":`...), e.UserID)
	b = append(b, `,"active_run":`...)
	if r := e.ActiveRun; r == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"thread_id":`...)
		b = AppendString(b, r.ThreadID)
		b = append(b, `,"run_id":`...)
		b = AppendString(b, r.RunID)
		b = append(b, '}')
	}
	if len(e.Breadcrumbs) > 0 {
		b = append(b, `,"breadcrumbs":[`...)
		for i := range e.Breadcrumbs {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendBreadcrumb(b, &e.Breadcrumbs[i])
		}
		b = append(b, ']')
	}
	if len(e.Resource) > 0 {
		b = append(b, `,"resource":`...)
		b = AppendResource(b, e.Resource)
	}
	return append(b, '}')
}

// AppendBreadcrumb appends c as a JSON object.
func AppendBreadcrumb(b []byte, c *Breadcrumb) []byte {
	b = append(b, `{"timestamp":`...)
	b = appendTimestamp(b, c.Timestamp, c.Time)
	b = append(b, `,"level":`...)
	b = AppendString(b, c.Level)
	b = append(b, `,"logger":`...)
	b = AppendString(b, c.Logger)
	b = append(b, `,"message":`...)
	b = AppendString(b, c.Message)
	b = append(b, `,"category":`...)
	b = AppendString(b, c.Category)
	return append(b, '}')
}

// AppendResource appends a resource object: string values, keys sorted.
func AppendResource(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, m[k])
	}
	return append(b, '}')
}

func appendTimestamp(b []byte, text string, t time.Time) []byte {
	if text != "" {
		return AppendString(b, text)
	}
	return AppendTime(b, t)
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return AppendString(b, *s)
}

// AppendAck appends the server's answer to a payload whose n entries it
// accepted: {"accepted":n}.
func AppendAck(b []byte, n int) []byte {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

// ParseAck reads a server's answer: it returns n and true for a JSON
// object whose "accepted" member is the integer n (other members are
// allowed), false for anything else (an HTML page, an empty body).
func ParseAck(body []byte) (n int, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return 0, false
	}
	var ack map[string]json.RawMessage
	if err := json.Unmarshal(body, &ack); err != nil {
		return 0, false
	}
	raw, found := ack[FieldAccepted]
	if !found {
		return 0, false
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paths and limits of the contract.
const (
	LogsPath          = "/api/v1/logs"
	ConfigPath        = "/api/v1/config/logging"
	ErrorsTopPath     = "/api/v1/errors/top"
	AttachmentsPath   = "/api/v1/attachments"
	HealthPath        = "/healthz"
	DefaultMaxBody    = 1 << 20 // bytes of a request body, after gzip
	MaxAttributeDepth = 32      // nesting of attribute values
)

// A Payload is one POST to the logs endpoint.
type Payload struct {
	Logs     []Entry           `json:"logs"`
	Resource map[string]string `json:"resource,omitempty"`
}

// An Entry is one log record on the wire. Nullable fields are pointers.
type Entry struct {
	Timestamp   string         `json:"timestamp"`
	Level       string         `json:"level"`
	Logger      string         `json:"logger"`
	Message     string         `json:"message"`
	Attributes  map[string]any `json:"attributes"`
	Error       *string        `json:"error"`
	StackTrace  *string        `json:"stack_trace"`
	SpanID      *string        `json:"span_id"`
	TraceID     *string        `json:"trace_id"`
	InstallID   string         `json:"install_id"`
	SessionID   string         `json:"session_id"`
	UserID      *string        `json:"user_id"`
	ActiveRun   *ActiveRun     `json:"active_run"`
	Breadcrumbs []Breadcrumb   `json:"breadcrumbs,omitempty"`
}

// An ActiveRun names the conversation run in progress.
type ActiveRun struct {
	ThreadID string `json:"thread_id"`
	RunID    string `json:"run_id"`
}

// A Breadcrumb is a record that came before an error entry.
type Breadcrumb struct {
	Timestamp string `json:"timestamp"`
	Level     string `json:"level"`
	Logger    string `json:"logger"`
	Message   string `json:"message"`
	Category  string `json:"category"`
}

// Levels and categories the contract allows.
var (
	Levels     = []string{"trace", "debug", "info", "warning", "error", "fatal"}
	Categories = []string{"ui", "network", "system", "user"}
)

// A Violation is one breach of the contract, with the JSON path where it
// is, such as logs[3].level.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (v Violation) String() string { return v.Path + ": " + v.Message }

// A ValidationError lists every violation found in a payload.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("ingest: invalid payload: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 10 {
			fmt.Fprintf(&b, "and %d more", len(e.Violations)-10)
			break
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// Decoding errors.
var (
	// ErrTooLarge is returned when the body exceeds the byte limit.
	ErrTooLarge = errors.New("ingest: payload too large")
	// ErrMalformed is wrapped by errors for bodies that are not JSON.
	ErrMalformed = errors.New("ingest: malformed JSON")
)

// Decode reads one payload of at most limit bytes from r, validates it
// against the contract and returns it. It returns ErrTooLarge when the
// body is longer than limit (counted while reading, whatever the request
// claimed), an error wrapping ErrMalformed for anything that is not one
// JSON value, and a *ValidationError listing every violation otherwise.
// Unknown fields are ignored, as the production backend does.
func Decode(r io.Reader, limit int64) (*Payload, error) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ingest: read body: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, ErrTooLarge
	}
	return DecodeBytes(raw)
}

// DecodeBytes is Decode for a body already in memory.
func DecodeBytes(raw []byte) (*Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	}
	var v validator
	p := v.payload(doc)
	if len(v.violations) > 0 {
		return nil, &ValidationError{Violations: v.violations}
	}
	return p, nil
}

// Validate checks an already decoded payload, as a backend that builds
// its own would: it reports every violation, or nil.
func Validate(p *Payload) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ingest: encode payload: %w", err)
	}
	_, err = DecodeBytes(raw)
	return err
}

type validator struct {
	violations []Violation
}

func (v *validator) add(path, format string, args ...any) {
	v.violations = append(v.violations, Violation{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) payload(doc any) *Payload {
	obj, ok := doc.(map[string]any)
	if !ok {
		v.add("$", "must be an object with a logs array")
		return nil
	}
	p := &Payload{}
	logs, present := obj["logs"]
	switch arr, ok := logs.([]any); {
	case !present:
		v.add("logs", "is required")
	case !ok:
		v.add("logs", "must be an array")
	default:
		p.Logs = make([]Entry, 0, len(arr))
		for i, e := range arr {
			p.Logs = append(p.Logs, v.entry(fmt.Sprintf("logs[%d]", i), e))
		}
	}
	if res, present := obj["resource"]; present && res != nil {
		m, ok := res.(map[string]any)
		if !ok {
			v.add("resource", "must be an object of strings")
		} else {
			p.Resource = make(map[string]string, len(m))
			for _, k := range sortedKeys(m) {
				s, ok := m[k].(string)
				if !ok {
					v.add("resource."+k, "must be a string, got %s", kind(m[k]))
					continue
				}
				p.Resource[k] = s
			}
		}
	}
	return p
}

func (v *validator) entry(path string, doc any) Entry {
	var e Entry
	obj, ok := doc.(map[string]any)
	if !ok {
		v.add(path, "must be an object")
		return e
	}
	e.Timestamp = v.timestamp(path+".timestamp", obj["timestamp"], true)
	e.Level = v.enum(path+".level", obj["level"], Levels)
	e.Logger = v.str(path+".logger", obj, "logger")
	e.Message = v.str(path+".message", obj, "message")
	e.InstallID = v.str(path+".install_id", obj, "install_id")
	e.SessionID = v.str(path+".session_id", obj, "session_id")
	e.Error = v.nullable(path+".error", obj["error"])
	e.StackTrace = v.nullable(path+".stack_trace", obj["stack_trace"])
	e.UserID = v.nullable(path+".user_id", obj["user_id"])
	e.SpanID = v.hexID(path+".span_id", obj["span_id"], 16)
	e.TraceID = v.hexID(path+".trace_id", obj["trace_id"], 32)
	switch a := obj["attributes"].(type) {
	case nil:
		e.Attributes = map[string]any{}
	case map[string]any:
		if d := depth(a, 0); d > MaxAttributeDepth {
			v.add(path+".attributes", "nested deeper than %d levels", MaxAttributeDepth)
		}
		e.Attributes = a
	default:
		v.add(path+".attributes", "must be an object, got %s", kind(a))
	}
	switch r := obj["active_run"].(type) {
	case nil:
	case map[string]any:
		e.ActiveRun = &ActiveRun{
			ThreadID: v.str(path+".active_run.thread_id", r, "thread_id"),
			RunID:    v.str(path+".active_run.run_id", r, "run_id"),
		}
	default:
		v.add(path+".active_run", "must be null or an object with thread_id and run_id, got %s", kind(r))
	}
	switch bc := obj["breadcrumbs"].(type) {
	case nil:
	case []any:
		for i, c := range bc {
			cp := fmt.Sprintf("%s.breadcrumbs[%d]", path, i)
			co, ok := c.(map[string]any)
			if !ok {
				v.add(cp, "must be an object")
				continue
			}
			e.Breadcrumbs = append(e.Breadcrumbs, Breadcrumb{
				Timestamp: v.timestamp(cp+".timestamp", co["timestamp"], true),
				Level:     v.enum(cp+".level", co["level"], Levels),
				Logger:    v.str(cp+".logger", co, "logger"),
				Message:   v.str(cp+".message", co, "message"),
				Category:  v.enum(cp+".category", co["category"], Categories),
			})
		}
	default:
		v.add(path+".breadcrumbs", "must be an array, got %s", kind(bc))
	}
	return e
}

func (v *validator) str(path string, obj map[string]any, key string) string {
	x, present := obj[key]
	if !present {
		v.add(path, "is required")
		return ""
	}
	s, ok := x.(string)
	if !ok {
		v.add(path, "must be a string, got %s", kind(x))
	}
	return s
}

func (v *validator) nullable(path string, x any) *string {
	switch s := x.(type) {
	case nil:
		return nil
	case string:
		return &s
	}
	v.add(path, "must be a string or null, got %s", kind(x))
	return nil
}

func (v *validator) enum(path string, x any, allowed []string) string {
	s, ok := x.(string)
	if !ok {
		if x == nil {
			v.add(path, "is required")
		} else {
			v.add(path, "must be a string, got %s", kind(x))
		}
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v.add(path, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
	return s
}

func (v *validator) timestamp(path string, x any, required bool) string {
	s, ok := x.(string)
	if !ok {
		if x != nil || required {
			v.add(path, "must be an RFC 3339 UTC timestamp such as 2026-02-06T12:00:00.123Z")
		}
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		v.add(path, "must be an RFC 3339 UTC timestamp with a Z suffix, got %q", s)
		return s
	}
	_ = t
	return s
}

func (v *validator) hexID(path string, x any, n int) *string {
	switch s := x.(type) {
	case nil:
		return nil
	case string:
		if len(s) != n || strings.IndexFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) >= 0 {
			v.add(path, "must be %d lower-case hex digits or null, got %q", n, s)
		}
		return &s
	}
	v.add(path, "must be a string or null, got %s", kind(x))
	return nil
}

// depth returns how deeply x nests objects and arrays.
func depth(x any, d int) int {
	if d > MaxAttributeDepth {
		return d
	}
	best := d
	switch t := x.(type) {
	case map[string]any:
		for _, c := range t {
			best = max(best, depth(c, d+1))
		}
	case []any:
		for _, c := range t {
			best = max(best, depth(c, d+1))
		}
	}
	return best
}

func kind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return strconv.Quote(fmt.Sprintf("%T", x))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

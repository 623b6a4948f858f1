package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
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

// An Entry is one log record on the wire. Nullable fields are pointers; a
// nil pointer is sent as null.
type Entry struct {
	Timestamp   string         `json:"timestamp"` // RFC 3339, UTC, Z suffix
	Level       string         `json:"level"`     // one of Levels
	Logger      string         `json:"logger"`
	Message     string         `json:"message"`
	Attributes  map[string]any `json:"attributes"` // numbers decode as json.Number
	Error       *string        `json:"error"`
	StackTrace  *string        `json:"stack_trace"`
	SpanID      *string        `json:"span_id"`  // 16 lower-case hex digits
	TraceID     *string        `json:"trace_id"` // 32 lower-case hex digits
	InstallID   string         `json:"install_id"`
	SessionID   string         `json:"session_id"`
	UserID      *string        `json:"user_id"`
	ActiveRun   *ActiveRun     `json:"active_run"`
	Breadcrumbs []Breadcrumb   `json:"breadcrumbs,omitempty"` // error and fatal entries only, oldest first
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
	Category  string `json:"category"` // one of Categories
}

// Levels and categories the contract allows: exactly these lower-case
// names. Levels are logrecord's wire names, lowest first.
var (
	Levels     = []string{"trace", "debug", "info", "warning", "error", "fatal"}
	Categories = []string{"ui", "network", "system", "user"}
)

// ParseLevel returns the level of a wire name. Unlike
// [logrecord.ParseLevel] it accepts only the six exact lower-case names.
func ParseLevel(name string) (logrecord.Level, bool) {
	l, err := logrecord.ParseLevel(name)
	if err != nil || l.String() != name {
		return logrecord.LevelInfo, false
	}
	return l, true
}

// A Violation is one breach of the contract, with the JSON path where it
// is, such as logs[3].level.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (v Violation) String() string { return v.Path + ": " + v.Message }

// A ValidationError lists every violation found in a payload, in document
// order.
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
	// ErrMalformed is wrapped by errors for bodies that are not one JSON
	// value, or nest deeper than encoding/json allows.
	ErrMalformed = errors.New("ingest: malformed JSON")
)

// maxViolations bounds the report of one payload, so a hostile body cannot
// make the answer larger than itself many times over.
const maxViolations = 1000

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Decode reads one payload of at most limit bytes from r, validates it
// against the contract and returns it. It returns ErrTooLarge when the
// body is longer than limit (counted while reading, whatever the request
// claimed), an error wrapping ErrMalformed for anything that is not one
// JSON value, and a *ValidationError listing every violation otherwise.
// Errors from r are returned wrapped.
//
// Unknown fields are ignored, as the production backend does, except
// camelCase or otherwise respelled forms of the contract's own names
// (stackTrace, Level), which are violations: they would be lost silently.
func Decode(r io.Reader, limit int64) (*Payload, error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("ingest: read body: %w", err)
	}
	if int64(buf.Len()) > limit {
		return nil, ErrTooLarge
	}
	// Every string in the result is a copy, so the buffer can be reused.
	return DecodeBytes(buf.Bytes())
}

// DecodeBytes is Decode for a body already in memory.
func DecodeBytes(raw []byte) (*Payload, error) {
	if p, ok := decodeFast(raw); ok {
		return p, nil
	}
	return decodeGeneric(raw)
}

// decodeGeneric decodes raw into a tree and walks it, collecting every
// violation.
func decodeGeneric(raw []byte) (*Payload, error) {
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

// Validate checks a payload built in code, as the server would check it
// on the wire: it returns nil or a *ValidationError with every violation.
// An attribute value that JSON cannot carry (NaN, a channel) makes it
// return an encoding error instead.
func Validate(p *Payload) error {
	if p == nil {
		return &ValidationError{Violations: []Violation{{Path: "$", Message: "must be an object with a logs array"}}}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ingest: encode payload: %w", err)
	}
	_, err = DecodeBytes(raw)
	return err
}

// loc is the JSON path of a value, built into a string only when a
// violation is reported.
type loc struct {
	entry int    // index in logs; -1 outside the logs array
	crumb int    // index in breadcrumbs; -1 outside them
	group string // "active_run" or "breadcrumbs" inside an entry
	field string
}

func (l loc) String() string {
	if l.entry < 0 {
		return l.field
	}
	var b strings.Builder
	b.WriteString("logs[")
	b.WriteString(strconv.Itoa(l.entry))
	b.WriteByte(']')
	if l.group != "" {
		b.WriteByte('.')
		b.WriteString(l.group)
		if l.crumb >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(l.crumb))
			b.WriteByte(']')
		}
	}
	if l.field != "" {
		b.WriteByte('.')
		b.WriteString(l.field)
	}
	return b.String()
}

func (l loc) with(field string) loc { l.field = field; return l }

type validator struct {
	violations []Violation
	truncated  bool
}

func (v *validator) add(at loc, format string, args ...any) {
	if len(v.violations) >= maxViolations {
		if !v.truncated {
			v.truncated = true
			v.violations = append(v.violations, Violation{Path: "$", Message: "too many violations; the rest are not listed"})
		}
		return
	}
	v.violations = append(v.violations, Violation{Path: at.String(), Message: fmt.Sprintf(format, args...)})
}

func (v *validator) payload(doc any) *Payload {
	top := loc{entry: -1, crumb: -1}
	obj, ok := doc.(map[string]any)
	if !ok {
		v.add(top.with("$"), "must be an object with a logs array, got %s", kind(doc))
		return nil
	}
	p := &Payload{}
	logs, present := obj["logs"]
	switch arr, ok := logs.([]any); {
	case !present:
		v.add(top.with("logs"), "is required")
	case !ok:
		v.add(top.with("logs"), "must be an array, got %s", kind(logs))
	default:
		p.Logs = make([]Entry, len(arr))
		for i, e := range arr {
			v.entry(&p.Logs[i], loc{entry: i, crumb: -1}, e)
		}
	}
	if res, present := obj["resource"]; present && res != nil {
		m, ok := res.(map[string]any)
		if !ok {
			v.add(top.with("resource"), "must be an object of strings, got %s", kind(res))
		} else if len(m) > 0 {
			p.Resource = make(map[string]string, len(m))
			for _, k := range sortedKeys(m) {
				s, ok := m[k].(string)
				if !ok {
					v.add(top.with("resource."+k), "must be a string, got %s", kind(m[k]))
					continue
				}
				p.Resource[k] = s
			}
		}
	}
	return p
}

// entryFields and the others are the contract's names, for telling a
// respelled name from an unknown one.
var (
	entryFields = []string{"timestamp", "level", "logger", "message", "attributes", "error", "stack_trace",
		"span_id", "trace_id", "install_id", "session_id", "user_id", "active_run", "breadcrumbs"}
	runFields   = []string{"thread_id", "run_id"}
	crumbFields = []string{"timestamp", "level", "logger", "message", "category"}
)

func (v *validator) entry(e *Entry, at loc, doc any) {
	obj, ok := doc.(map[string]any)
	if !ok {
		v.add(at, "must be an object, got %s", kind(doc))
		return
	}
	e.Timestamp = v.timestamp(at.with("timestamp"), obj, "timestamp")
	e.Level = v.enum(at.with("level"), obj, "level", Levels)
	e.Logger = v.str(at.with("logger"), obj, "logger")
	e.Message = v.str(at.with("message"), obj, "message")
	switch a := obj["attributes"].(type) {
	case nil:
	case map[string]any:
		if depth(a, 1) > MaxAttributeDepth {
			v.add(at.with("attributes"), "must not nest deeper than %d levels", MaxAttributeDepth)
		}
		e.Attributes = a
	default:
		v.add(at.with("attributes"), "must be an object, got %s", kind(a))
	}
	e.Error = v.nullable(at.with("error"), obj["error"])
	e.StackTrace = v.nullable(at.with("stack_trace"), obj["stack_trace"])
	e.SpanID = v.hexID(at.with("span_id"), obj["span_id"], 16)
	e.TraceID = v.hexID(at.with("trace_id"), obj["trace_id"], 32)
	e.InstallID = v.str(at.with("install_id"), obj, "install_id")
	e.SessionID = v.str(at.with("session_id"), obj, "session_id")
	e.UserID = v.nullable(at.with("user_id"), obj["user_id"])
	switch r := obj["active_run"].(type) {
	case nil:
	case map[string]any:
		ra := at
		ra.group = "active_run"
		e.ActiveRun = &ActiveRun{
			ThreadID: v.str(ra.with("thread_id"), r, "thread_id"),
			RunID:    v.str(ra.with("run_id"), r, "run_id"),
		}
		v.respelled(ra, r, runFields)
	default:
		v.add(at.with("active_run"), "must be null or an object with thread_id and run_id, got %s", kind(r))
	}
	switch bc := obj["breadcrumbs"].(type) {
	case nil:
	case []any:
		if len(bc) > 0 {
			e.Breadcrumbs = make([]Breadcrumb, len(bc))
		}
		for i, c := range bc {
			ca := at
			ca.group, ca.crumb = "breadcrumbs", i
			co, ok := c.(map[string]any)
			if !ok {
				v.add(ca, "must be an object, got %s", kind(c))
				continue
			}
			e.Breadcrumbs[i] = Breadcrumb{
				Timestamp: v.timestamp(ca.with("timestamp"), co, "timestamp"),
				Level:     v.enum(ca.with("level"), co, "level", Levels),
				Logger:    v.str(ca.with("logger"), co, "logger"),
				Message:   v.str(ca.with("message"), co, "message"),
				Category:  v.enum(ca.with("category"), co, "category", Categories),
			}
			v.respelled(ca, co, crumbFields)
		}
	default:
		v.add(at.with("breadcrumbs"), "must be an array, got %s", kind(bc))
	}
	v.respelled(at, obj, entryFields)
}

// respelled reports keys of obj that are a contract name in another
// spelling (stackTrace, Stack_Trace, installID): a client that sends them
// would lose the value silently. Other unknown keys are ignored.
func (v *validator) respelled(at loc, obj map[string]any, names []string) {
	known := 0
	for _, n := range names {
		if _, ok := obj[n]; ok {
			known++
		}
	}
	if known == len(obj) {
		return // the common case: nothing unknown
	}
	var odd []string
	for k := range obj {
		if slices.Contains(names, k) {
			continue
		}
		if n := snake(k); n != k && slices.Contains(names, n) {
			odd = append(odd, k)
		}
	}
	slices.Sort(odd)
	for _, k := range odd {
		v.add(at.with(k), "unknown field; the contract's name is %s (names are snake_case)", snake(k))
	}
}

// snake returns the snake_case spelling of a camelCase or PascalCase name:
// stackTrace → stack_trace, installID → install_id, Level → level.
func snake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			if i > 0 && s[i-1] != '_' && !('A' <= s[i-1] && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (v *validator) str(at loc, obj map[string]any, key string) string {
	x, present := obj[key]
	if !present {
		v.add(at, "is required")
		return ""
	}
	s, ok := x.(string)
	if !ok {
		v.add(at, "must be a string, got %s", kind(x))
	}
	return s
}

func (v *validator) nullable(at loc, x any) *string {
	switch s := x.(type) {
	case nil:
		return nil
	case string:
		return &s
	}
	v.add(at, "must be a string or null, got %s", kind(x))
	return nil
}

func (v *validator) enum(at loc, obj map[string]any, key string, allowed []string) string {
	s := v.str(at, obj, key)
	if _, isStr := obj[key].(string); !isStr || slices.Contains(allowed, s) {
		return s
	}
	v.add(at, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
	return s
}

func (v *validator) timestamp(at loc, obj map[string]any, key string) string {
	s := v.str(at, obj, key)
	if _, isStr := obj[key].(string); !isStr {
		return s
	}
	if !validTimestamp(s) {
		v.add(at, "must be an RFC 3339 UTC timestamp with a Z suffix such as 2026-02-06T12:00:00.123Z, got %q", s)
	}
	return s
}

// validTimestamp reports whether s is RFC 3339 in UTC with a Z suffix.
func validTimestamp(s string) bool {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' || s[10] != 'T' {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func (v *validator) hexID(at loc, x any, n int) *string {
	switch s := x.(type) {
	case nil:
		return nil
	case string:
		if !lowerHex(s, n) {
			v.add(at, "must be %d lower-case hex digits or null, got %q", n, s)
		}
		return &s
	}
	v.add(at, "must be a string or null, got %s", kind(x))
	return nil
}

func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// depth returns how deeply x nests objects and arrays, x being at level d;
// it stops counting past MaxAttributeDepth.
func depth(x any, d int) int {
	if d > MaxAttributeDepth {
		return d
	}
	best := d
	switch t := x.(type) {
	case map[string]any:
		for _, c := range t {
			if _, scalar := c.(string); !scalar {
				best = max(best, depth(c, d+1))
			}
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
	return fmt.Sprintf("%T", x)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

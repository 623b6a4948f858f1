package ingest

import (
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// Paths of the contract.
const (
	LogsPath        = "/api/v1/logs"
	ConfigPath      = "/api/v1/config/logging"
	ErrorsTopPath   = "/api/v1/errors/top"
	AttachmentsPath = "/api/v1/attachments"
	HealthPath      = "/healthz"
)

// Limits of the contract.
const (
	// DefaultMaxBody is the largest request body, in bytes, after gzip.
	DefaultMaxBody = 1 << 20
	// DefaultMaxEntries is the most entries one payload may carry. The
	// smallest valid entry takes 89 bytes, so no valid body of
	// DefaultMaxBody bytes reaches it; it bounds what a hostile body costs.
	DefaultMaxEntries = 12_000
	// MaxAttributeDepth is how deeply strict mode lets attribute values
	// nest below the attributes object: the client's own cap.
	MaxAttributeDepth = wire.MaxAttributeDepth
	// MaxNesting is how deeply any body may nest objects and arrays, in
	// either mode; deeper bodies are unreadable. The production backend
	// fails somewhere past several hundred levels, depending on its
	// interpreter; this stays below every such limit.
	MaxNesting = wire.MaxNesting
	// MaxIntDigits is the most digits an integer may have; a longer one
	// makes the body unreadable, as it does to the production backend
	// (Python's limit on converting digits to int).
	MaxIntDigits = wire.MaxIntDigits
)

// TimestampLayout is how a client writes an entry's time: RFC 3339 in
// UTC with milliseconds, such as 2026-02-06T12:00:00.123Z.
const TimestampLayout = wire.TimestampLayout

// A Payload is one POST to the logs endpoint.
type Payload struct {
	Logs     []Entry           `json:"logs"`
	Resource map[string]string `json:"resource"` // required on the wire; may be empty
}

// An Entry is one log record on the wire. Nullable fields are pointers; a
// nil pointer is sent as null.
type Entry struct {
	Timestamp   string         `json:"timestamp"` // TimestampLayout; compat mode keeps any text
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
	Timestamp string `json:"timestamp"` // TimestampLayout
	Level     string `json:"level"`     // one of Levels
	Logger    string `json:"logger"`
	Message   string `json:"message"`
	Category  string `json:"category"` // one of Categories
}

// NewBreadcrumb returns the wire form of a record that came before an
// error: its time in TimestampLayout and its level's wire name.
func NewBreadcrumb(t time.Time, level logrecord.Level, logger, message, category string) Breadcrumb {
	return Breadcrumb{
		Timestamp: t.UTC().Format(TimestampLayout),
		Level:     level.Normalize().String(),
		Logger:    logger, Message: message, Category: category,
	}
}

// Levels and categories the contract allows: exactly these lower-case
// names. Levels are logrecord's wire names, lowest first.
var (
	Levels     = wire.Levels
	Categories = wire.Categories
)

// ParseLevel returns the level of a wire name. Unlike
// [logrecord.ParseLevel] it accepts only the six exact lower-case names,
// as the production backend does.
func ParseLevel(name string) (logrecord.Level, bool) { return wire.ParseLevel(name) }

func isCategory(s string) bool { return wire.IsCategory(s) }

// ParseTimestamp reads a timestamp as strict mode requires it: RFC 3339
// with an offset (Z or ±hh:mm, T and Z in either case) and any number of
// fractional digits, such as 2026-02-06T12:00:00.123Z or
// 2026-02-06T14:00:00.123456+02:00. A leap second reads as the next
// second.
func ParseTimestamp(s string) (time.Time, bool) {
	return parseTime(s, false)
}

// parseTime reads RFC 3339; lenient also takes a space for the T and a
// missing offset as UTC, which Python's isoformat writes.
func parseTime[T text](s T, lenient bool) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05") || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	switch s[10] {
	case 'T', 't':
	case ' ':
		if !lenient {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			if n <= 9 {
				nsec = nsec*10 + int(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		for i := n; i <= 9; i++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	loc := time.UTC
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 0 && lenient:
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off := oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
		if off != 0 {
			loc = time.FixedZone("", off)
		}
	default:
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// text is what the decoding functions read: a string or the bytes of one.
type text interface{ ~string | ~[]byte }

func digits[T text](s T) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func lowerHex[T text](s T, n int) bool { return wire.LowerHex(s, n) }

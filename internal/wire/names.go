package wire

import (
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// Limits of the contract.
const (
	// MaxAttributeDepth is how deeply attribute values may nest: groups
	// and lists at most this many levels below the attributes object. It
	// is logrecord's coercion limit, so a client never writes deeper.
	MaxAttributeDepth = logrecord.MaxDepth
	// MaxNesting is how deeply any body may nest objects and arrays;
	// deeper bodies are unreadable. The production backend fails somewhere
	// past several hundred levels, depending on its interpreter; this
	// stays below every such limit.
	MaxNesting = 512
	// MaxIntDigits is the most digits a number may have: the production
	// backend cannot read a longer integer (Python's limit on converting
	// digits to int). Writers send longer numbers as strings.
	MaxIntDigits = 4300
)

// TimestampLayout is how an entry's time is written: RFC 3339 in UTC with
// milliseconds, such as 2026-02-06T12:00:00.123Z.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// InvalidKeyPrefix starts the attribute that keeps a field's original
// value when the field was repaired (by a client) or moved aside (by a
// server in compat mode): fieldlog.invalid.trace_id.
const InvalidKeyPrefix = "fieldlog.invalid."

// Field names of the payload, an entry, its active run and a breadcrumb.
const (
	FieldLogs     = "logs"
	FieldResource = "resource"

	FieldTimestamp   = "timestamp"
	FieldLevel       = "level"
	FieldLogger      = "logger"
	FieldMessage     = "message"
	FieldAttributes  = "attributes"
	FieldError       = "error"
	FieldStackTrace  = "stack_trace"
	FieldSpanID      = "span_id"
	FieldTraceID     = "trace_id"
	FieldInstallID   = "install_id"
	FieldSessionID   = "session_id"
	FieldUserID      = "user_id"
	FieldActiveRun   = "active_run"
	FieldBreadcrumbs = "breadcrumbs"

	FieldThreadID = "thread_id"
	FieldRunID    = "run_id"

	FieldCategory = "category"

	// FieldAccepted is the member of the server's answer that counts the
	// entries it accepted: {"accepted": 3}.
	FieldAccepted = "accepted"
)

// The contract's names, in the order they are written. Read only.
var (
	PayloadFields = []string{FieldLogs, FieldResource}
	EntryFields   = []string{FieldTimestamp, FieldLevel, FieldLogger, FieldMessage, FieldAttributes, FieldError,
		FieldStackTrace, FieldSpanID, FieldTraceID, FieldInstallID, FieldSessionID, FieldUserID, FieldActiveRun,
		FieldBreadcrumbs}
	RunFields        = []string{FieldThreadID, FieldRunID}
	BreadcrumbFields = []string{FieldTimestamp, FieldLevel, FieldLogger, FieldMessage, FieldCategory}
	// Levels are the six level names, lowest first: logrecord's wire names.
	Levels = []string{"trace", "debug", "info", "warning", "error", "fatal"}
	// Categories are the breadcrumb categories.
	Categories = []string{logrecord.CategoryUI, logrecord.CategoryNetwork, logrecord.CategorySystem, logrecord.CategoryUser}
)

// LevelName returns the wire name of l: the name of the nearest level at
// or below it, always one of Levels.
func LevelName(l logrecord.Level) string { return l.Normalize().String() }

// ParseLevel returns the level of a wire name. Unlike logrecord.ParseLevel
// it accepts only the six exact lower-case names, as the production
// backend does.
func ParseLevel(name string) (logrecord.Level, bool) {
	switch name {
	case "trace":
		return logrecord.LevelTrace, true
	case "debug":
		return logrecord.LevelDebug, true
	case "info":
		return logrecord.LevelInfo, true
	case "warning":
		return logrecord.LevelWarning, true
	case "error":
		return logrecord.LevelError, true
	case "fatal":
		return logrecord.LevelFatal, true
	}
	return logrecord.LevelInfo, false
}

// IsCategory reports whether s is one of the breadcrumb categories.
func IsCategory(s string) bool {
	switch s {
	case logrecord.CategoryUI, logrecord.CategoryNetwork, logrecord.CategorySystem, logrecord.CategoryUser:
		return true
	}
	return false
}

// The range of times an entry can carry: years 0001 to 9999, which
// TimestampLayout writes in four digits and every reader parses.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidTime reports whether t can be an entry's timestamp: not the zero
// time (which means unknown) and within years 0001 to 9999 in UTC.
func ValidTime(t time.Time) bool {
	return !t.IsZero() && !t.Before(minTime) && t.Before(maxTime)
}

// LowerHex reports whether s is exactly n lower-case hex digits.
func LowerHex[T ~string | ~[]byte](s T, n int) bool {
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

// ValidTraceID reports whether s is a trace id the contract accepts: 32
// lower-case hex digits.
func ValidTraceID(s string) bool { return LowerHex(s, 32) }

// ValidSpanID reports whether s is a span id the contract accepts: 16
// lower-case hex digits.
func ValidSpanID(s string) bool { return LowerHex(s, 16) }

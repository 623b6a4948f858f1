package logrecord

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// A Level is the severity of a record. The six named levels share their
// numeric values with [log/slog] (so [LevelInfo] is the zero value and
// slog.LevelWarn is [LevelWarning]); fieldlog adds [LevelTrace] below debug
// and [LevelFatal] above error.
type Level int

// The six levels, lowest first.
const (
	LevelTrace   Level = -8
	LevelDebug   Level = Level(slog.LevelDebug)
	LevelInfo    Level = Level(slog.LevelInfo)
	LevelWarning Level = Level(slog.LevelWarn)
	LevelError   Level = Level(slog.LevelError)
	LevelFatal   Level = 12
)

// levels backs Levels.
var levels = [...]Level{LevelTrace, LevelDebug, LevelInfo, LevelWarning, LevelError, LevelFatal}

// Levels returns the six named levels, lowest first.
func Levels() []Level { return levels[:] }

// FromSlog maps a slog level onto the nearest named level at or below it, so
// slog.LevelInfo+2 is [LevelInfo]. Anything below trace is trace.
func FromSlog(l slog.Level) Level {
	return Level(l).Normalize()
}

// Normalize returns the nearest named level at or below l; values below
// [LevelTrace] become trace.
func (l Level) Normalize() Level {
	switch {
	case l >= LevelFatal:
		return LevelFatal
	case l >= LevelError:
		return LevelError
	case l >= LevelWarning:
		return LevelWarning
	case l >= LevelInfo:
		return LevelInfo
	case l >= LevelDebug:
		return LevelDebug
	default:
		return LevelTrace
	}
}

// Slog returns the equivalent slog level.
func (l Level) Slog() slog.Level { return slog.Level(l) }

// String returns the lower-case wire name ("trace", "debug", "info",
// "warning", "error", "fatal"). A level between two names is printed as the
// lower name plus the offset, such as "info+2".
func (l Level) String() string {
	n := l.Normalize()
	var name string
	switch n {
	case LevelTrace:
		name = "trace"
	case LevelDebug:
		name = "debug"
	case LevelInfo:
		name = "info"
	case LevelWarning:
		name = "warning"
	case LevelError:
		name = "error"
	default:
		name = "fatal"
	}
	switch d := l - n; {
	case d > 0:
		return name + "+" + strconv.Itoa(int(d))
	case d < 0:
		return name + strconv.Itoa(int(d))
	}
	return name
}

// Severity returns the OpenTelemetry severity number of the level:
// 1, 5, 9, 13, 17 or 21 for trace to fatal.
func (l Level) Severity() int {
	switch l.Normalize() {
	case LevelTrace:
		return 1
	case LevelDebug:
		return 5
	case LevelInfo:
		return 9
	case LevelWarning:
		return 13
	case LevelError:
		return 17
	default:
		return 21
	}
}

// SeverityText returns the OpenTelemetry severity text of the level:
// TRACE, DEBUG, INFO, WARN, ERROR or FATAL.
func (l Level) SeverityText() string {
	switch l.Normalize() {
	case LevelTrace:
		return "TRACE"
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarning:
		return "WARN"
	case LevelError:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// ParseLevel reads a level name, case-insensitively. It accepts the wire
// names and "warn" for warning.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return LevelDebug, nil
	case "info":
		return LevelInfo, nil
	case "warning", "warn":
		return LevelWarning, nil
	case "error":
		return LevelError, nil
	case "fatal":
		return LevelFatal, nil
	}
	return LevelInfo, fmt.Errorf("logrecord: unknown level %q", s)
}

// MarshalText implements [encoding.TextMarshaler] with the wire name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.Normalize().String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseLevel].
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

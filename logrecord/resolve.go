package logrecord

import (
	"fmt"
	"log/slog"
)

// maxLogValues bounds LogValuers that return LogValuers.
const maxLogValues = 100

// Resolve follows LogValuers like slog.Value.Resolve, but a LogValue
// method that panics becomes a short placeholder string naming the panic,
// not an error value carrying a stack with file paths, and a chain of more
// than 100 LogValuers becomes an error string. Other values are returned
// as they are.
func Resolve(v slog.Value) (out slog.Value) {
	if v.Kind() != slog.KindLogValuer {
		return v
	}
	defer func() {
		if p := recover(); p != nil {
			out = slog.StringValue(fmt.Sprint("!PANIC in LogValue: ", p))
		}
	}()
	for range maxLogValues {
		if v.Kind() != slog.KindLogValuer {
			return v
		}
		v = v.LogValuer().LogValue()
	}
	return slog.StringValue("!ERROR LogValue: too many nested LogValuers")
}

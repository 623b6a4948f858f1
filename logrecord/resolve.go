package logrecord

import "log/slog"

// maxLogValues bounds LogValuers that return LogValuers.
const maxLogValues = 100

// Resolve follows LogValuers like slog.Value.Resolve, but a LogValue
// method that panics becomes a short placeholder string naming the panic
// (its text when it is a string or an error, else its type; the panic
// value is never formatted), not an error value carrying a stack with
// file paths, and a chain of more than 100 LogValuers becomes an error
// string. Other values are returned as they are; [Coerce] also resolves
// the LogValuers inside groups.
func Resolve(v slog.Value) (out slog.Value) {
	if v.Kind() != slog.KindLogValuer {
		return v
	}
	defer func() {
		if p := recover(); p != nil {
			out = slog.StringValue("!PANIC in LogValue: " + panicText(p))
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

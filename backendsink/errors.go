package backendsink

import (
	"errors"
	"log/slog"

	"github.com/soliplex/fieldlog/logrecord"
)

// Why Flush did not empty the queue. Flush returns them, or errors that
// match them with errors.Is; the sink's own trouble otherwise goes to
// Options.OnError, never both.
var (
	// ErrPaused is matched by Flush's error while export is paused: the
	// token was rejected (401, 403) or the endpoint is missing or moved
	// (404, 3xx). Stats().Paused says which; the error also matches the
	// answer's *StatusError.
	ErrPaused = errors.New("backendsink: export paused")
	// ErrOffline is returned by Flush while Options.Network reports the
	// device offline. Records stay queued.
	ErrOffline = errors.New("backendsink: offline; records stay queued")
	// ErrNoToken is returned by Flush while Options.TokenProvider returns
	// "" (before login). Records stay queued.
	ErrNoToken = errors.New("backendsink: no token yet; records stay queued")
	// ErrBackoff is matched by Flush's error while the sink waits before
	// retrying a failed upload; the error also matches the failure (a
	// *StatusError, or the transport's error).
	ErrBackoff = errors.New("backendsink: backing off after a failed upload")
)

// errHeld stops an upload that Options.Gate holds; no caller sees it, as
// Flush bypasses the gate.
var errHeld = errors.New("backendsink: upload held by the gate")

// A stopError says why an upload stopped: it matches kind with errors.Is
// and its cause with errors.As, and carries one prefix.
type stopError struct {
	kind  error  // a sentinel above, or nil
	what  string // what the sink does about it
	cause error
}

func (e *stopError) Error() string { return "backendsink: " + e.what + ": " + e.cause.Error() }

func (e *stopError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (e *stopError) Unwrap() error { return e.cause }

// panicText describes a recovered panic value by its coerced value, never
// formatting the value itself with fmt.
func panicText(p any) string { return logrecord.Coerce(slog.AnyValue(p)).String() }

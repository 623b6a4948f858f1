package remotelevel

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Errors of a fetch.
var (
	// ErrInvalid is returned when the server's answer is not a valid
	// configuration: not JSON, a level name outside the six, min_level
	// missing, too long, or an unexpected status.
	ErrInvalid = errors.New("remotelevel: invalid configuration")
	// ErrNoToken is returned while Options.TokenProvider returns "":
	// nothing is fetched.
	ErrNoToken = errors.New("remotelevel: no token yet")
	// ErrPaused is returned after a 401 or 403 until the token provider
	// returns a different token; nothing is fetched meanwhile.
	ErrPaused = errors.New("remotelevel: paused until the token changes")
	// ErrClosed is returned by Refresh after Close.
	ErrClosed = errors.New("remotelevel: client closed")
)

// A StatusError reports an answer from the server that was neither a
// configuration nor 304 Not Modified.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Location   string        // of a redirect, which is never followed
}

func (e *StatusError) Error() string {
	s := "remotelevel: " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
	if e.Location != "" {
		s += " (redirect to " + e.Location + " not followed)"
	}
	return s
}

// parseRetryAfter reads a Retry-After header, seconds or an HTTP date,
// and caps it at limit; 0 means none.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), int64(limit/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), limit)
}

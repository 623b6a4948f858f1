package backendsink

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// An Action is what the sink does about one answer from the ingest
// endpoint; see the reaction table in the package documentation.
type Action int

// The actions, one per row of the reaction table.
const (
	// Confirm: the batch was accepted; delete it from the queue.
	Confirm Action = iota
	// PauseAuth: the token was rejected (401, 403); pause until the token
	// provider returns a different token.
	PauseAuth
	// PauseEndpoint: the endpoint is not deployed (404); pause until the
	// endpoint changes.
	PauseEndpoint
	// Split: the batch is too large for the server (413); send it in
	// halves, and drop a single record that is still too large.
	Split
	// Reject: the server rejects the data (400, 422, other 4xx); bisect to
	// find the rejected records and drop only those.
	Reject
	// RateLimited: back off, honouring Retry-After (429).
	RateLimited
	// ServerError: a reachable server failed (500 and other 5xx); back off
	// and retry, isolating a batch that keeps failing.
	ServerError
	// Unreachable: the backend could not be reached (502, 503, 504,
	// connection refused or reset, timeout, DNS); back off and retry, never
	// drop.
	Unreachable
)

var actionNames = [...]string{"confirm", "pause-auth", "pause-endpoint", "split", "reject", "rate-limited", "server-error", "unreachable"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Classify maps the outcome of one POST to an Action: the status code when
// the server answered, Unreachable when the request failed. It is the
// default of Options.Classify.
func Classify(statusCode int, err error) Action {
	if err != nil {
		return Unreachable
	}
	switch {
	case statusCode >= 200 && statusCode < 300:
		return Confirm
	case statusCode == http.StatusUnauthorized, statusCode == http.StatusForbidden:
		return PauseAuth
	case statusCode == http.StatusNotFound:
		return PauseEndpoint
	case statusCode == http.StatusRequestEntityTooLarge:
		return Split
	case statusCode == http.StatusTooManyRequests:
		return RateLimited
	case statusCode == http.StatusRequestTimeout:
		return Unreachable
	case statusCode == http.StatusBadGateway, statusCode == http.StatusServiceUnavailable, statusCode == http.StatusGatewayTimeout:
		return Unreachable
	case statusCode >= 400 && statusCode < 500:
		return Reject
	case statusCode >= 500:
		return ServerError
	}
	// 1xx and 3xx that the client did not follow: the server is there but
	// the exchange made no sense; treat it like a server error.
	return ServerError
}

// A StatusError reports an answer from the ingest endpoint that was not a
// 2xx. Match it with errors.As.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from the Retry-After header; zero when absent
	Body       string        // the start of the response body
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("backendsink: ingest answered %d %s", e.Code, http.StatusText(e.Code))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// ErrPaused is returned by Flush when export is paused: the token was
// rejected or the endpoint does not exist. Stats().Paused says which.
var ErrPaused = errors.New("backendsink: export paused")

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. It returns zero for a missing, malformed or past value, and caps
// the wait at limit.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(limit/time.Second) {
			return limit
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(limit, d))
}

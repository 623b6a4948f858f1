package backendsink

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
)

// An Action is what the sink does about one answer from the ingest
// endpoint; see the reaction table in the package documentation.
type Action int

// The actions, one per row of the reaction table.
const (
	// Confirm: the batch was acknowledged; delete it from the queue.
	Confirm Action = iota
	// PauseAuth: the token was rejected (401, 403); pause until the token
	// provider returns a different token.
	PauseAuth
	// PauseEndpoint: the endpoint is not deployed (404) or has moved
	// (3xx, never followed); pause until the endpoint changes.
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
	// Unexpected: a 2xx that does not acknowledge the records sent, as a
	// proxy or captive portal answers; back off and retry, never confirm,
	// never drop.
	Unexpected
	// Uncompressed: a 400 or 415 to a gzip body: the server does not
	// decode gzip; send the batch again uncompressed, and stop compressing
	// for this endpoint.
	Uncompressed
)

var actionNames = [...]string{"confirm", "pause-auth", "pause-endpoint", "split", "reject", "rate-limited",
	"server-error", "unreachable", "unexpected", "uncompressed"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// An Answer is what one upload got back, as Options.Classify sees it.
type Answer struct {
	Status int         // the HTTP status; 0 when Err is set
	Header http.Header // the response's headers; Location for a redirect
	Body   []byte      // the start of the response body, at most 4 KB
	Sent   int         // the number of entries the request carried
	Gzip   bool        // the request body was gzip-compressed
	Err    error       // the request failed without an answer
}

// maxAnswerBody is how much of a response body an Answer holds: enough
// for any acknowledgement and the start of an error page.
const maxAnswerBody = 4 << 10

// Classify maps the outcome of one upload to an Action, by the reaction
// table: Confirm only for a 2xx whose body is {"accepted": N} with N the
// number of entries sent; Unreachable when the request failed. It is the
// default of Options.Classify.
func Classify(a Answer) Action {
	if a.Err != nil {
		return Unreachable
	}
	switch s := a.Status; {
	case s >= 200 && s < 300:
		if n, ok := wire.ParseAck(a.Body); ok && n == a.Sent {
			return Confirm
		}
		return Unexpected
	case s >= 300 && s < 400:
		return PauseEndpoint
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		return PauseAuth
	case s == http.StatusNotFound:
		return PauseEndpoint
	case a.Gzip && (s == http.StatusBadRequest || s == http.StatusUnsupportedMediaType):
		return Uncompressed
	case s == http.StatusRequestEntityTooLarge:
		return Split
	case s == http.StatusTooManyRequests:
		return RateLimited
	case s == http.StatusRequestTimeout:
		return Unreachable
	case s == http.StatusBadGateway, s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		return Unreachable
	case s >= 400 && s < 500:
		return Reject
	}
	// 5xx, and codes no server should send: the server is there but the
	// exchange made no sense.
	return ServerError
}

// A StatusError reports an answer from the ingest endpoint that was not
// an acknowledgement. Match it with errors.As.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from the Retry-After header; zero when absent
	Location   string        // from the Location header of a redirect
	Body       string        // the start of the response body
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("ingest answered %d %s", e.Code, http.StatusText(e.Code))
	if e.Code >= 200 && e.Code < 300 {
		s += " without acknowledging the records sent"
	}
	if e.Location != "" {
		s += ", moved to " + e.Location
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// maxBodyReported bounds the start of a body a StatusError carries.
const maxBodyReported = 512

// statusError describes a (non-acknowledging) answer. The token is
// redacted from what the server sent back: a server that echoes the
// request must not leak it into error reports.
func statusError(a Answer, token string, now time.Time) *StatusError {
	redact := func(s string) string {
		if token != "" {
			s = strings.ReplaceAll(s, token, "[REDACTED]")
		}
		return s
	}
	body := a.Body[:min(len(a.Body), maxBodyReported)]
	return &StatusError{
		Code:       a.Status,
		RetryAfter: parseRetryAfter(a.Header.Get("Retry-After"), now, maxRetryAfter),
		Location:   redact(strings.ToValidUTF8(a.Header.Get("Location"), "\uFFFD")),
		Body:       redact(strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))),
	}
}

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

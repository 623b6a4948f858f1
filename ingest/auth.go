package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrUnauthorized is returned, possibly wrapped, by a Verifier for a
// missing, malformed or rejected credential.
var ErrUnauthorized = errors.New("ingest: unauthorized")

// A Verifier decides whether a request may proceed, and who sent it.
//
// Verify is called concurrently, before the request's body is read, by
// every endpoint but the health check (and the configuration when
// ServerOptions.PublicConfig is set). It returns the authenticated user,
// or "" when the credential names nobody (a shared token). The server
// stores a non-empty user with each entry as ServerUserKey and charges
// it for ServerOptions.UserRatePerSecond. An error wrapping
// ErrUnauthorized is a verdict on the credential: the server answers 401.
// Any other error means the verifier could not decide, say because an
// identity provider is unreachable: the server answers 401 all the same,
// since the caller is not authenticated, and reports the error to
// OnError. Verify must not read the body, and should return by the
// request's context.
type Verifier interface {
	Verify(r *http.Request) (user string, err error)
}

// VerifierFunc adapts a function to a Verifier.
type VerifierFunc func(r *http.Request) (string, error)

// Verify calls f(r).
func (f VerifierFunc) Verify(r *http.Request) (string, error) { return f(r) }

// BearerToken returns a Verifier that accepts "Authorization: Bearer
// <token>" for exactly this token, comparing in constant time, and names
// no user. The scheme is case-insensitive (RFC 7235): bearer and BEARER
// work too.
func BearerToken(token string) Verifier {
	want := sha256.Sum256([]byte(token))
	return VerifierFunc(func(r *http.Request) (string, error) {
		got, ok := BearerCredentials(r)
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return "", ErrUnauthorized
		}
		return "", nil
	})
}

// AnyOf returns a Verifier that asks each of vs in turn and accepts the
// first that accepts, with the user it names: a static token and an
// identity provider can be configured at once. When none accepts, it
// returns the errors of those that could not decide, or ErrUnauthorized
// when every one rejected the credential.
func AnyOf(vs ...Verifier) Verifier {
	vs = append([]Verifier(nil), vs...)
	return VerifierFunc(func(r *http.Request) (string, error) {
		var undecided []error
		for _, v := range vs {
			user, err := v.Verify(r)
			if err == nil {
				return user, nil
			}
			if !errors.Is(err, ErrUnauthorized) {
				undecided = append(undecided, err)
			}
		}
		if len(undecided) > 0 {
			return "", errors.Join(undecided...)
		}
		return "", ErrUnauthorized
	})
}

// BearerCredentials returns the credentials of a request's Authorization
// header when its scheme is Bearer, in any case, followed by one or more
// spaces; ok is false when there are none.
func BearerCredentials(r *http.Request) (token string, ok bool) {
	scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	return rest, rest != ""
}

// verify runs the Verifier and answers 401 when it does not accept the
// request. It returns the authenticated user and whether to go on.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.opts.Verifier == nil { // AllowAnonymous
		return "", true
	}
	user, err := s.opts.Verifier.Verify(r)
	if err != nil {
		if !errors.Is(err, ErrUnauthorized) {
			s.undecided.report(s.opts.Now(), err, s.opts.OnError)
		}
		refuse(w, http.StatusUnauthorized, "unauthorized")
		return "", false
	}
	return user, true
}

// undecidedEvery is how often a verifier that cannot decide is reported:
// an identity provider that is down fails every request, and one line in
// this long says so.
const undecidedEvery = 10 * time.Second

// reportLimiter reports the first error and then at most one per
// undecidedEvery, counting those it leaves out.
type reportLimiter struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (l *reportLimiter) report(now time.Time, err error, onError func(error)) {
	l.mu.Lock()
	if !l.last.IsZero() && now.Sub(l.last) < undecidedEvery && now.Sub(l.last) >= 0 {
		l.skipped++
		l.mu.Unlock()
		return
	}
	skipped := l.skipped
	l.last, l.skipped = now, 0
	l.mu.Unlock()
	if skipped > 0 {
		onError(fmt.Errorf("ingest: cannot verify credentials, answered 401 (and %d more times since the last report): %w", skipped, err))
		return
	}
	onError(fmt.Errorf("ingest: cannot verify credentials, answered 401: %w", err))
}

package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// ErrUnauthorized is returned by the verifier of BearerToken for a
// missing or wrong token.
var ErrUnauthorized = errors.New("ingest: missing or wrong bearer token")

// BearerToken returns a Verifier that accepts "Authorization: Bearer
// <token>" for exactly this token, comparing in constant time. The scheme
// is case-insensitive (RFC 7235): bearer and BEARER work too.
func BearerToken(token string) func(*http.Request) error {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) error {
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return ErrUnauthorized
		}
		return nil
	}
}

// bearer returns the credentials of an Authorization header whose scheme
// is Bearer, in any case, followed by one or more spaces.
func bearer(header string) (string, bool) {
	scheme, rest, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	return rest, rest != ""
}

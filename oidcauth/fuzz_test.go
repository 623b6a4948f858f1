package oidcauth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/oidcauth"
	"github.com/soliplex/fieldlog/oidcauth/oidctest"
)

// Whatever a client sends as a token, VerifyToken returns a verdict or
// says it could not check, and never panics; only what the issuer signed
// is accepted.
func FuzzVerifyToken(f *testing.F) {
	is := oidctest.NewIssuer()
	f.Cleanup(is.Close)
	v, err := oidcauth.New(oidcauth.Options{Issuers: []oidcauth.Issuer{{URL: is.URL}}, OnError: func(error) {}})
	if err != nil {
		f.Fatal(err)
	}
	valid := is.Sign(is.Claims("alice", "app", time.Now()))
	for _, seed := range []string{valid, valid + "x", valid[:len(valid)/2], "a.b.c", "..", "", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
		`{"payload":"e30","signatures":[]}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		user, err := v.VerifyToken(t.Context(), raw)
		switch {
		case err == nil:
			if user != "alice" {
				t.Fatalf("accepted %q as %q", raw, user)
			}
		case !errors.Is(err, ingest.ErrUnauthorized) && !errors.Is(err, oidcauth.ErrKeysUnavailable):
			t.Fatalf("error of neither kind: %v", err)
		}
	})
}

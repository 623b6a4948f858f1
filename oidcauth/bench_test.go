package oidcauth_test

import (
	"testing"
	"time"

	"github.com/soliplex/fieldlog/oidcauth"
	"github.com/soliplex/fieldlog/oidcauth/oidctest"
)

// BenchmarkVerifyToken checks one RS256 token with its issuer's keys
// cached: what every request of an OIDC client costs the server.
func BenchmarkVerifyToken(b *testing.B) {
	is := oidctest.NewIssuer()
	defer is.Close()
	v, err := oidcauth.New(oidcauth.Options{Issuers: []oidcauth.Issuer{{URL: is.URL, Audience: "app"}}})
	if err != nil {
		b.Fatal(err)
	}
	tok := is.Sign(is.Claims("alice", "app", time.Now()))
	if _, err := v.VerifyToken(b.Context(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyToken(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

package oidcauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/oidcauth"
	"github.com/soliplex/fieldlog/oidcauth/oidctest"
)

func ExampleNew() {
	// A stand-in for an identity provider: discovery and keys on 127.0.0.1.
	provider := oidctest.NewIssuer()
	defer provider.Close()

	v, err := oidcauth.New(oidcauth.Options{Issuers: []oidcauth.Issuer{{
		URL:       provider.URL,      // the iss of its tokens
		Audience:  "fieldlog-ingest", // optional
		UserClaim: "sub",             // the default
	}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	store := &ingest.MemoryExporter{}
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, Verifier: ingest.AnyOf(ingest.BearerToken("shared"), v)})
	if err != nil {
		fmt.Println(err)
		return
	}

	token := provider.Sign(provider.Claims("alice", "fieldlog-ingest", time.Now()))
	for _, bearer := range []string{token, "shared", "forged." + token} {
		req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, strings.NewReader(`{"logs":[{"timestamp":"2026-02-06T12:00:00.123Z",
			"level":"info","logger":"App","message":"hello","install_id":"i-1","session_id":"s-1"}],"resource":{}}`))
		req.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	fmt.Println(store.Entries()[0].Attributes[ingest.ServerUserKey])
	// Output:
	// 200
	// 200
	// 401
	// alice
}

package ingest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// users is a verifier with a token per user, and one shared token that
// names nobody.
var users = ingest.VerifierFunc(func(r *http.Request) (string, error) {
	switch tok, _ := ingest.BearerCredentials(r); tok {
	case "alice-token":
		return "alice", nil
	case "bob-token":
		return "bob", nil
	case "secret":
		return "", nil
	}
	return "", fmt.Errorf("no such user: %w", ingest.ErrUnauthorized)
})

func withToken(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// The authenticated user is stored as server.user; the user_id the
// client sent stays as sent, and a server.user the client sent is never
// kept.
func TestVerifiedUserIsStored(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{Verifier: users})
	forged := entry(1, "info", "s1")
	forged["user_id"] = "user-17"
	forged["attributes"] = map[string]any{"server.user": "mallory"}

	resp, got := f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(forged)), withToken("alice-token"))
	require.Equal(t, 200, resp.StatusCode, got)
	resp, got = f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(forged)), withToken("secret"))
	require.Equal(t, 200, resp.StatusCode, got)
	resp, _ = f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(forged)), withToken("mallory-token"))
	require.Equal(t, 401, resp.StatusCode)

	stored := f.exp.Entries()
	require.Len(t, stored, 2)
	assert.Equal(t, "alice", stored[0].Attributes[ingest.ServerUserKey])
	assert.Equal(t, "user-17", *stored[0].UserID, "the client's user_id stays as sent")
	assert.NotContains(t, stored[1].Attributes, ingest.ServerUserKey, "a shared token names nobody, and the client's claim is dropped")
	assert.Empty(t, f.reported(), "rejected credentials are verdicts, not trouble")
}

// A user is charged across all their installs and sessions; a shared
// token is charged per install and session only.
func TestRateLimitPerUser(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{Verifier: users, RateBurst: 100, UserRatePerSecond: 0.5, UserRateBurst: 2})
	send := func(token string, install int) *http.Response {
		e := entry(0, "info", fmt.Sprint("s", install))
		e["install_id"] = fmt.Sprint("i", install)
		resp, _ := f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(e)), withToken(token))
		return resp
	}
	require.Equal(t, 200, send("alice-token", 1).StatusCode)
	require.Equal(t, 200, send("alice-token", 2).StatusCode)
	resp := send("alice-token", 3)
	assert.Equal(t, 429, resp.StatusCode, "a third install of the same user")
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Equal(t, 200, send("bob-token", 4).StatusCode, "another user is not affected")
	for i := range 5 {
		assert.Equal(t, 200, send("secret", 10+i).StatusCode, "a shared token is no user")
	}
	f.clock.Advance(2 * time.Second)
	assert.Equal(t, 200, send("alice-token", 5).StatusCode, "a token refilled")

	unlimited := newFixture(t, ingest.ServerOptions{Verifier: users, RateBurst: 100, UserRatePerSecond: -1})
	for i := range 30 {
		e := entry(0, "info", fmt.Sprint("s", i))
		e["install_id"] = fmt.Sprint("i", i)
		resp, _ := unlimited.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(e)), withToken("alice-token"))
		require.Equal(t, 200, resp.StatusCode, "no limit per user")
	}
}

// The configuration takes the same credentials as every endpoint unless
// it is made public; the other endpoints stay protected.
func TestConfigEndpointAuth(t *testing.T) {
	tests := []struct {
		name         string
		public       bool
		token        string
		config, logs int
	}{
		{"protected, no token", false, "", 401, 401},
		{"protected, token", false, "secret", 200, 200},
		{"public, no token", true, "", 200, 401},
		{"public, wrong token", true, "nope", 200, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ingest.ServerOptions{PublicConfig: tt.public})
			auth := map[string]string{"Authorization": ""}
			if tt.token != "" {
				auth = withToken(tt.token)
			}
			resp, _ := f.do(t, http.MethodGet, ingest.ConfigPath, nil, auth)
			assert.Equal(t, tt.config, resp.StatusCode)
			resp, _ = f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(entry(1, "info", "s1"))), auth)
			assert.Equal(t, tt.logs, resp.StatusCode)
			resp, _ = f.do(t, http.MethodGet, ingest.ErrorsTopPath, nil, auth)
			assert.Equal(t, tt.logs, resp.StatusCode, "errors/top")
		})
	}
}

// A verifier that cannot decide makes the server answer 401 and report
// it: the first time at once, then at most once per 10 s with a count.
func TestUndecidedVerifierIsReported(t *testing.T) {
	down := errors.New("identity provider unreachable")
	f := newFixture(t, ingest.ServerOptions{Verifier: ingest.VerifierFunc(func(*http.Request) (string, error) { return "", down })})
	post := func() int {
		resp, _ := f.post(t, body(entry(1, "info", "s1")))
		return resp.StatusCode
	}
	for range 3 {
		require.Equal(t, 401, post())
	}
	require.Len(t, f.reported(), 1)
	assert.ErrorIs(t, f.reported()[0], down)
	assert.ErrorContains(t, f.reported()[0], "cannot verify credentials, answered 401")

	f.clock.Advance(10 * time.Second)
	require.Equal(t, 401, post())
	require.Len(t, f.reported(), 2)
	assert.ErrorContains(t, f.reported()[1], "and 2 more times")
	assert.Empty(t, f.exp.Entries())
}

func TestAnyOf(t *testing.T) {
	undecided := errors.New("keys unavailable")
	jwt := ingest.VerifierFunc(func(r *http.Request) (string, error) {
		switch tok, _ := ingest.BearerCredentials(r); tok {
		case "a.b.c":
			return "carol", nil
		case "x.y.z":
			return "", undecided
		}
		return "", ingest.ErrUnauthorized
	})
	v := ingest.AnyOf(ingest.BearerToken("static"), jwt)
	tests := []struct {
		name     string
		header   string
		wantUser string
		wantErr  error
	}{
		{"static token", "Bearer static", "", nil},
		{"second verifier", "bearer a.b.c", "carol", nil},
		{"both reject", "Bearer nope", "", ingest.ErrUnauthorized},
		{"none", "", "", ingest.ErrUnauthorized},
		{"one cannot decide", "Bearer x.y.z", "", undecided},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, ingest.ConfigPath, nil)
			r.Header.Set("Authorization", tt.header)
			user, err := v.Verify(r)
			assert.Equal(t, tt.wantUser, user)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
	_, err := ingest.AnyOf().Verify(httptest.NewRequest(http.MethodGet, ingest.ConfigPath, nil))
	assert.ErrorIs(t, err, ingest.ErrUnauthorized, "no verifier accepts nothing")
}

func TestBearerCredentials(t *testing.T) {
	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc", "abc", true},
		{"BEARER abc.def", "abc.def", true},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", tt.give)
			got, ok := ingest.BearerCredentials(r)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantOK, ok)
		})
	}
}

package oidcauth_test

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/oidcauth"
	"github.com/soliplex/fieldlog/oidcauth/oidctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newIssuer(t *testing.T) *oidctest.Issuer {
	is := oidctest.NewIssuer()
	t.Cleanup(is.Close)
	return is
}

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// errorLog collects what is reported through OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// fixture is an ingest server whose verifier checks the tokens of a test
// issuer, with a static token beside it.
type fixture struct {
	issuer   *oidctest.Issuer
	clock    *clock
	verifier *oidcauth.Verifier
	srv      *ingest.Server
	exp      *ingest.MemoryExporter
	verifLog errorLog // the verifier's failed fetches
	srvLog   errorLog // the server's reports
}

const audience = "fieldlog-ingest"

func newFixture(t *testing.T, opts oidcauth.Options) *fixture {
	t.Helper()
	f := &fixture{issuer: newIssuer(t), clock: newClock(), exp: &ingest.MemoryExporter{}}
	if opts.Issuers == nil {
		opts.Issuers = []oidcauth.Issuer{{URL: f.issuer.URL, Audience: audience}}
	}
	opts.Now = f.clock.Now
	opts.OnError = f.verifLog.add
	v, err := oidcauth.New(opts)
	require.NoError(t, err)
	f.verifier = v
	f.srv, err = ingest.NewServer(ingest.ServerOptions{
		Exporter: f.exp, Verifier: ingest.AnyOf(ingest.BearerToken("static-secret"), v),
		RateBurst: 1000, Now: f.clock.Now, OnError: f.srvLog.add,
	})
	require.NoError(t, err)
	return f
}

// claims returns valid claims for alice at the fixture's time.
func (f *fixture) claims() map[string]any { return f.issuer.Claims("alice", audience, f.clock.Now()) }

// post sends one entry with the token and returns the status.
func (f *fixture) post(t *testing.T, token string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, strings.NewReader(`{"logs":[{"timestamp":"2026-02-06T12:00:00.123Z",
		"level":"info","logger":"App","message":"hello","install_id":"i-1","session_id":"s-1"}],"resource":{}}`))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w.Code
}

func with(claims map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jsonB64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b64(b)
}

// unsigned returns a token with alg none.
func unsigned(t *testing.T, kid string, claims map[string]any) string {
	return jsonB64(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kid}) + "." + jsonB64(t, claims) + "."
}

// hmacWith returns a token signed with HS256 using secret, the classic
// attack of a verifier that takes the public key as an HMAC secret.
func hmacWith(t *testing.T, kid string, secret []byte, claims map[string]any) string {
	input := jsonB64(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + jsonB64(t, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64(mac.Sum(nil))
}

func publicPEM(t *testing.T, k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestTokens(t *testing.T) {
	f := newFixture(t, oidcauth.Options{})
	other := newIssuer(t)
	stranger := oidctest.NewKey()
	now := f.clock.Now()
	valid := f.claims()
	pub := f.issuer.PublicKey()
	kid := f.issuer.KeyID()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	good := f.issuer.Sign(valid)

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"valid", good, 200},
		{"audience among several", f.issuer.Sign(with(valid, "aud", []string{"other", audience})), 200},
		{"expired", f.issuer.Sign(with(valid, "exp", now.Add(-2*time.Minute).Unix())), 401},
		{"expired within the leeway", f.issuer.Sign(with(valid, "exp", now.Add(-30*time.Second).Unix())), 200},
		{"no exp", f.issuer.Sign(with(valid, "exp", nil)), 401},
		{"not yet valid", f.issuer.Sign(with(valid, "nbf", now.Add(2*time.Minute).Unix())), 401},
		{"not yet valid within the leeway", f.issuer.Sign(with(valid, "nbf", now.Add(30*time.Second).Unix())), 200},
		{"nbf not a number", f.issuer.Sign(with(valid, "nbf", "soon")), 401},
		{"wrong issuer", f.issuer.Sign(with(valid, "iss", other.URL)), 401},
		{"another issuer's token", other.Sign(other.Claims("alice", audience, now)), 401},
		{"our issuer claimed, another's key", other.Sign(valid), 401},
		{"wrong audience", f.issuer.Sign(with(valid, "aud", "someone-else")), 401},
		{"no audience", f.issuer.Sign(with(valid, "aud", nil)), 401},
		{"unknown key id", oidctest.SignWith(stranger, "key-404", valid), 401},
		{"known key id, another key", oidctest.SignWith(stranger, kid, valid), 401},
		{"alg none", unsigned(t, kid, valid), 401},
		{"alg none, no signature part", strings.TrimSuffix(unsigned(t, kid, valid), "."), 401},
		{"HS256 with the public key (PEM) as secret", hmacWith(t, kid, publicPEM(t, pub), valid), 401},
		{"HS256 with the public key (DER) as secret", hmacWith(t, kid, der, valid), 401},
		{"no user claim", f.issuer.Sign(with(valid, "sub", nil)), 401},
		{"user claim not a string", f.issuer.Sign(with(valid, "sub", 42)), 401},
		{"signature altered", good[:len(good)-4] + "AAAA", 401},
		{"payload altered", alter(good, with(valid, "sub", "mallory")), 401},
		{"not a JWT", "abc", 401},
		{"empty", "", 401},
		{"static token beside OIDC", "static-secret", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, f.post(t, tt.token))
		})
	}
	users := map[any]int{}
	for _, e := range f.exp.Entries() {
		users[e.Attributes[ingest.ServerUserKey]]++
	}
	assert.Equal(t, map[any]int{"alice": 4, nil: 1}, users, "server.user is the sub claim; the static token names nobody")
	assert.Empty(t, f.srvLog.all(), "rejected tokens are verdicts, not trouble")
	assert.Empty(t, f.verifLog.all())
	keys, _ := f.issuer.KeyFetches()
	assert.LessOrEqual(t, keys, 2, "an unknown key id fetches at most once per MinFetchInterval")
}

// alter swaps a token's payload, keeping its header and signature.
func alter(token string, claims map[string]any) string {
	parts := strings.Split(token, ".")
	b, _ := json.Marshal(claims)
	return parts[0] + "." + b64(b) + "." + parts[2]
}

func TestUserClaimAndNoAudience(t *testing.T) {
	f := newFixture(t, oidcauth.Options{})
	v, err := oidcauth.New(oidcauth.Options{
		Issuers: []oidcauth.Issuer{{URL: f.issuer.URL, UserClaim: "preferred_username"}},
		Now:     f.clock.Now,
	})
	require.NoError(t, err)
	claims := with(f.claims(), "aud", "anyone", "preferred_username", "alice@example.test")
	user, err := v.VerifyToken(t.Context(), f.issuer.Sign(claims))
	require.NoError(t, err)
	assert.Equal(t, "alice@example.test", user)
	_, err = v.VerifyToken(t.Context(), f.issuer.Sign(with(claims, "preferred_username", "")))
	assert.ErrorIs(t, err, ingest.ErrUnauthorized)
}

// A new key is picked up without a restart: at once when a token names
// it, else at the next refresh; a withdrawn key stops verifying at the
// next fetch.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t, oidcauth.Options{RefreshInterval: 15 * time.Minute})
	first := f.issuer.Sign(f.claims())
	require.Equal(t, 200, f.post(t, first))

	f.clock.Advance(time.Minute)
	f.issuer.Rotate(false) // key-1 withdrawn, key-2 signs
	second := f.issuer.Sign(f.claims())
	require.Equal(t, 200, f.post(t, second), "a new key id is fetched at once")
	keys, discovery := f.issuer.KeyFetches()
	assert.Equal(t, 2, keys)
	assert.Equal(t, 1, discovery, "discovery is read once")
	assert.Equal(t, 401, f.post(t, first), "that fetch dropped the withdrawn key")

	f.clock.Advance(time.Minute)
	f.issuer.Rotate(false) // key-2 withdrawn, key-3 signs
	third := f.issuer.Sign(f.claims())
	assert.Equal(t, 200, f.post(t, second), "fresh keys are not fetched again")
	f.clock.Advance(15 * time.Minute)
	assert.Equal(t, 401, f.post(t, second), "the refresh after RefreshInterval dropped the withdrawn key")
	assert.Equal(t, 200, f.post(t, third), "and brought the new one")
	keys, _ = f.issuer.KeyFetches()
	assert.Equal(t, 3, keys)

	f.clock.Advance(time.Minute)
	f.issuer.Rotate(true) // overlap: key-3 and key-4 published
	assert.Equal(t, 200, f.post(t, f.issuer.Sign(f.claims())))
	assert.Equal(t, 200, f.post(t, third))
	assert.Empty(t, f.verifLog.all())
	assert.Empty(t, f.srvLog.all())
}

// With the issuer down, the keys last fetched keep verifying tokens for
// KeyLifetime, then the issuer's tokens are refused with a clear line in
// the server's log; the static token keeps working, nothing panics.
func TestIssuerDown(t *testing.T) {
	f := newFixture(t, oidcauth.Options{RefreshInterval: 15 * time.Minute, KeyLifetime: 6 * time.Hour})
	claims := with(f.claims(), "exp", f.clock.Now().Add(24*time.Hour).Unix())
	token := f.issuer.Sign(claims)
	require.Equal(t, 200, f.post(t, token))

	f.issuer.Close()
	f.clock.Advance(16 * time.Minute)
	assert.Equal(t, 200, f.post(t, token), "the refresh fails; the cached keys are used")
	require.Len(t, f.verifLog.all(), 1)
	assert.ErrorContains(t, f.verifLog.all()[0], "oidcauth: issuer "+f.issuer.URL+": fetching keys")
	assert.ErrorContains(t, f.verifLog.all()[0], "are used until 2026-02-06T18:00:00Z")
	assert.Equal(t, 200, f.post(t, token), "no fetch again within MinFetchInterval")
	require.Len(t, f.verifLog.all(), 1)

	f.clock.Advance(6*time.Hour - 17*time.Minute)
	assert.Equal(t, 200, f.post(t, token), "still within the keys' lifetime")
	assert.Empty(t, f.srvLog.all())

	f.clock.Advance(2 * time.Minute)
	assert.Equal(t, 401, f.post(t, token), "past the keys' lifetime")
	logged := f.srvLog.all()
	require.Len(t, logged, 1, "the server says why")
	assert.ErrorIs(t, logged[0], oidcauth.ErrKeysUnavailable)
	assert.ErrorContains(t, logged[0], "ingest: cannot verify credentials, answered 401: oidcauth: no valid signing keys: issuer "+f.issuer.URL+
		": its keys, fetched at 2026-02-06T12:00:00Z, passed their lifetime of 6h0m0s")
	assert.ErrorContains(t, f.verifLog.all()[len(f.verifLog.all())-1], "no valid keys: its tokens are refused")

	assert.Equal(t, 401, f.post(t, token))
	assert.Equal(t, 200, f.post(t, "static-secret"), "the static token does not depend on the issuer")
	assert.Equal(t, 401, f.post(t, "garbage"))
	assert.Len(t, f.srvLog.all(), 1, "reported at most once per 10 s")
}

// An issuer that is failing when the first token arrives refuses it, and
// its tokens are accepted as soon as it answers again, within
// MinFetchInterval.
func TestIssuerRecovers(t *testing.T) {
	f := newFixture(t, oidcauth.Options{MinFetchInterval: 10 * time.Second})
	token := f.issuer.Sign(f.claims())
	f.issuer.Fail(true)
	assert.Equal(t, 401, f.post(t, token))
	require.Len(t, f.srvLog.all(), 1)
	assert.ErrorContains(t, f.srvLog.all()[0], "its keys were never fetched: discovery: 503")
	f.issuer.Fail(false)
	assert.Equal(t, 401, f.post(t, token), "no fetch within MinFetchInterval")
	f.clock.Advance(10 * time.Second)
	assert.Equal(t, 200, f.post(t, token))
}

// A flood of tokens naming keys the issuer does not have costs it at
// most one fetch per MinFetchInterval.
func TestUnknownKeyIDsAreRateLimited(t *testing.T) {
	f := newFixture(t, oidcauth.Options{})
	require.Equal(t, 200, f.post(t, f.issuer.Sign(f.claims())))
	stranger := oidctest.NewKey()
	for i := range 50 {
		f.clock.Advance(time.Second)
		require.Equal(t, 401, f.post(t, oidctest.SignWith(stranger, fmt.Sprint("random-", i), f.claims())))
	}
	keys, _ := f.issuer.KeyFetches()
	assert.Equal(t, 1+5, keys, "50 s of unknown key ids: one fetch per 10 s")
	assert.Empty(t, f.srvLog.all())
}

func TestNewNamesTheBadField(t *testing.T) {
	good := oidcauth.Issuer{URL: "https://id.example.test/realms/app"}
	tests := []struct {
		name string
		give oidcauth.Options
		want string
	}{
		{"no issuer", oidcauth.Options{}, "Issuers is required"},
		{"relative URL", oidcauth.Options{Issuers: []oidcauth.Issuer{{URL: "/realms/app"}}}, "Issuers[0].URL"},
		{"twice", oidcauth.Options{Issuers: []oidcauth.Issuer{good, good}}, "configured twice"},
		{"bad keys URL", oidcauth.Options{Issuers: []oidcauth.Issuer{{URL: good.URL, JWKSURL: "keys"}}}, "JWKSURL"},
		{"HMAC", oidcauth.Options{Issuers: []oidcauth.Issuer{good}, Algorithms: []string{"HS256"}}, `"HS256" is not a public-key`},
		{"none", oidcauth.Options{Issuers: []oidcauth.Issuer{good}, Algorithms: []string{"none"}}, `"none"`},
		{"negative", oidcauth.Options{Issuers: []oidcauth.Issuer{good}, KeyLifetime: -1}, "KeyLifetime"},
		{"good", oidcauth.Options{Issuers: []oidcauth.Issuer{good}, Algorithms: []string{"RS256", "ES256"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oidcauth.New(tt.give)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// Several issuers at once, each with its audience; the key set's URL may
// be given instead of discovered.
func TestSeveralIssuers(t *testing.T) {
	a, b := newIssuer(t), newIssuer(t)
	c := newClock()
	v, err := oidcauth.New(oidcauth.Options{Now: c.Now, Issuers: []oidcauth.Issuer{
		{URL: a.URL, Audience: "app-a"},
		{URL: b.URL, Audience: "app-b", JWKSURL: b.URL + "/keys", UserClaim: "email"},
	}})
	require.NoError(t, err)
	user, err := v.VerifyToken(t.Context(), a.Sign(a.Claims("alice", "app-a", c.Now())))
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
	user, err = v.VerifyToken(t.Context(), b.Sign(with(b.Claims("bob", "app-b", c.Now()), "email", "bob@example.test")))
	require.NoError(t, err)
	assert.Equal(t, "bob@example.test", user)
	_, discovery := b.KeyFetches()
	assert.Zero(t, discovery, "JWKSURL skips discovery")
	_, err = v.VerifyToken(t.Context(), a.Sign(a.Claims("alice", "app-b", c.Now())))
	assert.ErrorIs(t, err, ingest.ErrUnauthorized, "each issuer has its own audience")
}

// TestVerifierConcurrentSafe verifies tokens from many goroutines while
// the issuer rotates its keys and the clock moves.
func TestVerifierConcurrentSafe(t *testing.T) {
	f := newFixture(t, oidcauth.Options{MinFetchInterval: time.Second})
	tokens := make(chan string, 1)
	tokens <- f.issuer.Sign(with(f.claims(), "exp", f.clock.Now().Add(24*time.Hour).Unix()))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				tok := <-tokens
				tokens <- tok
				user, err := f.verifier.VerifyToken(t.Context(), tok)
				if err == nil {
					assert.Equal(t, "alice", user)
				} else {
					assert.True(t, errors.Is(err, ingest.ErrUnauthorized) || errors.Is(err, oidcauth.ErrKeysUnavailable), err)
				}
			}
		})
	}
	for range 3 {
		f.issuer.Rotate(true)
		tok := f.issuer.Sign(with(f.claims(), "exp", f.clock.Now().Add(24*time.Hour).Unix()))
		<-tokens
		tokens <- tok
		f.clock.Advance(2 * time.Second)
	}
	wg.Wait()
	user, err := f.verifier.VerifyToken(t.Context(), <-tokens)
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
}

// Package oidctest runs a small OpenID Connect issuer on 127.0.0.1 for
// tests, as net/http/httptest runs a server: it serves a discovery
// document and its published keys (JWKS), signs tokens with RS256 keys
// generated at start, rotates them, fails and goes down on request, and
// counts how often its keys are fetched.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// An Issuer is a running test identity provider. Its methods are safe
// for concurrent use.
type Issuer struct {
	URL string // the issuer identifier, http://127.0.0.1:port

	srv *httptest.Server

	mu        sync.Mutex
	keys      []signingKey // published; the last one signs
	next      int          // number of the next key id
	failing   bool
	keyCalls  int
	discovery int
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

// NewIssuer starts an issuer with one key. Close it when done.
func NewIssuer() *Issuer {
	is := &Issuer{}
	is.Rotate(false)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.serveDiscovery)
	mux.HandleFunc("GET /keys", is.serveKeys)
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	return is
}

func (is *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	is.discovery++
	failing := is.failing
	is.mu.Unlock()
	if failing {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                is.URL,
		"jwks_uri":                              is.URL + "/keys",
		"authorization_endpoint":                is.URL + "/authorize",
		"token_endpoint":                        is.URL + "/token",
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (is *Issuer) serveKeys(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	is.keyCalls++
	failing := is.failing
	var set jose.JSONWebKeySet
	for _, k := range is.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.id, Algorithm: "RS256", Use: "sig"})
	}
	is.mu.Unlock()
	if failing {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// Claims returns the claims of a typical access token of the issuer for
// subject and audience, issued at now and valid for an hour.
func (is *Issuer) Claims(subject, audience string, now time.Time) map[string]any {
	return map[string]any{
		"iss": is.URL, "sub": subject, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// Sign returns claims as a JWT signed with RS256 by the current key,
// whose id it carries in its header. Claims that do not encode as JSON
// are a mistake of the test, and panic.
func (is *Issuer) Sign(claims map[string]any) string {
	is.mu.Lock()
	k := is.keys[len(is.keys)-1]
	is.mu.Unlock()
	return SignWith(k.key, k.id, claims)
}

// SignWith returns claims as a JWT signed with RS256 by key, with key id
// kid in its header: for tokens of keys an issuer does not publish.
func SignWith(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(fmt.Sprintf("oidctest: %v", err))
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("oidctest: claims: %v", err))
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(fmt.Sprintf("oidctest: %v", err))
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		panic(fmt.Sprintf("oidctest: %v", err))
	}
	return token
}

// NewKey returns a new 2048-bit RSA key, for SignWith.
func NewKey() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil { // crypto/rand does not fail
		panic(fmt.Sprintf("oidctest: %v", err))
	}
	return key
}

// PublicKey returns the current key's public half.
func (is *Issuer) PublicKey() *rsa.PublicKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return &is.keys[len(is.keys)-1].key.PublicKey
}

// KeyID returns the current key's id.
func (is *Issuer) KeyID() string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[len(is.keys)-1].id
}

// Rotate makes a new key the current one. With keepOld the keys before
// it stay published (a rotation with overlap); without, they are
// withdrawn at once.
func (is *Issuer) Rotate(keepOld bool) {
	key := NewKey()
	is.mu.Lock()
	defer is.mu.Unlock()
	if !keepOld {
		is.keys = nil
	}
	is.next++
	is.keys = append(is.keys, signingKey{id: fmt.Sprintf("key-%d", is.next), key: key})
}

// Fail makes the discovery document and the keys answer 503 while on is
// true.
func (is *Issuer) Fail(on bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.failing = on
}

// Close takes the issuer down for good: connections to it are refused.
// A second Close does nothing.
func (is *Issuer) Close() { is.srv.Close() }

// KeyFetches returns how often the keys were fetched, and the discovery
// document.
func (is *Issuer) KeyFetches() (keys, discovery int) {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keyCalls, is.discovery
}

package oidcauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// maxDocument bounds what is read of a discovery document or key set.
const maxDocument = 1 << 20

// keySet caches one issuer's published keys. Fetches run in the
// goroutine of the token that needs them, one at a time; tokens that can
// be checked with the cached keys meanwhile do not wait for them.
type keySet struct {
	issuer    string
	fixedJWKS string // Issuer.JWKSURL; "" to discover
	client    *http.Client
	o         *Options

	mu       sync.Mutex
	jwksURL  string            // "" until discovered
	keys     []jose.JSONWebKey // as last fetched
	fetched  time.Time         // when keys were fetched; zero: never
	tried    time.Time         // the last fetch, successful or not
	lastErr  error             // of the last fetch; nil when it succeeded
	fetching chan struct{}     // closed when the fetch in progress ends; nil when none
}

func newKeySet(is Issuer, client *http.Client, o *Options) *keySet {
	return &keySet{issuer: is.URL, fixedJWKS: is.JWKSURL, jwksURL: is.JWKSURL, client: client, o: o}
}

// get returns the keys that may have signed a token with key id kid (all
// keys when kid is empty), fetching first when the cache is stale or
// lacks kid and a fetch is due. It returns an error wrapping
// ErrKeysUnavailable when it has no valid keys, or lacks kid and could
// not fetch; and an empty list when the issuer does not publish kid.
func (k *keySet) get(ctx context.Context, kid string) ([]crypto.PublicKey, error) {
	now := k.o.Now()
	k.mu.Lock()
	have := k.valid(now) && len(k.matching(kid)) > 0
	var failed error // a failed fetch, reported once the lock is released
	if !have || now.Sub(k.fetched) >= k.o.RefreshInterval {
		switch {
		case k.fetching != nil && !have:
			ch := k.fetching
			k.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, reject(fmt.Errorf("waiting for the keys of %s: %w", k.issuer, ctx.Err()))
			}
			k.mu.Lock()
		case k.fetching == nil && (k.tried.IsZero() || now.Sub(k.tried) >= k.o.MinFetchInterval):
			failed = k.fetchLocked(ctx, now)
		}
	}
	keys, err := k.keysLocked(now, kid)
	k.mu.Unlock()
	if failed != nil {
		k.o.OnError(failed)
	}
	return keys, err
}

// keysLocked returns the cached keys that may have signed a token with
// key id kid, or why there are none to check it with.
func (k *keySet) keysLocked(now time.Time, kid string) ([]crypto.PublicKey, error) {
	if !k.valid(now) {
		return nil, &unavailableError{issuer: k.issuer, fetched: k.fetched, lifetime: k.o.KeyLifetime, cause: k.lastErr}
	}
	keys := k.matching(kid)
	if len(keys) == 0 && k.lastErr != nil {
		return nil, &unavailableError{issuer: k.issuer, kid: kid, fetched: k.fetched, lifetime: k.o.KeyLifetime, cause: k.lastErr}
	}
	return keys, nil
}

// valid reports whether the cached keys may be used at now.
func (k *keySet) valid(now time.Time) bool {
	return !k.fetched.IsZero() && now.Sub(k.fetched) < k.o.KeyLifetime
}

func (k *keySet) matching(kid string) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, key := range k.keys {
		if kid == "" || key.KeyID == kid {
			out = append(out, key.Key)
		}
	}
	return out
}

// fetchLocked fetches the keys, unlocking k.mu meanwhile, and returns
// the error to report when it fails.
func (k *keySet) fetchLocked(ctx context.Context, now time.Time) error {
	done := make(chan struct{})
	k.fetching, k.tried = done, now
	jwksURL := k.jwksURL
	k.mu.Unlock()
	keys, jwksURL, err := k.load(ctx, jwksURL)
	k.mu.Lock()
	k.fetching = nil
	close(done)
	if err != nil {
		k.lastErr = err
		k.jwksURL = k.fixedJWKS // discover again next time: the keys may have moved
		state := "no valid keys: its tokens are refused until a fetch succeeds"
		if k.valid(now) {
			state = "the keys fetched at " + k.fetched.UTC().Format(time.RFC3339) + " are used until " +
				k.fetched.Add(k.o.KeyLifetime).UTC().Format(time.RFC3339)
		}
		return fmt.Errorf("oidcauth: issuer %s: fetching keys: %w; %s", k.issuer, err, state)
	}
	k.keys, k.fetched, k.lastErr, k.jwksURL = keys, now, nil, jwksURL
	return nil
}

// load discovers the key set's URL when it is not known yet and reads
// the keys. A token's request going away does not cut the fetch short:
// other tokens may be waiting for it.
func (k *keySet) load(ctx context.Context, jwksURL string) ([]jose.JSONWebKey, string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.o.FetchTimeout)
	defer cancel()
	if jwksURL == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, k.client), k.issuer)
		if err != nil {
			return nil, "", fmt.Errorf("discovery: %w", err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return nil, "", errors.New("discovery: the document names no jwks_uri")
		}
		jwksURL = doc.JWKSURI
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", jwksURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s: %s", jwksURL, resp.Status)
	}
	keys, err := parseKeys(body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", jwksURL, err)
	}
	return keys, jwksURL, nil
}

// parseKeys reads a JWK set, keeping the public signing keys of the
// types the verifier checks and skipping every other key.
func parseKeys(body []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(raw, &key) != nil || !key.Valid() || !key.IsPublic() || key.Use == "enc" {
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key set holds no public signing key (of %d keys)", len(set.Keys))
	}
	return keys, nil
}

// unavailableError says why an issuer's token could not be checked.
type unavailableError struct {
	issuer   string
	kid      string // set when only this key is missing
	fetched  time.Time
	lifetime time.Duration
	cause    error
}

func (e *unavailableError) Error() string {
	var what string
	switch {
	case e.kid != "":
		what = fmt.Sprintf("key id %q is not among its keys, and fetching keys fails", e.kid)
	case e.fetched.IsZero():
		what = "its keys were never fetched"
	default:
		what = fmt.Sprintf("its keys, fetched at %s, passed their lifetime of %s", e.fetched.UTC().Format(time.RFC3339), e.lifetime)
	}
	if e.cause != nil {
		what += ": " + e.cause.Error()
	}
	return fmt.Sprintf("%s: issuer %s: %s; token refused", ErrKeysUnavailable, e.issuer, what)
}

func (e *unavailableError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrKeysUnavailable}
	}
	return []error{ErrKeysUnavailable, e.cause}
}

// limitedClient returns a copy of c whose responses are cut at
// maxDocument bytes, so that no answer of an issuer can exhaust memory.
func limitedClient(c *http.Client) *http.Client {
	lc := *c
	base := lc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	lc.Transport = limitedTransport{base}
	return &lc
}

type limitedTransport struct{ base http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = limitedBody{io.LimitReader(resp.Body, maxDocument), resp.Body}
	}
	return resp, err
}

type limitedBody struct {
	io.Reader
	io.Closer
}

package oidcauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/soliplex/fieldlog/ingest"
)

// Options configures a Verifier. Issuers is required; every other zero
// field means the default in its comment. Negative durations are errors.
type Options struct {
	Issuers []Issuer // whose tokens are accepted; required

	// Algorithms are the signing algorithms accepted; default RS256. Only
	// public-key algorithms can be named (RS*, PS*, ES*, EdDSA): HMAC and
	// "none" never verify.
	Algorithms []string
	Leeway     time.Duration // clock skew allowed on exp and nbf, either way; default 1 min

	// Keys. An issuer's published keys are fetched when a token of it
	// first arrives, fetched again on the first token after
	// RefreshInterval, and on a key id they do not hold; at most once per
	// MinFetchInterval. When fetching fails, the keys last fetched keep
	// verifying tokens until KeyLifetime after that fetch; past it the
	// issuer's tokens are refused (401) until a fetch succeeds.
	RefreshInterval  time.Duration // default 15 min
	KeyLifetime      time.Duration // default 24 h
	MinFetchInterval time.Duration // default 10 s
	FetchTimeout     time.Duration // per discovery or key request; default 5 s
	Client           *http.Client  // for discovery and keys; default http.DefaultClient

	OnError func(error)      // failed fetches; called concurrently; default: the standard logger
	Now     func() time.Time // default time.Now
}

// An Issuer is an OpenID Connect provider whose access tokens are
// accepted.
type Issuer struct {
	// URL is the issuer identifier, exactly as tokens carry it in iss;
	// its discovery document is read from URL/.well-known/openid-configuration.
	URL       string
	Audience  string // when set, a token's aud must contain it; when empty, aud is not checked
	UserClaim string // the claim that names the user: a non-empty string; default "sub"
	JWKSURL   string // where the keys are published; default: jwks_uri of the discovery document
}

// Defaults of Options.
const (
	defaultLeeway           = time.Minute
	defaultRefreshInterval  = 15 * time.Minute
	defaultKeyLifetime      = 24 * time.Hour
	defaultMinFetchInterval = 10 * time.Second
	defaultFetchTimeout     = 5 * time.Second
)

// ErrKeysUnavailable is returned, wrapped, by Verify when a token's
// issuer has no signing keys to check it with: they could not be fetched,
// or those fetched last have passed KeyLifetime. It does not wrap
// ingest.ErrUnauthorized, so an ingest server answers 401 and reports it.
var ErrKeysUnavailable = errors.New("oidcauth: no valid signing keys")

// A Verifier checks bearer JWTs against the configured issuers and names
// the user by each issuer's UserClaim. It is safe for concurrent use.
type Verifier struct {
	algs    []string
	leeway  time.Duration
	now     func() time.Time
	issuers map[string]*issuer
}

type issuer struct {
	Issuer
	verifier *oidc.Config
	keys     *keySet
}

var _ ingest.Verifier = (*Verifier)(nil)

// New validates opts, fills the defaults and returns a Verifier. It does
// not contact the issuers: their keys are fetched when tokens arrive, so
// a server starts while its identity provider is down.
func New(opts Options) (*Verifier, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts.fill()
	v := &Verifier{algs: opts.Algorithms, leeway: opts.Leeway, now: opts.Now, issuers: map[string]*issuer{}}
	client := limitedClient(opts.Client)
	for _, is := range opts.Issuers {
		if is.UserClaim == "" {
			is.UserClaim = "sub"
		}
		v.issuers[is.URL] = &issuer{
			Issuer: is,
			verifier: &oidc.Config{
				ClientID:             is.Audience,
				SkipClientIDCheck:    is.Audience == "",
				SupportedSigningAlgs: opts.Algorithms,
				SkipExpiryCheck:      true, // checked below, with Leeway both ways
			},
			keys: newKeySet(is, client, &opts),
		}
	}
	return v, nil
}

// publicKeyAlgs are the algorithms Options.Algorithms may name.
var publicKeyAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

func (o *Options) check() error {
	if len(o.Issuers) == 0 {
		return errors.New("oidcauth: Options.Issuers is required")
	}
	seen := map[string]bool{}
	var errs []error
	for i, is := range o.Issuers {
		if err := checkURL(is.URL); err != nil {
			errs = append(errs, fmt.Errorf("oidcauth: Options.Issuers[%d].URL: %w", i, err))
		} else if seen[is.URL] {
			errs = append(errs, fmt.Errorf("oidcauth: Options.Issuers[%d].URL: %s is configured twice", i, is.URL))
		}
		seen[is.URL] = true
		if is.JWKSURL != "" {
			if err := checkURL(is.JWKSURL); err != nil {
				errs = append(errs, fmt.Errorf("oidcauth: Options.Issuers[%d].JWKSURL: %w", i, err))
			}
		}
	}
	for _, a := range o.Algorithms {
		if !slices.Contains(publicKeyAlgs, a) {
			errs = append(errs, fmt.Errorf("oidcauth: Options.Algorithms: %q is not a public-key signing algorithm", a))
		}
	}
	for name, d := range map[string]time.Duration{"Leeway": o.Leeway, "RefreshInterval": o.RefreshInterval,
		"KeyLifetime": o.KeyLifetime, "MinFetchInterval": o.MinFetchInterval, "FetchTimeout": o.FetchTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("oidcauth: Options.%s must not be negative", name))
		}
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	return nil
}

func (o *Options) fill() {
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{oidc.RS256}
	}
	orDefault(&o.Leeway, defaultLeeway)
	orDefault(&o.RefreshInterval, defaultRefreshInterval)
	orDefault(&o.KeyLifetime, defaultKeyLifetime)
	orDefault(&o.MinFetchInterval, defaultMinFetchInterval)
	orDefault(&o.FetchTimeout, defaultFetchTimeout)
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.OnError == nil {
		o.OnError = func(err error) { log.Print(err) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func orDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Verify checks the request's bearer token and returns its user. See
// VerifyToken.
func (v *Verifier) Verify(r *http.Request) (string, error) {
	raw, ok := ingest.BearerCredentials(r)
	if !ok {
		return "", ingest.ErrUnauthorized
	}
	return v.VerifyToken(r.Context(), raw)
}

// VerifyToken checks a JWT and returns the user its issuer's UserClaim
// names. The token must be signed with one of Algorithms by a key its
// issuer publishes, carry the iss of a configured issuer, the issuer's
// audience when one is set, an exp that has not passed and an nbf (when
// present) that has, both give or take Leeway. An error wrapping
// ingest.ErrUnauthorized rejects the token; one wrapping
// ErrKeysUnavailable means it could not be checked.
func (v *Verifier) VerifyToken(ctx context.Context, raw string) (string, error) {
	jws, err := jose.ParseSignedCompact(raw, v.joseAlgs())
	if err != nil {
		return "", reject(err)
	}
	if len(jws.Signatures) != 1 {
		return "", reject(errors.New("not exactly one signature"))
	}
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return "", reject(fmt.Errorf("claims: %w", err))
	}
	is := v.issuers[unverified.Issuer]
	if is == nil {
		return "", reject(fmt.Errorf("issuer %q is not accepted", unverified.Issuer))
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := is.keys.get(ctx, kid)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", reject(fmt.Errorf("issuer %s publishes no key with id %q", is.URL, kid))
	}
	tok, err := oidc.NewVerifier(is.URL, &oidc.StaticKeySet{PublicKeys: keys}, is.verifier).Verify(ctx, raw)
	if err != nil {
		return "", reject(err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return "", reject(err)
	}
	if err := v.checkTimes(tok.Expiry, claims["nbf"]); err != nil {
		return "", reject(err)
	}
	user, _ := claims[is.UserClaim].(string)
	if user == "" {
		return "", reject(fmt.Errorf("claim %q is not a non-empty string", is.UserClaim))
	}
	return user, nil
}

func (v *Verifier) joseAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(v.algs))
	for i, a := range v.algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// checkTimes checks exp, which is required, and nbf, which is not, with
// Leeway either way.
func (v *Verifier) checkTimes(exp time.Time, nbf any) error {
	now := v.now()
	if exp.IsZero() {
		return errors.New("token has no exp")
	}
	if now.After(exp.Add(v.leeway)) {
		return fmt.Errorf("token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	switch n := nbf.(type) {
	case nil:
	case float64:
		if latest := float64(now.Add(v.leeway).UnixNano()) / 1e9; n > latest {
			return fmt.Errorf("token not valid before %.0f (seconds since 1970)", n)
		}
	default:
		return errors.New("nbf is not a number")
	}
	return nil
}

// rejectedError is a token found wanting: a verdict, not trouble.
type rejectedError struct{ err error }

func reject(err error) error { return &rejectedError{err} }

func (e *rejectedError) Error() string   { return "oidcauth: token rejected: " + e.err.Error() }
func (e *rejectedError) Unwrap() []error { return []error{ingest.ErrUnauthorized, e.err} }

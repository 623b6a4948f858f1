// Package oidcauth authenticates the callers of fieldlog's reference
// ingest server with OpenID Connect access tokens, as the production
// backend does: RS256 JWTs checked against each configured issuer's
// published keys.
//
// [New] returns a [Verifier], an ingest.Verifier: pass it as
// ingest.ServerOptions.Verifier, alone or beside a static token with
// ingest.AnyOf. For each bearer token it
//
//   - reads the issuer (iss) and accepts only configured issuers;
//   - fetches that issuer's keys (JWKS) from the jwks_uri of its discovery
//     document, caches them, fetches again after RefreshInterval and on a
//     key id it does not hold (at most once per MinFetchInterval), so a
//     rotated key is picked up without a restart;
//   - checks the signature with OpenID Connect's maintained Go library
//     (github.com/coreos/go-oidc), accepting only the configured
//     public-key algorithms, so "alg": "none" and HS256 signed with the
//     public key as secret are refused;
//   - checks iss, the audience (aud) when the issuer sets one, exp (which
//     is required) and nbf with a leeway of one minute either way;
//   - returns the user named by the issuer's UserClaim (default sub),
//     which the ingest server stores with each entry as server.user.
//
// A token found wanting is an error wrapping ingest.ErrUnauthorized: the
// server answers 401 and logs nothing. When the issuer cannot be reached,
// the keys fetched last keep verifying tokens for KeyLifetime after that
// fetch (default 24 h); each failed fetch is reported to OnError. Past the
// lifetime the issuer's tokens get 401 with an error wrapping
// [ErrKeysUnavailable], which the server reports to its own OnError.
// Nothing an issuer or a client sends makes it panic: answers of an issuer
// are read up to 1 MB each, and fetches time out after FetchTimeout.
//
// [New] contacts no issuer, so a server starts while its identity
// provider is down. Package oidctest runs an issuer on 127.0.0.1 for tests.
//
// The module is separate from fieldlog's core, so that the core never
// depends on go-oidc and go-jose.
package oidcauth

// Package auth establishes who is calling: it verifies bearer JWTs (HS256
// shared secrets, RS256/ES256 public keys, or a JWKS file/URL), checks
// user names and bcrypt passwords from a users file, issues the server's own
// session tokens, and parses Authorization headers.
//
// Verification is strict by construction: the accepted algorithms are pinned
// to the configured key types (an HS256 token is only ever checked against
// the shared secret, never against public-key bytes), exp is required,
// iss/aud are checked when configured, the clock leeway is 30 s and a token
// whose lifetime (exp−iat) exceeds MaxLifetime is refused. A JWKS is cached;
// a token naming an unknown kid triggers a refetch at most once per
// RefetchInterval, so forged kids cannot make the server hammer the IdP.
//
// The result of every successful check is a Principal {Subject, Roles,
// Claims} that callers carry in the context (WithPrincipal/FromContext).
// Failures wrap the package's sentinels, which flightserver maps to
// Unauthenticated. What a principal may read is package policy's job, not
// this one's: auth only says who is calling.
package auth

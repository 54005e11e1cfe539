package auth

import (
	"context"

	"github.com/quiver-data/quiver/errkind"
)

// Sentinel errors of the package.
var (
	// ErrNoCredentials is a request that carries no credentials at all.
	ErrNoCredentials = errkind.New(errkind.Unauthenticated, "no credentials")
	// ErrMalformedHeader is an Authorization header that cannot be parsed.
	ErrMalformedHeader = errkind.New(errkind.Unauthenticated, "malformed authorization header")
	// ErrInvalidToken is a bearer token that fails verification (bad
	// signature, expired, wrong issuer or audience, too long-lived…).
	ErrInvalidToken = errkind.New(errkind.Unauthenticated, "invalid token")
	// ErrBadPassword is an unknown user or a wrong password.
	ErrBadPassword = errkind.New(errkind.Unauthenticated, "unknown user or wrong password")
)

// Principal is an authenticated caller.
type Principal struct {
	Subject string
	Roles   []string
	Claims  map[string]any
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal ctx carries, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// principalFromClaims builds a principal from verified claims: sub is the
// subject, roles a string or list of strings.
func principalFromClaims(claims map[string]any) Principal {
	p := Principal{Claims: claims}
	p.Subject, _ = claims["sub"].(string)
	switch r := claims["roles"].(type) {
	case string:
		p.Roles = []string{r}
	case []any:
		for _, v := range r {
			if s, ok := v.(string); ok {
				p.Roles = append(p.Roles, s)
			}
		}
	case []string:
		p.Roles = append(p.Roles, r...)
	}
	return p
}

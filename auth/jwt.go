package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Options configure a Verifier. At least one key source must be set.
type Options struct {
	// HMACSecret is the HS256 shared secret (see ReadSecretFile).
	HMACSecret []byte
	// PublicKeys verify RS256 (RSA) or ES256 (P-256) tokens without a kid
	// or with a kid not in the JWKS.
	PublicKeys []crypto.PublicKey
	// JWKS is a JWKS file path or an http(s) URL.
	JWKS string
	// Issuer and Audience, when set, must match iss and aud.
	Issuer   string
	Audience string
	// Leeway for exp/nbf/iat; default 30 s.
	Leeway time.Duration
	// MaxLifetime refuses tokens whose exp−iat exceeds it; default 24h.
	MaxLifetime time.Duration
	// RefetchInterval bounds JWKS refetches for unknown kids; default 30 s.
	RefetchInterval time.Duration
	HTTPClient      *http.Client
	Logger          *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verifier checks bearer tokens.
type Verifier struct {
	opts    Options
	methods []string
	jwks    *jwks
	parser  *jwt.Parser
}

// ReadSecretFile reads an HS256 secret (at least 32 bytes) from file.
func ReadSecretFile(file string) ([]byte, error) { return readSecret(file) }

// ReadPublicKeyFile reads an RSA or P-256 public key (or certificate) PEM.
func ReadPublicKeyFile(file string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	k, err := parsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", file, err)
	}
	return k, nil
}

// NewVerifier builds a verifier; with a JWKS it fetches the key set once.
func NewVerifier(ctx context.Context, opts Options) (*Verifier, error) {
	if opts.Leeway == 0 {
		opts.Leeway = 30 * time.Second
	}
	if opts.MaxLifetime == 0 {
		opts.MaxLifetime = 24 * time.Hour
	}
	if opts.RefetchInterval == 0 {
		opts.RefetchInterval = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	v := &Verifier{opts: opts}
	if len(opts.HMACSecret) > 0 {
		v.methods = append(v.methods, "HS256")
	}
	for _, k := range opts.PublicKeys {
		if _, err := checkKey(k); err != nil {
			return nil, err
		}
		v.methods = append(v.methods, algFor(k))
	}
	if opts.JWKS != "" {
		v.jwks = &jwks{source: opts.JWKS, client: opts.HTTPClient, interval: opts.RefetchInterval, now: opts.Now, logger: opts.Logger}
		if err := v.jwks.refresh(ctx); err != nil {
			return nil, err
		}
		// The JWKS may hold either key type; kid lookup pins each token to
		// the algorithm of its key.
		v.methods = append(v.methods, "RS256", "ES256")
	}
	if len(v.methods) == 0 {
		return nil, errors.New("no token key configured: give an HS256 secret, a public key or a JWKS")
	}
	slices.Sort(v.methods)
	v.methods = slices.Compact(v.methods)
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

// Verify checks token and returns its principal.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrNoCredentials
	}
	if len(token) > MaxHeaderLen || strings.Count(token, ".") != 2 {
		return Principal{}, fmt.Errorf("%w: not a JWT (want three dot-separated parts)", ErrInvalidToken)
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, describe(err))
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	start := v.opts.Now()
	if iat != nil {
		start = iat.Time
	}
	if life := exp.Sub(start); life > v.opts.MaxLifetime {
		return Principal{}, fmt.Errorf("%w: lifetime %s exceeds the maximum %s", ErrInvalidToken, life.Round(time.Second), v.opts.MaxLifetime)
	}
	p := principalFromClaims(claims)
	if p.Subject == "" {
		return Principal{}, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	return p, nil
}

// key picks the verification key for t; the algorithm has already been
// checked against the configured ones, and each key only verifies its own
// algorithm.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	if crit, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: a recipient that does not understand every
		// critical header parameter must reject the JWS. Quiver
		// understands no extension, so any crit is refused.
		return nil, criticalError{crit}
	}
	alg := t.Method.Alg()
	if alg == "HS256" {
		if len(v.opts.HMACSecret) == 0 {
			return nil, errors.New("HS256 tokens are not accepted")
		}
		return v.opts.HMACSecret, nil
	}
	if kid, ok := t.Header["kid"].(string); ok && kid != "" && v.jwks != nil {
		k, err := v.jwks.lookup(ctx, kid)
		if err == nil {
			if algFor(k) != alg {
				return nil, fmt.Errorf("key %q is not an %s key", kid, alg)
			}
			return k, nil
		}
		if len(v.opts.PublicKeys) == 0 {
			return nil, err
		}
	}
	// Static keys of the token's type; jwt tries each in turn.
	var set jwt.VerificationKeySet
	for _, k := range v.opts.PublicKeys {
		if algFor(k) == alg {
			set.Keys = append(set.Keys, k)
		}
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no %s key configured for this token (kid missing or unknown)", alg)
	}
	return set, nil
}

// criticalError is a token whose JWS header names critical extensions.
type criticalError struct{ params any }

func (e criticalError) Error() string {
	return fmt.Sprintf("unsupported critical header parameters %v", e.params)
}

// describe turns jwt's error into a short reason for the client.
func describe(err error) string {
	if c := (criticalError{}); errors.As(err, &c) {
		return c.Error()
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing required claim: " + err.Error()
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if strings.Contains(err.Error(), "signing method") {
			return "algorithm not accepted: " + err.Error()
		}
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	}
	return err.Error()
}

package auth

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer issues tokens: the server's session tokens after a password
// handshake, and `quiver token`.
type Signer struct {
	method jwt.SigningMethod
	key    any
	public crypto.PublicKey
	// Issuer and Audience, when set, go into every token.
	Issuer   string
	Audience string
	now      func() time.Time
}

// NewHMACSigner signs HS256 with secret.
func NewHMACSigner(secret []byte) (*Signer, error) {
	if len(secret) < 32 {
		return nil, errors.New("HS256 secret must be at least 32 bytes")
	}
	return &Signer{method: jwt.SigningMethodHS256, key: secret, now: time.Now}, nil
}

// LoadSigner reads a PEM RSA/P-256 private key (RS256/ES256) or, when the
// file holds no PEM, an HS256 secret.
func LoadSigner(file string) (*Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if !isPEM(b) {
		secret, err := readSecret(file)
		if err != nil {
			return nil, err
		}
		return NewHMACSigner(secret)
	}
	k, err := parsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", file, err)
	}
	s := &Signer{key: k, public: k.Public(), now: time.Now}
	s.method = jwt.SigningMethodRS256
	if _, ok := k.(*ecdsa.PrivateKey); ok {
		s.method = jwt.SigningMethodES256
	}
	return s, nil
}

// PublicKey is the key that verifies this signer's tokens; nil for HS256.
func (s *Signer) PublicKey() crypto.PublicKey { return s.public }

// Sign issues a token for p valid for ttl.
func (s *Signer) Sign(p Principal, ttl time.Duration) (string, error) {
	if p.Subject == "" {
		return "", errors.New("sign token: empty subject")
	}
	if ttl <= 0 {
		return "", errors.New("sign token: ttl must be positive")
	}
	claims := jwt.MapClaims{}
	maps.Copy(claims, p.Claims)
	now := s.now()
	claims["sub"] = p.Subject
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	if len(p.Roles) > 0 {
		claims["roles"] = p.Roles
	} else {
		delete(claims, "roles")
	}
	if s.Issuer != "" {
		claims["iss"] = s.Issuer
	}
	if s.Audience != "" {
		claims["aud"] = s.Audience
	}
	tok, err := jwt.NewWithClaims(s.method, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

func isPEM(b []byte) bool {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return len(b) > 10 && string(b[:10]) == "-----BEGIN"
}

package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// MaxHeaderLen bounds an Authorization header; anything longer is refused
// before any parsing or signature work.
const MaxHeaderLen = 16 << 10

// Scheme is an Authorization scheme Quiver understands.
type Scheme string

// The schemes.
const (
	SchemeBearer Scheme = "Bearer"
	SchemeBasic  Scheme = "Basic"
)

// Credentials are a parsed Authorization header: a bearer token, or a
// user name and password.
type Credentials struct {
	Scheme   Scheme
	Token    string
	User     string
	Password string
}

// ParseAuthorization parses "Bearer <token>" or "Basic base64(user:pw)".
// Scheme names are case-insensitive (RFC 7235); base64 may be padded or
// not (arrow-go sends it unpadded).
func ParseAuthorization(h string) (Credentials, error) {
	if h == "" {
		return Credentials{}, ErrNoCredentials
	}
	if len(h) > MaxHeaderLen {
		return Credentials{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, MaxHeaderLen)
	}
	scheme, rest, ok := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	if !ok || rest == "" {
		return Credentials{}, fmt.Errorf("%w: want \"Bearer <token>\" or \"Basic <base64>\"", ErrMalformedHeader)
	}
	switch {
	case strings.EqualFold(scheme, string(SchemeBearer)):
		if strings.ContainsAny(rest, " \t") {
			return Credentials{}, fmt.Errorf("%w: bearer token contains whitespace", ErrMalformedHeader)
		}
		return Credentials{Scheme: SchemeBearer, Token: rest}, nil
	case strings.EqualFold(scheme, string(SchemeBasic)):
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
		if err != nil {
			return Credentials{}, fmt.Errorf("%w: basic credentials are not base64", ErrMalformedHeader)
		}
		user, pw, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Credentials{}, fmt.Errorf("%w: basic credentials lack the user:password colon", ErrMalformedHeader)
		}
		if user == "" {
			return Credentials{}, fmt.Errorf("%w: empty user name", ErrMalformedHeader)
		}
		return Credentials{Scheme: SchemeBasic, User: user, Password: pw}, nil
	}
	return Credentials{}, fmt.Errorf("%w: unsupported scheme %.20q", ErrMalformedHeader, scheme)
}

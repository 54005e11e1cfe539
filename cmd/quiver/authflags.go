package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/flightserver"
)

// authFlags configure who may call the server: bearer JWTs, a users file
// for password logins, and TLS (with client certificates for mTLS).
type authFlags struct {
	jwtSecretFile string
	jwtPublicKey  string
	jwks          string
	issuer        string
	audience      string
	maxLifetime   time.Duration
	signingKey    string
	usersFile     string
	sessionTTL    time.Duration
	tlsCert       string
	tlsKey        string
	tlsClientCA   string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.jwtSecretFile, "jwt-secret-file", "", "file with the HS256 secret (≥ 32 bytes) bearer tokens are signed with")
	fs.StringVar(&a.jwtPublicKey, "jwt-public-key", "", "PEM RSA or P-256 public key (or certificate) that verifies RS256/ES256 bearer tokens")
	fs.StringVar(&a.jwks, "jwks", "", "JWKS file or https URL with the keys that verify bearer tokens (refetched for unknown kids, at most every 30s)")
	fs.StringVar(&a.issuer, "jwt-issuer", "", "required iss of bearer tokens (and iss of the tokens this server issues)")
	fs.StringVar(&a.audience, "jwt-audience", "", "required aud of bearer tokens (and aud of the tokens this server issues)")
	fs.DurationVar(&a.maxLifetime, "jwt-max-lifetime", defaultMaxLifetime, "refuse tokens whose exp−iat is longer")
	fs.StringVar(&a.signingKey, "jwt-signing-key", "", "PEM RSA/P-256 private key (or HS256 secret file) that signs session tokens after a password login")
	fs.StringVar(&a.usersFile, "users-file", "", "YAML users file (users: [{name, password_bcrypt, roles, claims}]) for Basic logins on Handshake")
	fs.DurationVar(&a.sessionTTL, "session-ttl", time.Hour, "lifetime of the token a password login returns")
	fs.StringVar(&a.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve TLS with")
	fs.StringVar(&a.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&a.tlsClientCA, "tls-client-ca", "", "PEM CA bundle: require client certificates signed by it (mTLS); the certificate's CN is the principal when no token is sent")
}

// defaultMaxLifetime is --jwt-max-lifetime's default on serve and token
// (and auth.Options' when MaxLifetime is 0).
const defaultMaxLifetime = 24 * time.Hour

// checkLifetime refuses a token lifetime (flag names it) that a server
// with --jwt-max-lifetime maxLifetime would refuse, so neither `quiver
// token` nor a password login hands out a token that fails on first use.
func checkLifetime(flag string, ttl, maxLifetime time.Duration) error {
	if maxLifetime == 0 {
		maxLifetime = defaultMaxLifetime // as auth.NewVerifier does
	}
	if ttl <= maxLifetime {
		return nil
	}
	return fmt.Errorf("%s %s exceeds --jwt-max-lifetime %s, the longest lifetime the server accepts; "+
		"give a shorter %s, or raise the limit with --jwt-max-lifetime (or QUIVER_JWT_MAX_LIFETIME) on serve and on token alike",
		flag, shortDuration(ttl), shortDuration(maxLifetime), flag)
}

// shortDuration is d without trailing zero units: 48h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// enabled reports whether any authentication is configured.
func (a *authFlags) enabled() bool {
	return a.jwtSecretFile != "" || a.jwtPublicKey != "" || a.jwks != "" || a.usersFile != "" || a.tlsClientCA != ""
}

// serverOptions builds the authenticator's interceptors and the TLS
// credentials.
func (a *authFlags) serverOptions(ctx context.Context, logger *slog.Logger) ([]grpc.ServerOption, error) {
	var opts []grpc.ServerOption
	creds, err := a.tlsCredentials()
	if err != nil {
		return nil, err
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	if !a.enabled() {
		return opts, nil
	}
	aopts := flightserver.AuthOptions{ClientCerts: a.tlsClientCA != "", SessionTTL: a.sessionTTL, Logger: logger}
	vopts := auth.Options{JWKS: a.jwks, Issuer: a.issuer, Audience: a.audience, MaxLifetime: a.maxLifetime, Logger: logger}
	if a.jwtSecretFile != "" {
		if vopts.HMACSecret, err = auth.ReadSecretFile(a.jwtSecretFile); err != nil {
			return nil, err
		}
	}
	if a.jwtPublicKey != "" {
		k, err := auth.ReadPublicKeyFile(a.jwtPublicKey)
		if err != nil {
			return nil, err
		}
		vopts.PublicKeys = append(vopts.PublicKeys, k)
	}
	if a.usersFile != "" {
		if err := checkLifetime("--session-ttl", a.sessionTTL, a.maxLifetime); err != nil {
			return nil, err
		}
		users, err := auth.LoadUsers(a.usersFile)
		if err != nil {
			return nil, err
		}
		signer, err := a.sessionSigner(&vopts)
		if err != nil {
			return nil, err
		}
		signer.Issuer, signer.Audience = a.issuer, a.audience
		aopts.Users, aopts.Issuer = users, signer
	}
	if len(vopts.HMACSecret) > 0 || len(vopts.PublicKeys) > 0 || vopts.JWKS != "" {
		v, err := auth.NewVerifier(ctx, vopts)
		if err != nil {
			return nil, err
		}
		aopts.Verifier = v
	}
	return append(opts, flightserver.NewAuthenticator(aopts).ServerOptions()...), nil
}

// sessionSigner is the key that signs tokens after a password login; the
// verifier learns to accept them. Without --jwt-signing-key it is the
// HS256 secret, or a random one (sessions then end with the process).
func (a *authFlags) sessionSigner(v *auth.Options) (*auth.Signer, error) {
	if a.signingKey == "" {
		if len(v.HMACSecret) == 0 {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return nil, fmt.Errorf("generate session secret: %w", err)
			}
			v.HMACSecret = []byte(hex.EncodeToString(b))
		}
		return auth.NewHMACSigner(v.HMACSecret)
	}
	s, err := auth.LoadSigner(a.signingKey)
	if err != nil {
		return nil, err
	}
	if pub := s.PublicKey(); pub != nil {
		v.PublicKeys = append([]crypto.PublicKey{pub}, v.PublicKeys...)
		return s, nil
	}
	secret, err := auth.ReadSecretFile(a.signingKey)
	if err != nil {
		return nil, err
	}
	if len(v.HMACSecret) > 0 && string(v.HMACSecret) != string(secret) {
		return nil, errors.New("--jwt-signing-key holds an HS256 secret different from --jwt-secret-file; use one secret")
	}
	v.HMACSecret = secret
	return s, nil
}

func (a *authFlags) tlsCredentials() (credentials.TransportCredentials, error) {
	if a.tlsCert == "" && a.tlsKey == "" {
		if a.tlsClientCA != "" {
			return nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if a.tlsCert == "" || a.tlsKey == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(a.tlsCert, a.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if a.tlsClientCA != "" {
		pem, err := os.ReadFile(a.tlsClientCA)
		if err != nil {
			return nil, fmt.Errorf("read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", a.tlsClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}

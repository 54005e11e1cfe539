package flightserver

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/quiver-data/quiver/auth"
)

const (
	handshakeMethod = "/arrow.flight.protocol.FlightService/Handshake"
	healthPrefix    = "/grpc.health.v1.Health/"
)

// TokenVerifier checks a bearer token.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (auth.Principal, error)
}

// PasswordChecker checks a user name and password.
type PasswordChecker interface {
	Check(user, password string) (auth.Principal, error)
}

// TokenIssuer signs the session tokens a password handshake returns.
type TokenIssuer interface {
	Sign(p auth.Principal, ttl time.Duration) (string, error)
}

// AuthOptions configure authentication. Any of Verifier, Users or
// ClientCerts turns it on.
type AuthOptions struct {
	Verifier TokenVerifier
	// Users and Issuer enable the Basic→Bearer Handshake.
	Users      PasswordChecker
	Issuer     TokenIssuer
	SessionTTL time.Duration // default 1h
	// ClientCerts makes a verified TLS client certificate's subject CN the
	// principal of calls that send no Authorization header.
	ClientCerts bool
	Logger      *slog.Logger
}

// Authenticator holds the gRPC interceptors that establish the principal
// of each call.
type Authenticator struct {
	opts AuthOptions
}

// NewAuthenticator builds an authenticator.
func NewAuthenticator(opts AuthOptions) *Authenticator {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	return &Authenticator{opts: opts}
}

// ServerOptions are the interceptors to add to the gRPC server.
func (a *Authenticator) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(a.unary), grpc.ChainStreamInterceptor(a.stream)}
}

// PrincipalName is an Access.Principal that reads the principal the
// interceptors put in the context; "anonymous" without one.
func PrincipalName(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.Subject
	}
	return "anonymous"
}

func (a *Authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(ctx, req)
	}
	p, err := a.authenticate(ctx)
	if err != nil {
		return nil, a.refuse(ctx, info.FullMethod, err)
	}
	return h(auth.WithPrincipal(ctx, p), req)
}

func (a *Authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx := ss.Context()
	switch {
	case info.FullMethod == handshakeMethod:
		return a.handshake(ss)
	case strings.HasPrefix(info.FullMethod, healthPrefix):
		return h(srv, ss)
	}
	p, err := a.authenticate(ctx)
	if err != nil {
		return a.refuse(ctx, info.FullMethod, err)
	}
	return h(srv, &principalStream{ServerStream: ss, ctx: auth.WithPrincipal(ctx, p)})
}

func (a *Authenticator) refuse(ctx context.Context, method string, err error) error {
	peerAddr := ""
	if p, ok := peer.FromContext(ctx); ok {
		peerAddr = p.Addr.String()
	}
	a.opts.Logger.Info("unauthenticated call refused", "method", method, "peer", peerAddr, "err", err)
	// The authenticator's interceptors run on any Flight service (tests
	// give it others than Quiver's), so they map their errors themselves.
	return toStatus(err)
}

// authenticate finds the caller: a bearer token, else a client
// certificate.
func (a *Authenticator) authenticate(ctx context.Context) (auth.Principal, error) {
	h := authorization(ctx)
	if h == "" {
		if cn, ok := a.certName(ctx); ok {
			return auth.Principal{Subject: cn, Claims: map[string]any{"sub": cn}}, nil
		}
		return auth.Principal{}, fmt.Errorf("%w: send \"authorization: Bearer <token>\" (or log in with Basic credentials on Handshake)", auth.ErrNoCredentials)
	}
	c, err := auth.ParseAuthorization(h)
	if err != nil {
		return auth.Principal{}, err
	}
	if c.Scheme != auth.SchemeBearer {
		return auth.Principal{}, fmt.Errorf("%w: Basic credentials are only accepted on Handshake, which answers with a bearer token", auth.ErrMalformedHeader)
	}
	if a.opts.Verifier == nil {
		return auth.Principal{}, fmt.Errorf("%w: this server does not accept bearer tokens", auth.ErrInvalidToken)
	}
	return a.opts.Verifier.Verify(ctx, c.Token)
}

// handshake implements the Flight Handshake: Basic credentials are
// exchanged for a session token in the "authorization: Bearer" response
// header (what arrow-go's AuthenticateBasicToken and pyarrow's
// authenticate_basic_token read); a valid bearer token is echoed back.
func (a *Authenticator) handshake(ss grpc.ServerStream) error {
	ctx := ss.Context()
	h := authorization(ctx)
	if h == "" {
		if cn, ok := a.certName(ctx); ok {
			a.opts.Logger.Debug("handshake by client certificate", "principal", cn)
			return nil
		}
	}
	c, err := auth.ParseAuthorization(h)
	if err != nil {
		return a.refuse(ctx, handshakeMethod, err)
	}
	var token string
	switch c.Scheme {
	case auth.SchemeBasic:
		if a.opts.Users == nil || a.opts.Issuer == nil {
			return a.refuse(ctx, handshakeMethod, fmt.Errorf("%w: password login is not configured on this server", auth.ErrBadPassword))
		}
		p, err := a.opts.Users.Check(c.User, c.Password)
		if err != nil {
			return a.refuse(ctx, handshakeMethod, err)
		}
		if token, err = a.opts.Issuer.Sign(p, a.opts.SessionTTL); err != nil {
			return toStatus(err)
		}
		a.opts.Logger.Info("password login", "principal", p.Subject)
	case auth.SchemeBearer:
		if _, err := a.authenticate(ctx); err != nil {
			return a.refuse(ctx, handshakeMethod, err)
		}
		token = c.Token
	}
	if err := ss.SetHeader(metadata.Pairs("authorization", "Bearer "+token)); err != nil {
		return fmt.Errorf("set handshake header: %w", err)
	}
	return nil
}

// certName is the subject CN of a verified client certificate.
func (a *Authenticator) certName(ctx context.Context) (string, bool) {
	if !a.opts.ClientCerts {
		return "", false
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	var leaf *x509.Certificate = ti.State.VerifiedChains[0][0]
	if leaf.Subject.CommonName == "" {
		return "", false
	}
	return leaf.Subject.CommonName, true
}

func authorization(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

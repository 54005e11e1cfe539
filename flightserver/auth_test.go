package flightserver

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/auth"
)

// whoami answers ListActions with the caller's principal.
type whoami struct{ flight.BaseFlightServer }

func (whoami) ListActions(_ *flight.Empty, s flight.FlightService_ListActionsServer) error {
	return s.Send(&flight.ActionType{Type: PrincipalName(s.Context())})
}

func TestAuthenticator(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	signer, err := auth.NewHMACSigner(secret)
	require.NoError(t, err)
	verifier, err := auth.NewVerifier(context.Background(), auth.Options{HMACSecret: secret})
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	users, err := auth.ParseUsers([]byte("users: [{name: bob, password_bcrypt: '" + string(hash) + "', roles: [analyst]}]"))
	require.NoError(t, err)
	a := NewAuthenticator(AuthOptions{Verifier: verifier, Users: users, Issuer: signer})

	gs := NewGRPCServer(&whoami{}, GRPCOptions{ServerOptions: a.ServerOptions()})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	client, err := flight.NewClientWithMiddleware(lis.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })

	who := func(ctx context.Context) (string, error) {
		s, err := client.ListActions(ctx, &flight.Empty{})
		if err != nil {
			return "", err
		}
		a, err := s.Recv()
		if err != nil {
			return "", err
		}
		return a.GetType(), nil
	}
	with := func(h string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", h)
	}
	alice, err := signer.Sign(auth.Principal{Subject: "alice"}, time.Hour)
	require.NoError(t, err)
	other, err := auth.NewHMACSigner([]byte("another-secret-another-secret-xx"))
	require.NoError(t, err)
	forged, err := other.Sign(auth.Principal{Subject: "alice"}, time.Hour)
	require.NoError(t, err)

	cases := []struct {
		name    string
		ctx     context.Context
		want    string
		wantErr string
	}{
		{"no credentials", context.Background(), "", "no credentials"},
		{"valid token", with("Bearer " + alice), "alice", ""},
		{"lowercase scheme", with("bearer " + alice), "alice", ""},
		{"bad signature", with("Bearer " + forged), "", "bad signature"},
		{"garbage", with("Bearer garbage"), "", "not a JWT"},
		{"basic outside handshake", with("Basic Ym9iOnB3"), "", "only accepted on Handshake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := who(c.ctx)
			if c.wantErr != "" {
				require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}

	t.Run("basic handshake issues a bearer token", func(t *testing.T) {
		ctx, err := client.AuthenticateBasicToken(context.Background(), "bob", "pw")
		require.NoError(t, err)
		got, err := who(ctx)
		require.NoError(t, err)
		require.Equal(t, "bob", got)
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := client.AuthenticateBasicToken(context.Background(), "bob", "nope")
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
		_, err = client.AuthenticateBasicToken(context.Background(), "mallory", "pw")
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	})
}

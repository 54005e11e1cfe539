package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// startAuthServer runs `quiver serve` with auth flags (a later
// --warehouse in args wins over the empty one). The harness's default
// readiness probe has no credentials, which an authenticated server
// refuses: ready probes instead.
func startAuthServer(t *testing.T, ready func(addr string) error, args ...string) string {
	t.Helper()
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: t.TempDir(), LocalWorkers: 1, Args: args, Ready: ready})
	return srv.Addr()
}

// selectOne runs SELECT 1 and returns the ticket it redeemed.
func selectOne(ctx context.Context, cl *flightsql.Client) (*flight.Ticket, error) {
	info, err := cl.Execute(ctx, "SELECT 1 AS one")
	if err != nil {
		return nil, err
	}
	return info.Endpoint[0].Ticket, redeem(ctx, cl, info.Endpoint[0].Ticket)
}

func redeem(ctx context.Context, cl *flightsql.Client, tkt *flight.Ticket) error {
	rdr, err := cl.DoGet(ctx, tkt)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Err()
}

func bearer(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

func quiverToken(t *testing.T, args ...string) string {
	t.Helper()
	res := harness.RunQuiver(t, 30*time.Second, nil, append([]string{"token"}, args...)...)
	require.NoError(t, res.Err, res.Output)
	lines := strings.Split(strings.TrimSpace(res.Output), "\n")
	return lines[len(lines)-1]
}

func TestAuthTokensAndPasswords(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("e2e-secret-e2e-secret-e2e-secret-0123\n"), 0o600))
	hash, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	require.NoError(t, err)
	users := filepath.Join(dir, "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users:\n  - name: bob\n    password_bcrypt: '"+string(hash)+"'\n    roles: [analyst]\n"), 0o600))

	alice := quiverToken(t, "--jwt-secret-file", secret, "--sub", "alice", "--role", "analyst", "--ttl", "1h", "--claim", "team=sales")
	mallory := quiverToken(t, "--jwt-secret-file", secret, "--sub", "mallory", "--ttl", "1h")
	addr := startAuthServer(t, func(addr string) error {
		cl, err := harness.DialFlightSQL(addr, nil)
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = selectOne(bearer(alice), cl)
		return err
	}, "--jwt-secret-file", secret, "--users-file", users)
	cl := dialFlightSQL(t, addr, nil)

	t.Run("token from quiver token", func(t *testing.T) {
		_, err := selectOne(bearer(alice), cl)
		require.NoError(t, err)
	})
	for name, ctx := range map[string]context.Context{
		"no token":  context.Background(),
		"bad token": bearer(alice[:len(alice)-4] + "AAAA"),
		"garbage":   bearer("garbage"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cl.Execute(ctx, "SELECT 1")
			require.Equal(t, codes.Unauthenticated, status.Code(err), describe(err))
		})
	}
	t.Run("basic to bearer handshake", func(t *testing.T) {
		ctx, err := cl.Client.AuthenticateBasicToken(context.Background(), "bob", "hunter2")
		require.NoError(t, err)
		md, _ := metadata.FromOutgoingContext(ctx)
		require.True(t, strings.HasPrefix(md.Get("authorization")[0], "Bearer "), md)
		_, err = selectOne(ctx, cl)
		require.NoError(t, err)
		_, err = cl.Client.AuthenticateBasicToken(context.Background(), "bob", "wrong")
		require.Equal(t, codes.Unauthenticated, status.Code(err), describe(err))
	})
	t.Run("another principal's ticket", func(t *testing.T) {
		info, err := cl.Execute(bearer(alice), "SELECT 1")
		require.NoError(t, err)
		err = redeem(bearer(mallory), cl, info.Endpoint[0].Ticket)
		require.Equal(t, codes.PermissionDenied, status.Code(err), describe(err))
		require.NoError(t, redeem(bearer(alice), cl, info.Endpoint[0].Ticket))
	})
}

type testPKI struct {
	dir        string
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	serial     int64
	caCertPath string
}

func newTestPKI(t *testing.T) *testPKI {
	p := &testPKI{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quiver e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	p.ca, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	p.caKey, p.serial = key, 1
	p.caCertPath = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue returns cert and key files for cn, for a server (127.0.0.1) or a
// client.
func (p *testPKI) issue(t *testing.T, cn string, server bool) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return p.write(t, cn+".pem", "CERTIFICATE", der), p.write(t, cn+".key", "PRIVATE KEY", kder)
}

func (p *testPKI) client(t *testing.T, addr, cn string) (*flightsql.Client, error) {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cn != "" {
		certFile, keyFile := p.issue(t, cn, false)
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
}

func TestAuthTLSAndClientCertificates(t *testing.T) {
	pki := newTestPKI(t)
	certFile, keyFile := pki.issue(t, "quiver-server", true)
	secret := filepath.Join(pki.dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("e2e-secret-e2e-secret-e2e-secret-0123"), 0o600))
	carolCl := func(addr string) (*flightsql.Client, error) { return pki.client(t, addr, "carol") }
	addr := startAuthServer(t, func(addr string) error {
		cl, err := carolCl(addr)
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = selectOne(context.Background(), cl)
		return err
	}, "--tls-cert", certFile, "--tls-key", keyFile, "--tls-client-ca", pki.caCertPath, "--jwt-secret-file", secret)

	carol, err := carolCl(addr)
	require.NoError(t, err)
	defer carol.Close()
	dave, err := pki.client(t, addr, "dave")
	require.NoError(t, err)
	defer dave.Close()

	t.Run("TLS round trip, principal from the client certificate", func(t *testing.T) {
		info, err := carol.Execute(context.Background(), "SELECT 1")
		require.NoError(t, err)
		// dave's certificate makes him a different principal.
		err = redeem(context.Background(), dave, info.Endpoint[0].Ticket)
		require.Equal(t, codes.PermissionDenied, status.Code(err), describe(err))
		require.NoError(t, redeem(context.Background(), carol, info.Endpoint[0].Ticket))
	})
	t.Run("a token overrides the certificate", func(t *testing.T) {
		tok := quiverToken(t, "--jwt-secret-file", secret, "--sub", "carol")
		info, err := dave.Execute(bearer(tok), "SELECT 1")
		require.NoError(t, err)
		require.NoError(t, redeem(context.Background(), carol, info.Endpoint[0].Ticket))
	})
	t.Run("no client certificate", func(t *testing.T) {
		cl, err := pki.client(t, addr, "")
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cl.Execute(ctx, "SELECT 1")
		require.Error(t, err)
	})
	t.Run("plaintext client", func(t *testing.T) {
		cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cl.Execute(ctx, "SELECT 1")
		require.Error(t, err)
	})
}

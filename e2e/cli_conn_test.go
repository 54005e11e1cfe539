package e2e_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/quiver-data/quiver/e2e/harness"
)

// connQuery runs `quiver query SQL --format csv args…` with env and returns
// its result.
func connQuery(t *testing.T, env []string, sql string, args ...string) harness.RunResult {
	t.Helper()
	return harness.RunQuiver(t, 60*time.Second, env, append([]string{"query", sql, "--format", "csv"}, args...)...)
}

// requireCSV requires res to have succeeded with exactly want on stdout.
func requireCSV(t *testing.T, res harness.RunResult, want string) {
	t.Helper()
	require.NoError(t, res.Err, res.Output)
	require.Equal(t, want, res.Stdout)
}

// requireRefused requires res to have failed with every one of msgs in
// its output, and no Go panic.
func requireRefused(t *testing.T, res harness.RunResult, msgs ...string) {
	t.Helper()
	require.Error(t, res.Err, res.Output)
	require.NotContains(t, res.Output, "panic:")
	for _, m := range msgs {
		require.Contains(t, res.Output, m)
	}
}

// TestCLIConnectionOptions drives every connection option of the command
// line (`quiver query`, `quiver report`) against real servers with tokens
// and passwords, with TLS, and with mutual TLS, from flags and from the
// QUIVER_… variables the Python client reads.
func TestCLIConnectionOptions(t *testing.T) {
	pki := newTestPKI(t)
	secret := filepath.Join(pki.dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("e2e-secret-e2e-secret-e2e-secret-0123"), 0o600))
	hash, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	require.NoError(t, err)
	users := filepath.Join(pki.dir, "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users:\n  - name: bob\n    password_bcrypt: '"+string(hash)+"'\n    roles: [analyst]\n"), 0o600))
	tok := quiverToken(t, "--jwt-secret-file", secret, "--sub", "alice", "--ttl", "1h")
	certFile, keyFile := pki.issue(t, "quiver-server", true)
	clientCert, clientKey := pki.issue(t, "carol", false)
	ready := func(dial func(addr string) (*flightsql.Client, error), ctx context.Context) func(string) error {
		return func(addr string) error {
			cl, err := dial(addr)
			if err != nil {
				return err
			}
			defer cl.Close()
			_, err = selectOne(ctx, cl)
			return err
		}
	}
	plainDial := func(addr string) (*flightsql.Client, error) { return harness.DialFlightSQL(addr, nil) }
	tlsDial := func(addr string) (*flightsql.Client, error) { return pki.client(t, addr, "") }
	mtlsDial := func(addr string) (*flightsql.Client, error) { return pki.client(t, addr, "carol") }

	plain := startAuthServer(t, ready(plainDial, bearer(tok)), "--jwt-secret-file", secret, "--users-file", users)
	tlsAddr := startAuthServer(t, ready(tlsDial, bearer(tok)), "--tls-cert", certFile, "--tls-key", keyFile, "--jwt-secret-file", secret)
	mtls := startAuthServer(t, ready(mtlsDial, context.Background()), "--tls-cert", certFile, "--tls-key", keyFile,
		"--tls-client-ca", pki.caCertPath, "--jwt-secret-file", secret)
	clean := []string{"QUIVER_URI=", "QUIVER_SERVER=", "QUIVER_TOKEN=", "QUIVER_USERNAME=", "QUIVER_PASSWORD=",
		"QUIVER_TLS_CA=", "QUIVER_TLS_CERT=", "QUIVER_TLS_KEY="}
	env := func(kv ...string) []string { return append(append([]string(nil), clean...), kv...) }
	const one = "one\n1\n"

	t.Run("token", func(t *testing.T) {
		requireCSV(t, connQuery(t, env(), "SELECT 1 AS one", "--server", plain, "--token", tok), one)
		requireCSV(t, connQuery(t, env("QUIVER_URI=grpc://"+plain, "QUIVER_TOKEN="+tok), "SELECT 1 AS one"), one)
		requireRefused(t, connQuery(t, env(), "SELECT 1 AS one", "--server", plain), "Unauthenticated")
	})
	t.Run("username and password", func(t *testing.T) {
		requireCSV(t, connQuery(t, env(), "SELECT 1 AS one", "--server", plain, "--username", "bob", "--password", "hunter2"), one)
		requireCSV(t, connQuery(t, env("QUIVER_URI="+plain, "QUIVER_USERNAME=bob", "QUIVER_PASSWORD=hunter2"), "SELECT 1 AS one"), one)
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", plain, "--username", "bob", "--password", "wrong"),
			"log in to "+plain+" as bob", "Unauthenticated")
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", plain, "--username", "bob", "--password", "hunter2", "--token", tok),
			"a token or a username and password, not both")
	})
	t.Run("parameters", func(t *testing.T) {
		auth := []string{"--server", plain, "--token", tok}
		requireCSV(t, connQuery(t, env(), "SELECT $1::INTEGER + 1 AS x, $2 AS s", append(auth, "--param", "1=41", "--param", "2=a b")...), "x,s\n42,a b\n")
		requireCSV(t, connQuery(t, env(), "SELECT $1::INTEGER * 2 AS x", append([]string{"21"}, auth...)...), "x\n42\n")
		requireRefused(t, connQuery(t, env(), "SELECT $1::INTEGER + $2::INTEGER AS x", append(auth, "--param", "1=1")...), "no value for $2")
		requireRefused(t, connQuery(t, env(), "SELECT $1::INTEGER AS x", append(auth, "--param", "1=notanumber")...), "InvalidArgument")
	})
	t.Run("TLS with a private CA", func(t *testing.T) {
		uri := "grpc+tls://" + tlsAddr
		requireCSV(t, connQuery(t, env(), "SELECT 1 AS one", "--server", uri, "--tls-ca", pki.caCertPath, "--token", tok), one)
		requireCSV(t, connQuery(t, env("QUIVER_URI="+uri, "QUIVER_TLS_CA="+pki.caCertPath, "QUIVER_TOKEN="+tok), "SELECT 1 AS one"), one)
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", uri, "--token", tok),
			"certificate signed by unknown authority", "hint:", "--tls-ca FILE")
	})
	t.Run("plaintext client, TLS server", func(t *testing.T) {
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", tlsAddr, "--token", tok), "hint:", "grpc+tls://"+tlsAddr)
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", tlsAddr, "--tls-ca", pki.caCertPath),
			"TLS options given for the plaintext address")
	})
	t.Run("TLS client, plaintext server", func(t *testing.T) {
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", "grpc+tls://"+plain, "--tls-ca", pki.caCertPath, "--token", tok),
			"hint:", "does not speak TLS: use grpc://"+plain)
	})
	t.Run("mutual TLS", func(t *testing.T) {
		uri := "grpc+tls://" + mtls
		requireCSV(t, connQuery(t, env(), "SELECT 1 AS one", "--server", uri, "--tls-ca", pki.caCertPath, "--tls-cert", clientCert, "--tls-key", clientKey), one)
		requireCSV(t, connQuery(t, env("QUIVER_URI="+uri, "QUIVER_TLS_CA="+pki.caCertPath, "QUIVER_TLS_CERT="+clientCert, "QUIVER_TLS_KEY="+clientKey), "SELECT 1 AS one"), one)
		res := connQuery(t, env(), "SELECT 1", "--server", uri, "--tls-ca", pki.caCertPath)
		requireRefused(t, res, "hint:")
		require.True(t, strings.Contains(res.Output, "--tls-cert FILE and --tls-key FILE"), res.Output)
		requireRefused(t, connQuery(t, env(), "SELECT 1", "--server", uri, "--tls-ca", pki.caCertPath, "--tls-cert", clientCert),
			"needs both --tls-cert and --tls-key")
	})
	t.Run("report list takes the same options", func(t *testing.T) {
		res := harness.RunQuiver(t, 60*time.Second, env(), "report", "list", "--server", "grpc+tls://"+mtls,
			"--tls-ca", pki.caCertPath, "--tls-cert", clientCert, "--tls-key", clientKey)
		require.NotContains(t, res.Output, "certificate")
		require.NotContains(t, res.Output, "Unauthenticated")
		res = harness.RunQuiver(t, 60*time.Second, env(), "report", "list", "--server", plain, "--username", "bob", "--password", "hunter2")
		require.NotContains(t, res.Output, "Unauthenticated")
	})
}

// TestCLIQueryInterrupted: Ctrl-C (SIGINT) during `quiver query` cancels
// the query on the server and exits 130 with one line, not the RPC error.
func TestCLIQueryInterrupted(t *testing.T) {
	srv, cl := opsServer(t, "")
	cmd := exec.Command(harness.QuiverBin(t), "query", "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3",
		"--server", srv.Addr())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	running := "SELECT count(*) FROM system.queries WHERE state = 'running' AND sql LIKE '%range(100000000000)%' AND sql NOT LIKE '%system.queries%'"
	require.Eventually(t, func() bool { return scalar(t, cl, running) == "1" }, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, stderr.String())
	require.Equal(t, 130, exit.ExitCode(), stderr.String())
	require.Equal(t, "quiver: interrupted: the query was cancelled\n", stderr.String())
	require.Eventually(t, func() bool {
		return scalar(t, cl, "SELECT count(*) FROM system.queries WHERE state = 'cancelled' AND sql LIKE '%range(100000000000)%' AND sql NOT LIKE '%system.queries%'") == "1"
	}, 10*time.Second, 20*time.Millisecond, "the server cancelled the query")
	require.Eventually(t, func() bool { return runningFragments(t, cl) == "0" }, 10*time.Second, 20*time.Millisecond,
		"a worker still runs the cancelled fragment")
}

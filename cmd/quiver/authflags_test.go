package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestAuthFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef"), 0o600))
	short := filepath.Join(t.TempDir(), "short")
	require.NoError(t, os.WriteFile(short, []byte("tooshort"), 0o600))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pemKey := filepath.Join(t.TempDir(), "session.key")
	require.NoError(t, os.WriteFile(pemKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, os.WriteFile(other, []byte("another-secret-another-secret-xx"), 0o600))
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	users := filepath.Join(t.TempDir(), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users: [{name: bob, password_bcrypt: '"+string(hash)+"'}]"), 0o600))
	cases := []struct {
		name    string
		flags   authFlags
		enabled bool
		wantErr string
	}{
		{"none", authFlags{}, false, ""},
		{"hs256", authFlags{jwtSecretFile: secret}, true, ""},
		{"short secret", authFlags{jwtSecretFile: short}, true, "at least 32"},
		{"client CA without TLS", authFlags{tlsClientCA: "ca.pem"}, true, "needs --tls-cert"},
		{"cert without key", authFlags{tlsCert: "c.pem"}, false, "go together"},
		{"users with a random session secret", authFlags{usersFile: users}, true, ""},
		{"users with a PEM session key", authFlags{usersFile: users, signingKey: pemKey, jwtSecretFile: secret}, true, ""},
		{"two different HS256 secrets", authFlags{usersFile: users, signingKey: other, jwtSecretFile: secret}, true, "use one secret"},
		{"missing users file", authFlags{usersFile: "/nonexistent"}, true, "read users file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.enabled, c.flags.enabled())
			_, err := c.flags.serverOptions(context.Background(), nil)
			if c.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.wantErr)
		})
	}
}

func TestTokenCommand(t *testing.T) {
	require.ErrorContains(t, runToken(context.Background(), []string{"--sub", "a"}), "--jwt-secret-file")
	require.ErrorContains(t, runToken(context.Background(), []string{"--jwt-secret-file", "x"}), "--sub")
}

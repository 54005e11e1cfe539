package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef"), 0o600))
	short := filepath.Join(t.TempDir(), "short")
	require.NoError(t, os.WriteFile(short, []byte("tooshort"), 0o600))
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

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/auth"
)

// TestTokenLifetime: `quiver token` refuses a --ttl the server's
// --jwt-max-lifetime would refuse, learning that limit from its own flag,
// QUIVER_JWT_MAX_LIFETIME or the --config file serve reads; what it does
// sign, a verifier with the same limit accepts.
func TestTokenLifetime(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	secret := []byte("0123456789abcdef0123456789abcdef")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	cfg := filepath.Join(dir, "quiver.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("jwt-secret-file: "+secretFile+"\njwt-max-lifetime: 72h\n"), 0o600))

	tests := []struct {
		name    string
		env     string // QUIVER_JWT_MAX_LIFETIME
		args    []string
		max     time.Duration // the server's limit
		wantErr string
	}{
		{"default ttl", "", nil, 24 * time.Hour, ""},
		{"ttl at the default limit", "", []string{"--ttl", "24h"}, 24 * time.Hour, ""},
		{"ttl over the default limit", "", []string{"--ttl", "48h"}, 24 * time.Hour,
			"--ttl 48h exceeds --jwt-max-lifetime 24h, the longest lifetime the server accepts; give a shorter --ttl, or raise the limit with --jwt-max-lifetime"},
		{"limit raised by flag", "", []string{"--ttl", "48h", "--jwt-max-lifetime", "72h"}, 72 * time.Hour, ""},
		{"limit lowered by flag", "", []string{"--ttl", "2h", "--jwt-max-lifetime", "1h30m"}, 90 * time.Minute, "--ttl 2h exceeds --jwt-max-lifetime 1h30m"},
		{"limit from the environment", "72h", []string{"--ttl", "48h"}, 72 * time.Hour, ""},
		{"limit from the config file", "", []string{"--config", cfg, "--ttl", "48h"}, 72 * time.Hour, ""},
		{"config file limit still holds", "", []string{"--config", cfg, "--ttl", "96h"}, 72 * time.Hour, "--ttl 96h exceeds --jwt-max-lifetime 72h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t, "QUIVER_JWT_MAX_LIFETIME", "QUIVER_TTL", "QUIVER_CONFIG")
			if tc.env != "" {
				t.Setenv("QUIVER_JWT_MAX_LIFETIME", tc.env)
			}
			args := append([]string{"--sub", "alice", "--jwt-secret-file", secretFile}, tc.args...)
			var out bytes.Buffer
			err := tokenCommand(context.Background(), args, &out)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Empty(t, out.String(), "no token printed")
				return
			}
			require.NoError(t, err)
			v, err := auth.NewVerifier(context.Background(), auth.Options{HMACSecret: secret, MaxLifetime: tc.max})
			require.NoError(t, err)
			p, err := v.Verify(context.Background(), strings.TrimSpace(out.String()))
			require.NoError(t, err)
			require.Equal(t, "alice", p.Subject)
		})
	}
}

// TestSessionTTLWithinMaxLifetime: a server does not start when its
// password logins would return session tokens it then refuses.
func TestSessionTTLWithinMaxLifetime(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users: []\n"), 0o600))
	a := authFlags{usersFile: users, sessionTTL: 48 * time.Hour, maxLifetime: 24 * time.Hour}
	_, err := a.serverOptions(context.Background(), nil)
	require.ErrorContains(t, err, "--session-ttl 48h exceeds --jwt-max-lifetime 24h")
	a.sessionTTL = 24 * time.Hour
	_, err = a.serverOptions(context.Background(), nil)
	require.NoError(t, err)
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		48 * time.Hour:          "48h",
		90 * time.Minute:        "1h30m",
		90 * time.Second:        "1m30s",
		time.Hour + time.Second: "1h0m1s",
		30 * time.Second:        "30s",
		10 * time.Minute:        "10m",
	} {
		require.Equal(t, want, shortDuration(d))
	}
}

// clearEnv unsets variables for the rest of the test; t.Setenv restores
// them after it.
func clearEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		t.Setenv(n, "")
		require.NoError(t, os.Unsetenv(n))
	}
}

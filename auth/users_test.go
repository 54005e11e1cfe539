package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestUsers(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ParseUsers([]byte("users:\n  - name: alice\n    password_bcrypt: '" + string(h) + "'\n    roles: [analyst]\n    claims: {team: sales}\n"))
	require.NoError(t, err)
	p, err := u.Check("alice", "s3cret")
	require.NoError(t, err)
	require.Equal(t, Principal{Subject: "alice", Roles: []string{"analyst"}, Claims: map[string]any{"sub": "alice", "team": "sales"}}, p)
	for _, c := range []struct{ user, pw string }{{"alice", "wrong"}, {"bob", "s3cret"}, {"", ""}} {
		_, err := u.Check(c.user, c.pw)
		require.ErrorIs(t, err, ErrBadPassword)
	}
	_, err = ParseUsers([]byte("users:\n  - name: x\n    password_bcrypt: plain\n"))
	require.ErrorContains(t, err, "password_bcrypt")
}

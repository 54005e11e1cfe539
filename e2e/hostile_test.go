package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestHostileCatalogue attacks a live server that has authentication and a
// policy loaded, and checks the exact status code of every attempt and
// that the server still answers a normal query afterwards: forged and
// malformed credentials, the sandbox catalogue, tables the policy does not
// grant (directly, in CTEs, subqueries, EXPLAIN and prepared statements)
// and another user's ticket.
func TestHostileCatalogue(t *testing.T) {
	ps := startPolicyServer(t)
	serves := func(t *testing.T) {
		t.Helper()
		_, err := selectOne(bearer(ps.auditor), ps.cl)
		require.NoError(t, err, "the server must keep serving")
	}
	withHeader := func(v string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", v)
	}
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	now := time.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "eve", "roles": []string{"auditor"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	noneTok := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid())
	expired := valid()
	expired["exp"], expired["iat"] = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	noExp := valid()
	delete(noExp, "exp")
	tooLong := valid()
	tooLong["exp"] = now.Add(30 * 24 * time.Hour).Unix()

	credentials := map[string]context.Context{
		"alg none":                bearer(noneTok),
		"hs256 with another key":  bearer(sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), valid())),
		"rs256 when hs256 is set": bearer(sign(jwt.SigningMethodRS256, rsaKey, valid())),
		"expired beyond leeway":   bearer(sign(jwt.SigningMethodHS256, []byte(policySecret), expired)),
		"missing exp":             bearer(sign(jwt.SigningMethodHS256, []byte(policySecret), noExp)),
		"lifetime over maximum":   bearer(sign(jwt.SigningMethodHS256, []byte(policySecret), tooLong)),
		"garbage":                 bearer("garbage"),
		"1 MB of dots":            bearer(strings.Repeat(".", 1<<20)),
		"tampered payload":        bearer(ps.auditor[:len(ps.auditor)/2] + "A" + ps.auditor[len(ps.auditor)/2+1:]),
		"no credentials":          context.Background(),
		"header Bearer alone":     withHeader("Bearer"),
		"header BearerX tok":      withHeader("BearerX " + ps.auditor),
		"header Basic no colon":   withHeader("Basic YWxpY2U="),
		"header Basic not base64": withHeader("Basic !!!"),
		"header unknown scheme":   withHeader("Token " + ps.auditor),
	}
	for name, ctx := range credentials {
		t.Run("credentials/"+name, func(t *testing.T) {
			_, err := harness.RunFlightSQL(ctx, ps.cl, "SELECT count(*) FROM demo.plays")
			require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
			serves(t)
		})
	}

	for _, tc := range hostileSQL {
		t.Run("sandbox/"+tc.name, func(t *testing.T) {
			_, err := harness.RunFlightSQL(bearer(ps.analyst), ps.cl, tc.sql)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tc.refused)
			serves(t)
		})
	}

	notGranted := map[string]string{
		"direct":    "SELECT * FROM demo.events",
		"in a cte":  "WITH t AS (SELECT * FROM demo.titles) SELECT count(*) FROM t",
		"in IN":     "SELECT count(*) FROM demo.plays WHERE title_id IN (SELECT title_id FROM demo.titles)",
		"scalar":    "SELECT (SELECT count(*) FROM demo.events) AS n",
		"in a join": "SELECT count(*) FROM demo.plays p JOIN demo.titles t USING (title_id)",
		"explain":   "EXPLAIN SELECT * FROM demo.events",
		"qualified": "SELECT * FROM quiver.demo.titles",
		"union":     "SELECT user_id FROM demo.events UNION ALL SELECT profile_id FROM demo.profiles",
	}
	for name, sql := range notGranted {
		t.Run("policy/"+name, func(t *testing.T) {
			_, err := harness.RunFlightSQL(bearer(ps.analyst), ps.cl, sql)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			stmt, err := ps.cl.Prepare(bearer(ps.analyst), sql)
			if err == nil {
				_ = stmt.Close(bearer(ps.analyst))
			}
			require.Equal(t, codes.PermissionDenied, status.Code(err), "prepared: %v", err)
			serves(t)
		})
	}

	t.Run("another user's ticket", func(t *testing.T) {
		info, err := ps.cl.Execute(bearer(ps.auditor), "SELECT count(*) FROM demo.events")
		require.NoError(t, err)
		err = redeem(bearer(ps.analyst), ps.cl, info.Endpoint[0].Ticket)
		require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		serves(t)
	})
}

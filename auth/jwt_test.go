package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestVerifyRules(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	v, err := NewVerifier(context.Background(), Options{
		HMACSecret: testSecret, PublicKeys: []crypto.PublicKey{&rsaKey.PublicKey, &ecKey.PublicKey},
		Issuer: "quiver-test", Audience: "quiver", Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "alice", "roles": []any{"analyst"}, "iss": "quiver-test", "aud": "quiver",
			"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, val any) jwt.MapClaims {
		c := good()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	cases := []struct {
		name, token, wantErr string
	}{
		{"hs256 ok", sign(t, jwt.SigningMethodHS256, testSecret, good(), nil), ""},
		{"rs256 ok", sign(t, jwt.SigningMethodRS256, rsaKey, good(), nil), ""},
		{"es256 ok", sign(t, jwt.SigningMethodES256, ecKey, good(), nil), ""},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good(), nil), "invalid token"},
		{"hs256 keyed with rs public key", sign(t, jwt.SigningMethodHS256, rsaPEM, good(), nil), "bad signature"},
		{"hs256 wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), good(), nil), "bad signature"},
		{"hs384 not pinned", sign(t, jwt.SigningMethodHS384, testSecret, good(), nil), "invalid token"},
		{"expired beyond leeway", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(-31*time.Second).Unix()), nil), "expired"},
		{"expired within leeway", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(-20*time.Second).Unix()), nil), ""},
		{"missing exp", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", nil), nil), "exp claim is required"},
		{"missing aud", sign(t, jwt.SigningMethodHS256, testSecret, with("aud", nil), nil), "aud"},
		{"wrong iss", sign(t, jwt.SigningMethodHS256, testSecret, with("iss", "evil"), nil), "wrong issuer"},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, testSecret, with("aud", "other"), nil), "wrong audience"},
		{"no sub", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", nil), nil), "no sub"},
		{"lifetime too long", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(25*time.Hour).Unix()), nil), "lifetime"},
		{"lifetime too long without iat", sign(t, jwt.SigningMethodHS256, testSecret, func() jwt.MapClaims {
			c := with("iat", nil)
			c["exp"] = now.Add(48 * time.Hour).Unix()
			return c
		}(), nil), "lifetime"},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, testSecret, with("iat", now.Add(time.Hour).Unix()), nil), "not valid yet"},
		{"unknown critical header", sign(t, jwt.SigningMethodHS256, testSecret, good(), map[string]any{"crit": []string{"exp-plus"}, "exp-plus": 1}), "unsupported critical header parameters [exp-plus]"},
		{"empty critical header", sign(t, jwt.SigningMethodHS256, testSecret, good(), map[string]any{"crit": []string{}}), "unsupported critical header"},
		{"garbage", "garbage", "not a JWT"},
		{"garbage parts", "a.b.c", "malformed"},
		{"1 MB of dots", strings.Repeat(".", 1<<20), "not a JWT"},
		{"empty", "", "no credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), c.token)
			if c.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, "alice", p.Subject)
				require.Equal(t, []string{"analyst"}, p.Roles)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), c.wantErr)
		})
	}
}

func TestVerifyPinsAlgorithmToKeyType(t *testing.T) {
	// Only an RSA public key configured: HS256 tokens are refused even if
	// "signed" with the public key's PEM bytes.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	v, err := NewVerifier(context.Background(), Options{PublicKeys: []crypto.PublicKey{&rsaKey.PublicKey}})
	require.NoError(t, err)
	claims := jwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, rsaPEM, claims, nil))
	require.ErrorIs(t, err, ErrInvalidToken)
	require.Contains(t, err.Error(), "signing method HS256 is invalid")
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, claims, nil))
	require.NoError(t, err)
}

func jwkOf(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func TestJWKSUnknownKidRefetchIsRateLimited(t *testing.T) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	var fetches atomic.Int32
	var keys atomic.Value
	keys.Store([]map[string]string{jwkOf("k1", &k1.PublicKey)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys.Load()})
	}))
	defer srv.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	v, err := NewVerifier(context.Background(), Options{JWKS: srv.URL, Now: clock})
	require.NoError(t, err)
	require.EqualValues(t, 1, fetches.Load())

	claims := jwt.MapClaims{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, k1, claims, map[string]any{"kid": "k1"}))
	require.NoError(t, err)
	require.EqualValues(t, 1, fetches.Load(), "known kid needs no fetch")

	// The IdP rotates in k2; within 30 s of the last fetch unknown kids do
	// not cause fetches.
	keys.Store([]map[string]string{jwkOf("k1", &k1.PublicKey), jwkOf("k2", &k2.PublicKey)})
	tok2 := sign(t, jwt.SigningMethodRS256, k2, claims, map[string]any{"kid": "k2"})
	for range 5 {
		_, err = v.Verify(context.Background(), tok2)
		require.ErrorContains(t, err, "unknown key id")
	}
	require.EqualValues(t, 1, fetches.Load())

	now = now.Add(31 * time.Second)
	_, err = v.Verify(context.Background(), tok2)
	require.NoError(t, err)
	require.EqualValues(t, 2, fetches.Load())
	for range 5 {
		_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, k2, claims, map[string]any{"kid": "forged"}))
		require.ErrorContains(t, err, "unknown key id")
	}
	require.EqualValues(t, 2, fetches.Load())
}

func TestSignerRoundTrip(t *testing.T) {
	s, err := NewHMACSigner(testSecret)
	require.NoError(t, err)
	s.Issuer = "quiver"
	tok, err := s.Sign(Principal{Subject: "bob", Roles: []string{"a", "b"}, Claims: map[string]any{"team": "x"}}, time.Hour)
	require.NoError(t, err)
	v, err := NewVerifier(context.Background(), Options{HMACSecret: testSecret, Issuer: "quiver"})
	require.NoError(t, err)
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, "bob", p.Subject)
	require.Equal(t, []string{"a", "b"}, p.Roles)
	require.Equal(t, "x", p.Claims["team"])
}

func TestJWKSFileAndPEMSigner(t *testing.T) {
	dir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	keyFile := dir + "/ec.key"
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	signer, err := LoadSigner(keyFile)
	require.NoError(t, err)
	tok, err := signer.Sign(Principal{Subject: "erin"}, time.Hour)
	require.NoError(t, err)

	// A static public key verifies it.
	v, err := NewVerifier(context.Background(), Options{PublicKeys: []crypto.PublicKey{signer.PublicKey()}})
	require.NoError(t, err)
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, "erin", p.Subject)

	// A JWKS file with the key under kid "ec1" verifies tokens naming it.
	jwks := map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "ec1",
		"x": base64.RawURLEncoding.EncodeToString(ecKey.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(ecKey.Y.FillBytes(make([]byte, 32)))}}}
	b, err := json.Marshal(jwks)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/jwks.json", b, 0o600))
	v, err = NewVerifier(context.Background(), Options{JWKS: dir + "/jwks.json"})
	require.NoError(t, err)
	claims := jwt.MapClaims{"sub": "erin", "exp": time.Now().Add(time.Hour).Unix()}
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ecKey, claims, map[string]any{"kid": "ec1"}))
	require.NoError(t, err)
	// An RS256 token naming the EC kid is refused.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, claims, map[string]any{"kid": "ec1"}))
	require.ErrorContains(t, err, "not an RS256 key")
	// No kid, no static key: refused.
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ecKey, claims, nil))
	require.ErrorContains(t, err, "kid missing or unknown")
}

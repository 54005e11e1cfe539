package fragwire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func TestTicketRoundTrip(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	args := []any{nil, true, int64(-7), uint64(9), 1.5, "o'hara", []byte{0, 1}, now}
	var enc []Arg
	for _, a := range args {
		e, err := EncodeArg(a)
		require.NoError(t, err)
		enc = append(enc, e)
	}
	f := Fragment{QueryID: "q1", SQL: "SELECT $1", Args: enc, Expires: now.Add(time.Minute).UnixMilli()}
	tk, err := s.Sign(f)
	require.NoError(t, err)

	got, err := s.Verify(tk)
	require.NoError(t, err)
	require.Equal(t, f, got)
	for i, a := range got.Args {
		v, err := a.Decode()
		require.NoError(t, err)
		if ts, ok := v.(time.Time); ok {
			require.True(t, ts.Equal(now))
			continue
		}
		require.Equal(t, args[i], v)
	}
}

func TestTicketSealsCredentials(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	creds := []storage.S3Credential{
		{Scope: "s3://lake/sales", AccessKeyID: "AKIAVENDED", SecretAccessKey: "very-secret", SessionToken: "tok", Region: "eu-west-1", PathStyle: "true"},
		{Scope: "s3://lake/hr", AccessKeyID: "AKIAOTHER", SecretAccessKey: "also-secret"},
	}
	f := Fragment{QueryID: "q1", SQL: "SELECT 1", Expires: time.Now().Add(time.Minute).UnixMilli(), Credentials: creds}
	tk, err := s.Sign(f)
	require.NoError(t, err)
	payload, _, _ := strings.Cut(string(tk), ".")
	plain, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	for _, secret := range []string{"AKIAVENDED", "very-secret", "tok", "AKIAOTHER", "also-secret", "s3://lake"} {
		require.NotContains(t, string(plain), secret, "what a client holding the ticket can read")
	}
	got, err := s.Verify(tk)
	require.NoError(t, err)
	require.Equal(t, creds, got.Credentials)
	require.Nil(t, got.Sealed)
	require.Equal(t, "vended S3 credential for s3://lake/sales", fmt.Sprint(creds[0]))
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", creds, got, creds[0]), "very-secret", "printing never shows a secret")

	// Sealed by a coordinator with another secret, or damaged, it does not
	// open, even under a valid signature.
	other, err := NewSigner([]byte("another-secret-of-length"))
	require.NoError(t, err)
	foreign, err := other.seal([]byte(`[]`))
	require.NoError(t, err)
	for name, sealed := range map[string][]byte{"foreign": foreign, "short": []byte("abc"), "flipped": flip(t, s)} {
		t.Run(name, func(t *testing.T) {
			body, err := json.Marshal(Fragment{SQL: "SELECT 1", Expires: time.Now().Add(time.Minute).UnixMilli(), Sealed: sealed})
			require.NoError(t, err)
			p := base64.RawURLEncoding.EncodeToString(body)
			_, err = s.Verify([]byte(p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p))))
			require.ErrorIs(t, err, ErrBadTicket)
			require.ErrorContains(t, err, "credentials")
		})
	}
}

// flip seals something with s and flips a bit of its ciphertext.
func flip(t *testing.T, s *Signer) []byte {
	b, err := s.seal([]byte(`[{"scope":"s3://x"}]`))
	require.NoError(t, err)
	b[len(b)-1] ^= 1
	return b
}

func TestTicketRejects(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	other, err := NewSigner([]byte("another-secret-of-length"))
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	good, err := s.Sign(Fragment{SQL: "SELECT 1", Expires: now.Add(time.Second).UnixMilli()})
	require.NoError(t, err)
	expired, err := s.Sign(Fragment{SQL: "SELECT 1", Expires: now.Add(-time.Second).UnixMilli()})
	require.NoError(t, err)
	forged, err := other.Sign(Fragment{SQL: "SELECT 1", Expires: now.Add(time.Second).UnixMilli()})
	require.NoError(t, err)
	tampered := append([]byte("x"), good...)

	for name, tk := range map[string][]byte{
		"expired": expired, "forged": forged, "tampered": tampered,
		"no separator": []byte("abc"), "empty": nil, "garbage mac": []byte("e30.!!"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(tk)
			require.ErrorIs(t, err, ErrBadTicket)
		})
	}
	_, err = NewSigner([]byte("short"))
	require.Error(t, err)
}

func FuzzVerify(f *testing.F) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(f, err)
	good, err := s.Sign(Fragment{SQL: "SELECT 1", Expires: 1 << 60})
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte("a.b"))
	f.Fuzz(func(t *testing.T, tk []byte) {
		fr, err := s.Verify(tk)
		if err == nil {
			// Only tickets we signed verify.
			again, err := s.Sign(fr)
			require.NoError(t, err)
			_, err = s.Verify(again)
			require.NoError(t, err)
		}
	})
}

func TestActionTokens(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }
	tok, err := s.SignAction(StatusAction, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.VerifyAction(tok, StatusAction))

	other, err := NewSigner([]byte("another-secret-entirely"))
	require.NoError(t, err)
	forged, err := other.SignAction(StatusAction, time.Minute)
	require.NoError(t, err)
	ticket, err := s.Sign(Fragment{SQL: "SELECT 1", Expires: now.Add(time.Minute).UnixMilli()})
	require.NoError(t, err)
	expired, err := s.SignAction(StatusAction, -time.Second)
	require.NoError(t, err)
	cases := []struct {
		name  string
		token []byte
		want  string
	}{
		{"empty", nil, "not <payload>.<mac>"},
		{"forged", forged, "bad action token signature"},
		{"a fragment ticket", ticket, "bad action token signature"},
		{"expired", expired, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.VerifyAction(tc.token, StatusAction)
			require.ErrorIs(t, err, ErrBadTicket)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("another action", func(t *testing.T) {
		require.ErrorContains(t, s.VerifyAction(tok, "quiver.worker.kill"), `token is for action "quiver.worker.status"`)
	})
	t.Run("not a fragment ticket", func(t *testing.T) {
		_, err := s.Verify(tok)
		require.ErrorIs(t, err, ErrBadTicket)
	})
}

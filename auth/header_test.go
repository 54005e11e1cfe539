package auth

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAuthorization(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	raw := base64.RawStdEncoding.EncodeToString
	cases := []struct {
		name, header string
		want         Credentials
		wantErr      string
	}{
		{"bearer", "Bearer abc.def.ghi", Credentials{Scheme: SchemeBearer, Token: "abc.def.ghi"}, ""},
		{"lowercase bearer", "bearer tok", Credentials{Scheme: SchemeBearer, Token: "tok"}, ""},
		{"bearer alone", "Bearer", Credentials{}, "malformed"},
		{"bearer empty", "Bearer   ", Credentials{}, "malformed"},
		{"BearerX", "BearerX tok", Credentials{}, "unsupported scheme"},
		{"bearer two tokens", "Bearer a b", Credentials{}, "whitespace"},
		{"basic padded", "Basic " + b64([]byte("alice:pw")), Credentials{Scheme: SchemeBasic, User: "alice", Password: "pw"}, ""},
		{"basic unpadded (arrow-go)", "Basic " + raw([]byte("alice:p:w")), Credentials{Scheme: SchemeBasic, User: "alice", Password: "p:w"}, ""},
		{"basic without colon", "Basic " + b64([]byte("alice")), Credentials{}, "colon"},
		{"basic empty user", "Basic " + b64([]byte(":pw")), Credentials{}, "empty user"},
		{"basic not base64", "Basic !!!", Credentials{}, "not base64"},
		{"empty", "", Credentials{}, "no credentials"},
		{"digest", "Digest x", Credentials{}, "unsupported scheme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAuthorization(c.header)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

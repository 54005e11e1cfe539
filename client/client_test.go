package client

import (
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		in   string
		want target
		ok   bool
	}{
		{"127.0.0.1:8815", target{addr: "127.0.0.1:8815"}, true},
		{"localhost:1234", target{addr: "localhost:1234"}, true},
		{"grpc://10.0.0.1:8815", target{addr: "10.0.0.1:8815"}, true},
		{"grpc+tcp://host:1", target{addr: "host:1"}, true},
		{"grpc+tls://quiver.example.com:443", target{addr: "quiver.example.com:443", tls: true}, true},
		{"grpc://[::1]:8815", target{addr: "[::1]:8815"}, true},
		{"[::1]:8815", target{addr: "[::1]:8815"}, true},
		{"localhost", target{}, false},
		{"localhost:", target{}, false},
		{":8815", target{}, false},
		{"grpc://:8815", target{}, false},
		{"grpc://host", target{}, false},
		{"http://host:80", target{}, false},
		{"", target{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseServer(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrBadServer)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseParam(t *testing.T) {
	p, err := ParseParam("day=2024-01-02")
	require.NoError(t, err)
	require.Equal(t, Param{Name: "day", Value: "2024-01-02"}, p)
	p, err = ParseParam("$1=a=b")
	require.NoError(t, err)
	require.Equal(t, Param{Name: "$1", Value: "a=b"}, p, "the value may hold =")
	for _, bad := range []string{"novalue", "=x", "$=x"} {
		_, err := ParseParam(bad)
		require.ErrorIs(t, err, ErrBadParameter, bad)
	}
}

func TestBindParams(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	declared := arrow.NewSchema([]arrow.Field{{Name: "$country", Type: arrow.BinaryTypes.String}, {Name: "$2", Type: arrow.PrimitiveTypes.Int64}}, nil)
	values := func(rec arrow.RecordBatch) []string {
		var out []string
		for _, c := range rec.Columns() {
			out = append(out, c.(*array.String).Value(0))
		}
		return out
	}
	tests := []struct {
		name   string
		schema *arrow.Schema
		params []Param
		want   []string
		err    string
	}{
		{"by name, any order", declared, []Param{{"2", "7"}, {"country", "SE"}}, []string{"SE", "7"}, ""},
		{"by position", declared, []Param{{"$1", "SE"}, {"$2", "7"}}, []string{"SE", "7"}, ""},
		{"undeclared: positional", nil, []Param{{"2", "b"}, {"1", "a"}}, []string{"a", "b"}, ""},
		{"undeclared: named", nil, []Param{{"day", "x"}}, nil, "bind by position"},
		{"undeclared: a gap", nil, []Param{{"2", "b"}}, nil, "no value for $1"},
		{"missing", declared, []Param{{"country", "SE"}}, nil, "no value for $2"},
		{"unknown", declared, []Param{{"country", "SE"}, {"2", "7"}, {"city", "x"}}, nil, "has no $city"},
		{"twice", declared, []Param{{"country", "SE"}, {"$country", "NO"}}, nil, "$country given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := bindParams(mem, tc.schema, tc.params)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrBadParameter)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			defer rec.Release()
			require.Equal(t, int64(1), rec.NumRows())
			require.Equal(t, tc.want, values(rec))
		})
	}
}

func TestExplainHints(t *testing.T) {
	c := &Conn{}
	plain, tls := target{addr: "h:1"}, target{addr: "h:1", tls: true}
	tests := []struct {
		name string
		err  string
		t    target
		hint string
	}{
		{"TLS client, plaintext server", "tls: first record does not look like a TLS handshake", tls, "use grpc://h:1"},
		{"plaintext client, TLS server", `connection error: desc = "error reading server preface: EOF"`, plain, "use grpc+tls://h:1"},
		{"unknown CA", "x509: certificate signed by unknown authority", tls, "--tls-ca FILE"},
		{"no client certificate", "remote error: tls: certificate required", tls, "--tls-cert FILE and --tls-key FILE"},
		{"connection closed, no client certificate", "write tcp 1->2: write: broken pipe", tls, "--tls-cert FILE and --tls-key FILE"},
		{"nothing to say", "permission denied", plain, ""},
		{"a TLS hint is not for a plaintext target", "x509: certificate signed by unknown authority", plain, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := errors.New(tc.err)
			got := c.explain(base, tc.t)
			require.ErrorIs(t, got, base)
			if tc.hint == "" {
				require.Equal(t, base, got)
				return
			}
			require.Contains(t, got.Error(), "\nhint: ")
			require.Contains(t, got.Error(), tc.hint)
		})
	}
}

func TestActionErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := Dial(t.Context(), Options{Server: dead})
	require.NoError(t, err, "dialing is lazy without a username")
	defer c.Close()
	_, err = c.Action(t.Context(), "quiver.report.list", nil)
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.ErrorContains(t, err, dead)
	_, err = Dial(t.Context(), Options{Server: "http://x:1"})
	require.ErrorIs(t, err, ErrBadServer)
	_, err = Dial(t.Context(), Options{Server: dead, Username: "bob"})
	require.Equal(t, codes.Unavailable, status.Code(err), "a login dials at once")
	for name, o := range map[string]Options{
		"token and user":        {Token: "t", Username: "u"},
		"password without user": {Password: "p"},
		"TLS for plaintext":     {Server: "h:1", TLSCA: "ca.pem"},
		"cert without key":      {Server: "grpc+tls://h:1", TLSCert: "c.pem"},
		"missing CA file":       {Server: "grpc+tls://h:1", TLSCA: filepath.Join(t.TempDir(), "nope.pem")},
	} {
		_, err := Dial(t.Context(), o)
		require.ErrorIs(t, err, ErrBadOptions, name)
	}
}

package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/querycli"
)

// TestServerEnvironment: --server reads QUIVER_URI, the Python client's
// name, and QUIVER_SERVER as an alias; QUIVER_URI wins when both are set.
func TestServerEnvironment(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		want, from string
	}{
		{"default", nil, nil, querycli.DefaultServer, "default"},
		{"QUIVER_URI", map[string]string{"QUIVER_URI": "grpc://a:1"}, nil, "grpc://a:1", "env QUIVER_URI"},
		{"QUIVER_SERVER alias", map[string]string{"QUIVER_SERVER": "b:2"}, nil, "b:2", "env QUIVER_SERVER"},
		{"QUIVER_URI wins", map[string]string{"QUIVER_URI": "grpc://a:1", "QUIVER_SERVER": "b:2"}, nil, "grpc://a:1", "env QUIVER_URI"},
		{"empty QUIVER_URI is unset", map[string]string{"QUIVER_URI": "", "QUIVER_SERVER": "b:2"}, nil, "b:2", "env QUIVER_SERVER"},
		{"flag wins", map[string]string{"QUIVER_URI": "grpc://a:1"}, []string{"--server", "c:3"}, "c:3", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t, "QUIVER_URI", "QUIVER_SERVER")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("query", flag.ContinueOnError)
			server := fs.String("server", querycli.DefaultServer, serverUsage)
			require.NoError(t, parseFlags(fs, tc.args))
			require.Equal(t, tc.want, *server)
			if tc.from == "" {
				return // printConfig names the environment whenever a variable is set
			}
			var cfg bytes.Buffer
			require.NoError(t, printConfig(&cfg, fs))
			require.Contains(t, cfg.String(), "("+tc.from+")\n")
		})
	}
}

// TestQueryCommandUsesQuiverURI runs the command against a closed port
// named only by the environment: the error names that address.
func TestQueryCommandUsesQuiverURI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	for _, env := range []string{"QUIVER_URI", "QUIVER_SERVER"} {
		t.Run(env, func(t *testing.T) {
			clearEnv(t, "QUIVER_URI", "QUIVER_SERVER")
			t.Setenv(env, "grpc://"+dead)
			err := queryCommand(t.Context(), []string{"SELECT 1", "--format", "csv"}, &bytes.Buffer{}, &bytes.Buffer{})
			require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
			require.ErrorContains(t, err, dead)
		})
	}
}

// TestQueryCommandChecksTheOutputFirst: a contradicting or missing format
// is refused before any server is asked (none listens here).
func TestQueryCommandChecksTheOutputFirst(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		err  error
		text string
	}{
		{"contradicts", []string{"--format", "csv", "--out", filepath.Join(dir, "plays.parquet")}, querycli.ErrFormatConflict, "--format csv"},
		{"no extension", []string{"--out", filepath.Join(dir, "plays")}, output.ErrUnknownFormat, "give --format"},
		{"publish contradicts", []string{"--format", "json", "--out", "s3://bucket/plays.parquet"}, querycli.ErrFormatConflict, "s3://bucket/plays.parquet"},
		{"parquet to stdout", []string{"--format", "parquet"}, nil, "needs --out FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"SELECT 1", "--server", "127.0.0.1:1"}, tc.args...)
			err := queryCommand(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			require.ErrorContains(t, err, tc.text)
		})
	}
}

// TestConnFlagsEnvironment: every connection flag reads the QUIVER_…
// variable the Python client reads, and flags win.
func TestConnFlagsEnvironment(t *testing.T) {
	env := map[string]string{
		"QUIVER_URI": "grpc+tls://q:1", "QUIVER_TOKEN": "tok", "QUIVER_USERNAME": "ann", "QUIVER_PASSWORD": "pw",
		"QUIVER_TLS_CA": "/ca.pem", "QUIVER_TLS_CERT": "/c.pem", "QUIVER_TLS_KEY": "/k.pem",
	}
	clearEnv(t, "QUIVER_SERVER")
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var c connFlags
	c.register(fs)
	require.NoError(t, parseFlags(fs, []string{"--username", "bob"}))
	require.Equal(t, client.Options{Server: "grpc+tls://q:1", Token: "tok", Username: "bob", Password: "pw",
		TLSCA: "/ca.pem", TLSCert: "/c.pem", TLSKey: "/k.pem"}, c.opts)
	var cfg bytes.Buffer
	require.NoError(t, printConfig(&cfg, fs))
	require.NotContains(t, cfg.String(), "pw", "the password is redacted")
	require.NotContains(t, cfg.String(), "tok\n", "the token is redacted")
}

func TestParamFlags(t *testing.T) {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var p paramFlags
	p.register(fs)
	require.NoError(t, fs.Parse([]string{"--param", "country=SE", "--param", "$2=a=b", "x", "y"}))
	p.positional(fs.Args())
	require.Equal(t, paramFlags{{Name: "country", Value: "SE"}, {Name: "$2", Value: "a=b"}, {Name: "$1", Value: "x"}, {Name: "$2", Value: "y"}}, p)
	fs.SetOutput(io.Discard)
	require.ErrorContains(t, fs.Parse([]string{"--param", "novalue"}), "want NAME=VALUE")
}

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args, want []string
		server     string
	}{
		{[]string{"SELECT $1", "41", "--server", "h:1"}, []string{"SELECT $1", "41"}, "h:1"},
		{[]string{"--server", "h:1", "SELECT $1", "41"}, []string{"SELECT $1", "41"}, "h:1"},
		{[]string{"SELECT $1", "--server", "h:1", "41"}, []string{"SELECT $1", "41"}, "h:1"},
		{[]string{"SELECT $1", "--", "--server"}, []string{"SELECT $1", "--server"}, client.DefaultServer},
	} {
		clearEnv(t, "QUIVER_URI", "QUIVER_SERVER")
		fs := flag.NewFlagSet("query", flag.ContinueOnError)
		var c connFlags
		c.register(fs)
		got, err := parseInterleaved(fs, tc.args)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.args)
		require.Equal(t, tc.server, c.opts.Server, tc.args)
	}
}

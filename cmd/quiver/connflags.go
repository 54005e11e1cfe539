package main

import (
	"context"
	"flag"
	"strconv"
	"strings"

	"github.com/quiver-data/quiver/client"
)

// serverUsage is the help of --server; the environment variable is
// QUIVER_URI, the name the Python client reads (envNames in config.go).
const serverUsage = "server: host:port (plaintext), grpc://host:port or grpc+tls://host:port (env QUIVER_URI, or its old name QUIVER_SERVER)"

// connFlags are the connection flags of every command that talks to a
// server (query, sql, report). Each reads its QUIVER_… variable too
// (QUIVER_URI, QUIVER_TOKEN, QUIVER_USERNAME, QUIVER_PASSWORD,
// QUIVER_TLS_CA, QUIVER_TLS_CERT, QUIVER_TLS_KEY), the names the Python
// client reads.
type connFlags struct {
	opts client.Options
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.opts.Server, "server", client.DefaultServer, serverUsage)
	fs.StringVar(&c.opts.Token, "token", "", "bearer token (env QUIVER_TOKEN)")
	fs.StringVar(&c.opts.Username, "username", "", "log in with this user and --password (env QUIVER_USERNAME)")
	fs.StringVar(&c.opts.Password, "password", "", "password for --username (env QUIVER_PASSWORD, which other users of the machine cannot see in ps)")
	fs.StringVar(&c.opts.TLSCA, "tls-ca", "", "PEM file of the CA that signs the server's certificate, for grpc+tls:// (default: the system's roots)")
	fs.StringVar(&c.opts.TLSCert, "tls-cert", "", "PEM client certificate for mutual TLS (with --tls-key)")
	fs.StringVar(&c.opts.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
}

// dial connects with the flags' options.
func (c *connFlags) dial(ctx context.Context) (*client.Conn, error) {
	return client.Dial(ctx, c.opts)
}

// paramFlags is --param NAME=VALUE, repeatable: values for the
// statement's $1 … or $name placeholders.
type paramFlags []client.Param

func (p *paramFlags) register(fs *flag.FlagSet) {
	fs.Var(p, "param", "NAME=VALUE for the statement's placeholder $NAME ($1 is 1=VALUE); repeatable")
}

func (p *paramFlags) String() string {
	parts := make([]string, len(*p))
	for i, v := range *p {
		parts[i] = v.Name + "=" + v.Value
	}
	return strings.Join(parts, ",")
}

func (p *paramFlags) Set(s string) error {
	v, err := client.ParseParam(s)
	if err != nil {
		return err
	}
	*p = append(*p, v)
	return nil
}

// positional appends args as the values of $1, $2, … after those given
// by name; a positional value for a number already given is an error at
// binding.
func (p *paramFlags) positional(args []string) {
	for i, a := range args {
		*p = append(*p, client.Param{Name: "$" + strconv.Itoa(i+1), Value: a})
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quiver-data/quiver/auth"
)

// runToken signs a bearer token with the server's HS256 secret or private
// key and prints it.
func runToken(ctx context.Context, args []string) error {
	return tokenCommand(ctx, args, os.Stdout)
}

// tokenCommand is `quiver token`. It reads the flags serve reads for the
// same things (--jwt-secret-file, --jwt-issuer, --jwt-max-lifetime …, from
// the command line, QUIVER_* or the --config file), so a token it signs is
// one that server accepts: a --ttl beyond --jwt-max-lifetime is refused.
func tokenCommand(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	var roles, claims listFlag
	var (
		sub         = fs.String("sub", "", "subject (the principal's name)")
		ttl         = fs.Duration("ttl", time.Hour, "lifetime of the token (at most --jwt-max-lifetime)")
		maxLifetime = fs.Duration("jwt-max-lifetime", defaultMaxLifetime, "the server's --jwt-max-lifetime: refuse a --ttl it would refuse")
		secretFile  = fs.String("jwt-secret-file", "", "HS256 secret file (as given to serve)")
		signingKey  = fs.String("jwt-signing-key", "", "PEM RSA/P-256 private key (or HS256 secret file)")
		issuer      = fs.String("jwt-issuer", "", "iss claim")
		audience    = fs.String("jwt-audience", "", "aud claim")
	)
	fs.Var(&roles, "role", "role (repeatable)")
	fs.Var(&claims, "claim", "extra claim k=v (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("--sub is required")
	}
	if err := checkLifetime("--ttl", *ttl, *maxLifetime); err != nil {
		return err
	}
	var signer *auth.Signer
	var err error
	switch {
	case *signingKey != "":
		signer, err = auth.LoadSigner(*signingKey)
	case *secretFile != "":
		var secret []byte
		if secret, err = auth.ReadSecretFile(*secretFile); err == nil {
			signer, err = auth.NewHMACSigner(secret)
		}
	default:
		return errors.New("give --jwt-secret-file or --jwt-signing-key")
	}
	if err != nil {
		return err
	}
	signer.Issuer, signer.Audience = *issuer, *audience
	p := auth.Principal{Subject: *sub, Roles: roles, Claims: map[string]any{}}
	for _, kv := range claims {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--claim %q: want k=v", kv)
		}
		p.Claims[k] = v
	}
	tok, err := signer.Sign(p, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

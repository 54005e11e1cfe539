package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// serveConfig is the configuration of `quiver serve`: its flags, filled
// from the command line, the QUIVER_* environment and the --config file.
type serveConfig struct {
	wh      warehouseFlags
	authn   authFlags
	logs    logFlags
	dist    distFlags
	ops     opsFlags
	reps    reportsFlags // scheduled reports: reportsflags.go
	ice     icebergFlags // Iceberg catalogs: icebergflags.go
	ol      openLineageFlags
	detect  detectFlags
	workers listFlag

	listen         string
	localWorkers   int
	secretFile     string
	insecureNoAuth bool
	workerThreads  int
	workerMemory   string
	workerTemp     string
	workerMaxTemp  string
	coordMemory    string
	policyFile     string
	policyRego     string
	regoPackage    string
	catalogFile    string
	auditLog       string
	ticketTTL      time.Duration
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8815", "address to serve Flight SQL on")
	fs.IntVar(&c.localWorkers, "local-workers", 2, "worker processes to start on this machine (ignored with --worker or --worker-dns)")
	fs.StringVar(&c.secretFile, "worker-secret-file", "", "file with the secret shared with --worker processes (env QUIVER_WORKER_SECRET holds it directly)")
	fs.BoolVar(&c.insecureNoAuth, "insecure-no-auth", false, "serve non-loopback clients without authentication")
	fs.IntVar(&c.workerThreads, "worker-threads", 0, "DuckDB threads per local worker (0 = DuckDB's default)")
	fs.StringVar(&c.workerMemory, "worker-memory-limit", "", "DuckDB memory_limit per local worker: a size (4GB) or a share of the memory available (30%); default an equal share of 60% among the local workers")
	fs.StringVar(&c.workerTemp, "worker-temp-dir", "", "where local workers spill (default: the OS temp dir)")
	fs.StringVar(&c.workerMaxTemp, "worker-max-temp-size", "", "most spill space per local worker, e.g. 20GB (default: 90% of the free disk space)")
	fs.StringVar(&c.coordMemory, "coordinator-memory-limit", "20%", "memory_limit of the coordinator's own DuckDB (merges, system tables): a size or a share of the memory available")
	fs.StringVar(&c.policyFile, "policy-file", "", "YAML policy: table grants, column denials and masks, row filters from claims (deny by default once set)")
	fs.StringVar(&c.policyRego, "policy-rego", "", "Rego policy written for Trino's OPA access control: a directory of .rego and data files, a bundle .tar.gz or one .rego file (reloaded on SIGHUP; instead of --policy-file)")
	fs.StringVar(&c.regoPackage, "policy-rego-package", "trino", "Rego package of --policy-rego's allow, batch, rowFilters, columnMask and batchColumnMasks rules")
	fs.StringVar(&c.catalogFile, "catalog-file", "", "YAML catalog metadata: owners, descriptions and tags of schemas, tables and columns (reloaded on SIGHUP)")
	fs.StringVar(&c.auditLog, "audit-log", "", "append audit records (JSON lines: principal, statement, tables, decision) to this file instead of the server log")
	fs.DurationVar(&c.ticketTTL, "ticket-ttl", 5*time.Minute, "how long a query ticket can be redeemed")
	c.wh.register(fs)
	c.authn.register(fs)
	c.logs.register(fs)
	c.dist.register(fs)
	c.ops.register(fs)
	c.reps.register(fs)
	c.ice.register(fs)
	c.ol.register(fs)
	c.detect.register(fs)
	fs.Var(&c.workers, "worker", "address of a remote worker (repeatable; comma-separated in QUIVER_WORKER)")
}

// parseServeConfig parses serve's arguments and checks what can be
// checked before anything is opened.
func parseServeConfig(args []string) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c := &serveConfig{}
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := c.dist.validate(); err != nil {
		return nil, err
	}
	if err := c.detect.check(); err != nil {
		return nil, err
	}
	if c.ops.cacheDir != "" && c.ops.cacheSize <= 0 {
		return nil, errors.New("--result-cache-dir needs --result-cache-size")
	}
	if c.policyFile != "" && c.policyRego != "" {
		return nil, errors.New("--policy-file and --policy-rego are two policies; give one")
	}
	if c.loopbackOnly() && !isLoopback(c.listen) {
		return nil, fmt.Errorf("--listen %s is not a loopback address and no authentication is configured; "+
			"listen on 127.0.0.1, configure authentication (--jwt-secret-file, --jwt-public-key, --jwks, --users-file or --tls-client-ca), "+
			"or pass --insecure-no-auth to serve everyone who can reach it", c.listen)
	}
	if !c.remote() && c.localWorkers < 1 {
		return nil, errors.New("--local-workers must be at least 1 when no --worker or --worker-dns is given")
	}
	return c, nil
}

// remote reports whether the workers are remote (--worker, --worker-dns)
// rather than processes serve starts itself.
func (c *serveConfig) remote() bool {
	return len(c.workers) > 0 || len(c.dist.workerDNS) > 0
}

// loopbackOnly reports whether only this machine may connect: without
// authentication, unless --insecure-no-auth.
func (c *serveConfig) loopbackOnly() bool {
	return !c.insecureNoAuth && !c.authn.enabled()
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// workerSecret is the key that signs fragment tickets. Local workers get a
// fresh random one; remote workers must be given the same one as the
// coordinator.
func workerSecret(file string, remote bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read worker secret: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if s := os.Getenv("QUIVER_WORKER_SECRET"); s != "" {
		return []byte(s), nil
	}
	if remote {
		return nil, errors.New("--worker needs the secret the workers were started with: --worker-secret-file or QUIVER_WORKER_SECRET")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate worker secret: %w", err)
	}
	return []byte(hex.EncodeToString(b)), nil
}

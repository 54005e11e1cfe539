package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/quiver-data/quiver/lakehouse"
)

// icebergFlags name the Iceberg catalogs serve reads besides the warehouse.
type icebergFlags struct {
	catalogs listFlag
}

func (f *icebergFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.catalogs, "iceberg-catalog", "an Iceberg catalog, NAME=URI (repeatable): URI http(s)://host/… is a REST catalog, sqlite:PATH a local SQL catalog; "+
		"options as query parameters: warehouse= (REST: sent to the catalog; sqlite: the local warehouse directory, required), "+
		"token-file= (REST bearer token), credential-file= (REST OAuth2 client_id:client_secret), sql-catalog-name= (sqlite: the catalog_name of its rows, default NAME)")
}

// catalogName is what an Iceberg catalog may be called: a plain SQL
// identifier other than the names the warehouse and DuckDB take.
var catalogName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedCatalogs are names an Iceberg catalog cannot take.
var reservedCatalogs = []string{"quiver", "system", "temp", "memory", "main", "information_schema", "pg_catalog"}

// specs parses the --iceberg-catalog values.
func (f *icebergFlags) specs() ([]lakehouse.Spec, error) {
	var out []lakehouse.Spec
	for _, v := range f.catalogs {
		s, err := parseCatalogSpec(v)
		if err != nil {
			return nil, fmt.Errorf("--iceberg-catalog %q: %w", v, err)
		}
		for _, o := range out {
			if strings.EqualFold(o.Name, s.Name) {
				return nil, fmt.Errorf("--iceberg-catalog %q: catalog %s is configured twice", v, s.Name)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// parseCatalogSpec reads NAME=URI[?options].
func parseCatalogSpec(v string) (lakehouse.Spec, error) {
	name, uri, ok := strings.Cut(v, "=")
	if !ok || uri == "" {
		return lakehouse.Spec{}, fmt.Errorf("want NAME=URI, e.g. lake=http://127.0.0.1:8181 or lake=sqlite:/data/catalog.db?warehouse=/data/lake")
	}
	if !catalogName.MatchString(name) {
		return lakehouse.Spec{}, fmt.Errorf("catalog name %q: want letters, digits and underscores", name)
	}
	for _, r := range reservedCatalogs {
		if strings.EqualFold(name, r) {
			return lakehouse.Spec{}, fmt.Errorf("catalog name %q is taken (reserved: %s)", name, strings.Join(reservedCatalogs, ", "))
		}
	}
	base, query, _ := strings.Cut(uri, "?")
	opts, err := url.ParseQuery(query)
	if err != nil {
		return lakehouse.Spec{}, fmt.Errorf("options %q: %w", query, err)
	}
	s := lakehouse.Spec{Name: name, URI: base}
	for k, vs := range opts {
		val := vs[len(vs)-1]
		switch k {
		case "warehouse":
			s.Warehouse = val
		case "sql-catalog-name":
			s.SQLCatalogName = val
		case "token-file":
			if s.Token, err = readSecretFile(val); err != nil {
				return lakehouse.Spec{}, fmt.Errorf("token-file: %w", err)
			}
		case "credential-file":
			if s.Credential, err = readSecretFile(val); err != nil {
				return lakehouse.Spec{}, fmt.Errorf("credential-file: %w", err)
			}
		case "scope":
			s.Scope = val
		case "oauth2-server-uri":
			s.OAuth2ServerURI = val
		default:
			return lakehouse.Spec{}, fmt.Errorf("unknown option %q (options: warehouse, token-file, credential-file, scope, oauth2-server-uri, sql-catalog-name)", k)
		}
	}
	switch {
	case strings.HasPrefix(base, "http://"), strings.HasPrefix(base, "https://"):
	case strings.HasPrefix(base, "sqlite:"):
		if s.Warehouse == "" {
			return lakehouse.Spec{}, fmt.Errorf("a sqlite catalog needs ?warehouse=<local directory>")
		}
	default:
		return lakehouse.Spec{}, fmt.Errorf("URI %q: want http(s)://… (REST catalog) or sqlite:PATH (SQL catalog)", base)
	}
	return s, nil
}

// readSecretFile reads a one-line secret.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// open opens the catalogs, reaching S3 for table metadata the way the
// warehouse flags say (credentials from the AWS default chain); nil
// without any.
func (f *icebergFlags) open(ctx context.Context, wh *warehouseFlags, opts lakehouse.Options) (*lakehouse.Catalogs, error) {
	specs, err := f.specs()
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	style := wh.pathStyle()
	opts.S3 = lakehouse.S3{Endpoint: wh.s3Endpoint, Region: wh.region(), PathStyle: (style == nil && wh.s3Endpoint != "") || (style != nil && *style)}
	// The AWS credential chain only for catalogs that may read S3: a
	// local sqlite catalog over a local directory does not (and the chain
	// may wait for an instance metadata endpoint that is not there).
	needS3 := wh.isS3()
	for _, s := range specs {
		needS3 = needS3 || !strings.HasPrefix(s.URI, "sqlite:") || strings.HasPrefix(s.Warehouse, "s3://")
	}
	if needS3 {
		if awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(wh.region())); err == nil {
			if creds, err := awsCfg.Credentials.Retrieve(ctx); err == nil {
				opts.S3.AccessKeyID, opts.S3.SecretAccessKey, opts.S3.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
			}
		}
	}
	cats, err := lakehouse.Open(ctx, specs, opts)
	if err != nil {
		return nil, fmt.Errorf("open Iceberg catalogs: %w", err)
	}
	return cats, nil
}

package lakehouse

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/uptrace/bun/driver/sqliteshim"

	// Registers the s3:// (and s3a://, s3n://) FileIO; file:// is built in.
	_ "github.com/apache/iceberg-go/io/gocloud/s3"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// connection is an open iceberg-go catalog and what closes it.
type connection struct {
	cat catalog.Catalog
	// warehouse is where the catalog's tables live, as Locations lists it;
	// "" when a REST catalog neither was given one nor advertises one.
	warehouse string
	// vended returns the S3 credentials the catalog vended with the last
	// load of a table (nil for a SQL catalog).
	vended func(t *table.Table) []storage.S3Credential
	close  func() error
}

// s3Props are the iceberg-go FileIO properties for o; empty fields are
// left to iceberg-go's defaults (the AWS SDK's default chain, and
// path-style addressing exactly when there is an endpoint).
func s3Props(o S3) iceberg.Properties {
	p := iceberg.Properties{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set(iceio.S3EndpointURL, o.Endpoint)
	set(iceio.S3Region, o.Region)
	set(iceio.S3AccessKeyID, o.AccessKeyID)
	set(iceio.S3SecretAccessKey, o.SecretAccessKey)
	set(iceio.S3SessionToken, o.SessionToken)
	if o.PathStyle {
		p[iceio.S3ForceVirtualAddressing] = "false"
	}
	return p
}

// connect opens the catalog spec s describes.
func connect(ctx context.Context, s Spec, s3 S3) (*connection, error) {
	props := s3Props(s3)
	maps.Copy(props, s.Props)
	switch {
	case strings.HasPrefix(s.URI, "http://"), strings.HasPrefix(s.URI, "https://"):
		return connectREST(ctx, s, props)
	case strings.HasPrefix(s.URI, "sqlite:"):
		return connectSQLite(ctx, s, props)
	}
	return nil, fmt.Errorf("iceberg catalog %s: uri %q: want http(s)://… (REST) or sqlite:PATH: %w", s.Name, s.URI, ErrConfig)
}

// connectREST opens a REST catalog. Its S3 properties are the client's
// defaults: the catalog's LoadTable config and vended credentials override
// them table by table (iceberg-go merges them in that order).
func connectREST(ctx context.Context, s Spec, props iceberg.Properties) (*connection, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if v, ok := props["rest.tls.skip-verify"]; ok {
		// A custom transport replaces the one iceberg-go would configure
		// from this property, so it is applied here.
		skip, _ := strconv.ParseBool(v)
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: skip} //nolint:gosec // the operator asked for it
	}
	sniff := newRESTSniffer(base)
	opts := []rest.Option{rest.WithAdditionalProps(props), rest.WithCustomTransport(sniff)}
	if s.Warehouse != "" {
		opts = append(opts, rest.WithWarehouseLocation(s.Warehouse))
	}
	if s.Token != "" {
		opts = append(opts, rest.WithOAuthToken(s.Token))
	}
	if s.Credential != "" {
		opts = append(opts, rest.WithCredential(s.Credential))
	}
	if s.Scope != "" {
		opts = append(opts, rest.WithScope(s.Scope))
	}
	if s.OAuth2ServerURI != "" {
		u, err := url.Parse(s.OAuth2ServerURI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			base.CloseIdleConnections()
			return nil, fmt.Errorf("iceberg catalog %s: oauth2 server uri %q: want http(s)://…: %w", s.Name, s.OAuth2ServerURI, ErrConfig)
		}
		opts = append(opts, rest.WithAuthURI(u))
	}
	cat, err := rest.NewCatalog(ctx, s.Name, s.URI, opts...)
	if err != nil {
		base.CloseIdleConnections()
		return nil, fmt.Errorf("iceberg catalog %s: connect to %s: %w", s.Name, s.URI, classify(err))
	}
	warehouse := s.Warehouse
	if warehouse == "" {
		warehouse = sniff.warehouse()
	}
	return &connection{cat: cat, warehouse: warehouse, vended: sniff.credentials, close: func() error {
		err := cat.Close()
		base.CloseIdleConnections()
		return err
	}}, nil
}

// connectSQLite opens a SQL catalog in a local sqlite file, read-only:
// Quiver never writes to a catalog, and must not create its tables in a
// file that is not one.
func connectSQLite(ctx context.Context, s Spec, props iceberg.Properties) (*connection, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(s.URI, "sqlite:"), "//")
	if s.Warehouse == "" {
		return nil, fmt.Errorf("iceberg catalog %s: a sqlite catalog needs its warehouse directory: %w", s.Name, ErrConfig)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w: %w", s.Name, err, ErrConfig)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w: %w", s.Name, err, ErrConfig)
	}
	db, err := sql.Open(sqliteshim.ShimName, "file:"+escapeSQLitePath(abs)+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: open %s: %w", s.Name, abs, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("iceberg catalog %s: open %s: %w", s.Name, abs, classify(err))
	}
	props["init_catalog_tables"] = "false"
	name := s.SQLCatalogName
	if name == "" {
		name = s.Name
	}
	cat, err := sqlcat.NewCatalog(name, db, sqlcat.SQLite, props)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("iceberg catalog %s: open %s: %w", s.Name, abs, classify(err))
	}
	warehouse := s.Warehouse
	if !strings.Contains(warehouse, ":") {
		if warehouse, err = filepath.Abs(warehouse); err != nil {
			_ = cat.Close()
			_ = db.Close()
			return nil, fmt.Errorf("iceberg catalog %s: warehouse %s: %w: %w", s.Name, s.Warehouse, err, ErrConfig)
		}
	}
	return &connection{cat: cat, warehouse: warehouse, close: func() error {
		return errors.Join(cat.Close(), db.Close())
	}}, nil
}

// escapeSQLitePath makes an absolute path safe inside a sqlite file: URI.
func escapeSQLitePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
}

// classify gives err a kind when it has none: a catalog or S3 that cannot
// be reached, answers 5xx, or refuses Quiver's credentials is
// Unavailable (a failure of the system, not of the request).
func classify(err error) error {
	if err == nil || errkind.Of(err) != errkind.Unknown {
		return err
	}
	var (
		netErr  net.Error
		urlErr  *url.Error
		httpErr *smithyhttp.ResponseError
	)
	if errors.As(err, &httpErr) {
		// S3 refusing the metadata's credentials, or failing.
		if code := httpErr.HTTPStatusCode(); code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	switch {
	case errors.As(err, &netErr), errors.As(err, &urlErr),
		errors.Is(err, rest.ErrServiceUnavailable), errors.Is(err, rest.ErrServerError),
		errors.Is(err, rest.ErrUnauthorized), errors.Is(err, rest.ErrForbidden),
		errors.Is(err, rest.ErrAuthorizationExpired), errors.Is(err, rest.ErrOAuthError):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// notFound reports whether err is iceberg-go's missing table or namespace.
func notFound(err error) bool {
	return errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace)
}

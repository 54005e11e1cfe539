package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/iceberg-go/table"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/lru"
	"github.com/quiver-data/quiver/storage"
)

// defaultCacheSize is the plan cache's bound when Options leave it 0.
const defaultCacheSize = 256

// listConcurrency bounds the catalog requests one listing makes at once.
const listConcurrency = 8

// Spec configures one Iceberg catalog.
type Spec struct {
	// Name is the catalog's name in SQL: its tables are
	// Name.<namespace>.<table>. It cannot contain a dot.
	Name string
	// URI is "http(s)://…" for an Iceberg REST catalog, or "sqlite:PATH"
	// for a local SQL catalog (a file written by pyiceberg or iceberg-go).
	URI string
	// Warehouse is, for a REST catalog, the `warehouse` parameter sent to
	// the catalog (optional); for a sqlite catalog, the local warehouse
	// directory (required).
	Warehouse string
	// SQLCatalogName is the catalog_name the sqlite catalog's rows carry
	// (default: Name).
	SQLCatalogName string
	// Token is a REST bearer token (optional).
	Token string
	// Credential is REST OAuth2 client credentials,
	// "client_id:client_secret" (optional).
	Credential string
	// Scope is the OAuth2 scope asked for with Credential (default
	// "catalog"; Polaris wants "PRINCIPAL_ROLE:ALL").
	Scope string
	// OAuth2ServerURI is the token endpoint Credential is exchanged at,
	// when it is not the catalog's own /v1/oauth/tokens (an identity
	// provider such as Keycloak, as Lakekeeper deployments use).
	OAuth2ServerURI string
	// Props are extra iceberg-go catalog properties, passed through; they
	// override the ones derived from Options.S3.
	Props map[string]string
}

// S3 is how the coordinator reaches S3 for table metadata when the
// catalog does not vend credentials. Empty fields use the AWS SDK's
// defaults.
type S3 struct {
	// Endpoint is the S3 endpoint, e.g. http://127.0.0.1:9000; "" is AWS.
	Endpoint string
	// Region is the bucket's region.
	Region string
	// PathStyle forces path-style addressing; false leaves iceberg-go's
	// choice (path-style exactly when Endpoint is set).
	PathStyle bool
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials; without them the default credential chain is used.
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Options configure Open.
type Options struct {
	// S3 reaches table metadata in S3.
	S3 S3
	// Logger gets the catalogs' log lines; nil discards them.
	Logger *slog.Logger
	// MetadataCacheSize bounds the cached snapshot plans (a snapshot's
	// columns and data files with their deletes and statistics), in
	// entries; 0 is 256.
	MetadataCacheSize int
}

// Catalogs are the configured Iceberg catalogs.
type Catalogs struct {
	logger  *slog.Logger
	lakes   []*lake
	plans   *lru.Cache[planKey, *plan]
	flights singleflight.Group
	// opens counts the metadata files (manifest lists, manifests) planning
	// has opened: what the plan cache saves.
	opens atomic.Int64
}

// lake is one configured catalog and its connection, made on first use
// when the catalog was unreachable at Open.
type lake struct {
	spec Spec
	s3   S3

	mu   sync.Mutex
	conn *connection
	// aliases remember what a case-insensitive name resolved to, so that
	// the next reference costs one LoadTable: lower-cased "ns\x00table" →
	// the catalog's identifier.
	aliases map[string]table.Identifier
}

// Open validates specs and connects to each catalog. A catalog that
// cannot be reached now (errkind.Unavailable) does not fail Open: it is
// logged and connected on first use; any other error does.
func Open(ctx context.Context, specs []Spec, opts Options) (*Catalogs, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	size := opts.MetadataCacheSize
	if size <= 0 {
		size = defaultCacheSize
	}
	c := &Catalogs{logger: logger, plans: lru.New[planKey, *plan](size)}
	for _, s := range specs {
		switch {
		case s.Name == "" || strings.ContainsAny(s.Name, `."`):
			return nil, fmt.Errorf("iceberg catalog %q: a name must be non-empty without dots or quotes: %w", s.Name, ErrConfig)
		case c.Has(s.Name):
			return nil, fmt.Errorf("iceberg catalog %s: configured twice (names are case-insensitive): %w", s.Name, ErrConfig)
		case strings.EqualFold(s.Name, "quiver"):
			return nil, fmt.Errorf("iceberg catalog %s: the name is Quiver's own catalog: %w", s.Name, ErrConfig)
		}
		c.lakes = append(c.lakes, &lake{spec: s, s3: opts.S3, aliases: map[string]table.Identifier{}})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for _, l := range c.lakes {
		g.Go(func() error {
			_, err := l.connection(gctx)
			if errkind.Of(err) == errkind.Unavailable {
				logger.Warn("iceberg catalog unreachable, will retry on use", "catalog", l.spec.Name, "uri", l.spec.URI, "err", err)
				return nil
			}
			if err == nil {
				logger.Info("iceberg catalog connected", "catalog", l.spec.Name, "uri", l.spec.URI)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes every catalog connection.
func (c *Catalogs) Close() error {
	var errs []error
	for _, l := range c.lakes {
		l.mu.Lock()
		if l.conn != nil {
			errs = append(errs, l.conn.close())
			l.conn = nil
		}
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Names lists the catalog names in configuration order.
func (c *Catalogs) Names() []string {
	out := make([]string, len(c.lakes))
	for i, l := range c.lakes {
		out[i] = l.spec.Name
	}
	return out
}

// Has reports whether name (case-insensitive) is a configured catalog.
func (c *Catalogs) Has(name string) bool { return c.lake(name) != nil }

// lake is the catalog called name: the exact spelling, else the one that
// matches case-insensitively (Open refuses two such).
func (c *Catalogs) lake(name string) *lake {
	for _, l := range c.lakes {
		if l.spec.Name == name {
			return l
		}
	}
	for _, l := range c.lakes {
		if strings.EqualFold(l.spec.Name, name) {
			return l
		}
	}
	return nil
}

// Locations are the data locations workers must be allowed to read: the
// catalogs' warehouses (for REST, the Warehouse spec value or else the
// `warehouse` default the catalog advertises in /v1/config, once it was
// reached), as s3://bucket/prefix or absolute local directories. A table
// placed outside its catalog's warehouse is not covered.
func (c *Catalogs) Locations() []string {
	var out []string
	for _, l := range c.lakes {
		wh := l.spec.Warehouse
		l.mu.Lock()
		if l.conn != nil {
			wh = l.conn.warehouse
		}
		l.mu.Unlock()
		if wh == "" {
			continue
		}
		loc, err := warehouseLocation(wh)
		if err != nil {
			c.logger.Warn("iceberg warehouse not readable by workers", "catalog", l.spec.Name, "warehouse", wh, "err", err)
			continue
		}
		if !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	return out
}

// Schemas lists a catalog's namespaces, sorted (single-level; a
// multi-level namespace a.b is listed as "a.b").
func (c *Catalogs) Schemas(ctx context.Context, catalog string) ([]string, error) {
	l := c.lake(catalog)
	if l == nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w", catalog, storage.ErrTableNotFound)
	}
	nss, err := l.namespaces(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(nss))
	for i, ns := range nss {
		out[i] = strings.Join(ns, ".")
	}
	slices.Sort(out)
	return out, nil
}

// Tables lists every table of every catalog as
// storage.TableName{Schema: "<catalog>.<namespace>", Name: table}, sorted.
func (c *Catalogs) Tables(ctx context.Context) ([]storage.TableName, error) {
	var out []storage.TableName
	for _, l := range c.lakes {
		nss, err := l.namespaces(ctx)
		if err != nil {
			return nil, err
		}
		tables := make([][]table.Identifier, len(nss))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(listConcurrency)
		for i, ns := range nss {
			g.Go(func() error {
				var err error
				tables[i], err = l.tables(gctx, ns)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, ids := range tables {
			for _, id := range ids {
				out = append(out, l.tableName(id))
			}
		}
	}
	slices.SortFunc(out, func(a, b storage.TableName) int {
		return strings.Compare(a.String(), b.String())
	})
	return slices.Compact(out), nil
}

// connection connects the catalog if it is not yet.
func (l *lake) connection(ctx context.Context) (*connection, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		return l.conn, nil
	}
	conn, err := connect(ctx, l.spec, l.s3)
	if err != nil {
		return nil, err
	}
	l.conn = conn
	return conn, nil
}

// vended returns the S3 credentials the catalog vended with its last load
// of t.
func (l *lake) vended(t *table.Table) []storage.S3Credential {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil || conn.vended == nil {
		return nil
	}
	return conn.vended(t)
}

// tableName is the Quiver name of a catalog table identifier.
func (l *lake) tableName(id table.Identifier) storage.TableName {
	return storage.TableName{
		Schema: l.spec.Name + "." + strings.Join(id[:len(id)-1], "."),
		Name:   id[len(id)-1],
	}
}

// namespaces lists every namespace, nested ones too, sorted.
func (l *lake) namespaces(ctx context.Context) ([]table.Identifier, error) {
	conn, err := l.connection(ctx)
	if err != nil {
		return nil, err
	}
	top, err := conn.cat.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: list namespaces: %w", l.spec.Name, classify(err))
	}
	// A REST catalog lists one level at a time; a SQL catalog lists every
	// level at once (and again below a parent): seen drops the repeats.
	seen := map[string]bool{}
	var out []table.Identifier
	queue := top
	for len(queue) > 0 {
		ns := queue[0]
		queue = queue[1:]
		key := strings.Join(ns, "\x00")
		if len(ns) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, ns)
		children, err := conn.cat.ListNamespaces(ctx, ns)
		if err != nil {
			// Nesting is optional; a catalog that refuses a parent still
			// lists its top level.
			if errkind.Of(classify(err)) == errkind.Unavailable {
				return nil, fmt.Errorf("iceberg catalog %s: list namespaces in %s: %w", l.spec.Name, strings.Join(ns, "."), classify(err))
			}
			continue
		}
		queue = append(queue, children...)
	}
	slices.SortFunc(out, func(a, b table.Identifier) int { return slices.Compare(a, b) })
	return out, nil
}

// tables lists the tables of namespace ns.
func (l *lake) tables(ctx context.Context, ns table.Identifier) ([]table.Identifier, error) {
	conn, err := l.connection(ctx)
	if err != nil {
		return nil, err
	}
	var out []table.Identifier
	for id, err := range conn.cat.ListTables(ctx, ns) {
		if err != nil {
			if notFound(err) { // dropped since it was listed
				return nil, nil
			}
			return nil, fmt.Errorf("iceberg catalog %s: list tables in %s: %w", l.spec.Name, strings.Join(ns, "."), classify(err))
		}
		if len(id) > 0 {
			out = append(out, id)
		}
	}
	return out, nil
}

package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quiver-data/quiver/lru"
)

// DuckDBVersion is the engine version this build links; extensions must match it.
const DuckDBVersion = "v1.5.5"

// Sentinel errors of the engine.
var (
	// ErrHTTPFSMissing means the httpfs extension file is not where the set-up puts it.
	ErrHTTPFSMissing = errors.New("duckdb httpfs extension not installed")
)

// Options configure an embedded DuckDB.
type Options struct {
	// ExtensionDir holds DuckDB extensions as laid out by the set-up:
	// <dir>/v1.5.5/<platform>/httpfs.duckdb_extension.
	ExtensionDir string
	// LoadHTTPFS loads httpfs; opening fails with ErrHTTPFSMissing when it is absent.
	LoadHTTPFS bool
	// S3, when set (and LoadHTTPFS), is installed as a temporary DuckDB secret.
	S3 *S3Config
	// Threads caps DuckDB's worker threads; 0 keeps DuckDB's default.
	Threads int
	// MemoryLimit is DuckDB's memory_limit (e.g. "4GB"); empty keeps
	// DuckDB's default (80% of RAM). ResolveMemoryLimit derives one from
	// the process's cgroup.
	MemoryLimit string
	// TempDirectory is where DuckDB spills what does not fit in
	// MemoryLimit (temp_directory); empty keeps DuckDB's default (.tmp in
	// the working directory). A sandbox always admits it.
	TempDirectory string
	// MaxTempSize bounds the spill files (max_temp_directory_size, e.g.
	// "10GB"; "0B" disables spilling); empty keeps DuckDB's default (90%
	// of the free disk space).
	MaxTempSize string
	// Sandbox, when set, confines DuckDB (see Sandbox); it is applied last,
	// after httpfs and the S3 secret.
	Sandbox *Sandbox
	// Logger receives engine events; nil discards them.
	Logger *slog.Logger
}

// DB is one embedded DuckDB database.
type DB struct {
	sql    *sql.DB
	logger *slog.Logger
	// locked is set once the configuration is locked: new connections
	// then skip their session SETs, which DuckDB would refuse.
	locked *atomic.Bool
	// arrowScan serializes registrations of Arrow streams: DuckDB's C API
	// arrow scan is not safe to use from several connections at once
	// (concurrent registrations crash or lose each other's views).
	arrowScan *sync.Mutex
	// serialized and deserialized cache the parser and the renderer.
	serialized, deserialized *lru.Cache[string, string]
	// layout locates duckdb-go's DuckDB handles for streaming results;
	// nil (an unknown duckdb-go) materializes every result.
	layout *driverLayout
}

// Open starts an in-memory DuckDB configured for Quiver.
func Open(ctx context.Context, opts Options) (*DB, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var httpfs string
	if opts.LoadHTTPFS {
		p, err := FindHTTPFS(opts.ExtensionDir)
		if err != nil {
			return nil, err
		}
		httpfs = p
	}
	locked := new(atomic.Bool)
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		// Session settings: every connection of the pool gets them.
		if locked.Load() {
			return nil
		}
		_, err := execer.ExecContext(ctx, "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := &DB{sql: sql.OpenDB(connector), logger: logger, locked: locked, arrowScan: &sync.Mutex{},
		serialized: lru.New[string, string](memoSize), deserialized: lru.New[string, string](memoSize)}
	if db.layout, err = findDriverLayout(); err != nil {
		logger.Warn("duckdb-go's layout is not the one streaming results need; results are materialized", "err", err)
	}
	setup := []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
	}
	if opts.Threads > 0 {
		setup = append(setup, fmt.Sprintf("SET threads = %d", opts.Threads))
	}
	// Memory and spill settings come before the sandbox: once the
	// configuration is locked they cannot change.
	if opts.MemoryLimit != "" {
		setup = append(setup, "SET memory_limit = "+QuoteString(opts.MemoryLimit))
	}
	if opts.TempDirectory != "" {
		setup = append(setup, "SET temp_directory = "+QuoteString(opts.TempDirectory))
	}
	if opts.MaxTempSize != "" {
		setup = append(setup, "SET max_temp_directory_size = "+QuoteString(opts.MaxTempSize))
	}
	if httpfs != "" {
		setup = append(setup, "LOAD "+QuoteString(httpfs))
	}
	for _, stmt := range setup {
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			_ = db.Close() // the configuration error is the one to report
			return nil, fmt.Errorf("configure duckdb (%s): %w", stmt, err)
		}
	}
	if opts.S3 != nil && httpfs != "" {
		if err := db.SetS3(ctx, *opts.S3); err != nil {
			_ = db.Close() // the configuration error is the one to report
			return nil, err
		}
	}
	if opts.Sandbox != nil {
		if err := db.ApplySandbox(ctx, *opts.Sandbox); err != nil {
			_ = db.Close() // the configuration error is the one to report
			return nil, err
		}
	}
	return db, nil
}

// FindHTTPFS returns the path of the httpfs extension under dir, or an error
// that tells the operator how to install it.
func FindHTTPFS(dir string) (string, error) {
	platform := runtime.GOOS + "_" + runtime.GOARCH
	candidates := []string{
		filepath.Join(dir, DuckDBVersion, platform, "httpfs.duckdb_extension"),
		filepath.Join(dir, DuckDBVersion, "httpfs.duckdb_extension"),
		filepath.Join(dir, "httpfs.duckdb_extension"),
	}
	if dir != "" {
		for _, c := range candidates {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("%w: looked for %s; install it with `make tools`, or by hand: "+
		"pip download --no-deps duckdb-extension-httpfs==%s, unzip the wheel and copy "+
		"duckdb_extension_httpfs/extensions/%s/httpfs.duckdb_extension to %s, then pass --extension-dir (QUIVER_EXTENSION_DIR)",
		ErrHTTPFSMissing, candidates[0], strings.TrimPrefix(DuckDBVersion, "v"), DuckDBVersion, candidates[0])
}

// Resources are the memory and spill settings in force, as DuckDB reports them.
type Resources struct {
	MemoryLimit   string // e.g. "3.7 GiB"
	TempDirectory string
	MaxTempSize   string // e.g. "0 bytes", "90% of available disk space"
	Threads       int
}

// Resources reads the settings that bound the database's memory, disk and CPU.
func (db *DB) Resources(ctx context.Context) (Resources, error) {
	var r Resources
	err := db.sql.QueryRowContext(ctx, `SELECT current_setting('memory_limit'), current_setting('temp_directory'),
		current_setting('max_temp_directory_size'), current_setting('threads')`).
		Scan(&r.MemoryLimit, &r.TempDirectory, &r.MaxTempSize, &r.Threads)
	if err != nil {
		return Resources{}, fmt.Errorf("read duckdb resource settings: %w", err)
	}
	return r, nil
}

// SQL returns the database/sql handle.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// QueryArrow runs query with args and returns its Arrow stream. DuckDB
// produces the result while it is read (a streaming result), so a large
// result is never held in memory whole; errors that come before the first
// row are returned here, later ones by the reader's Err. The caller must
// Release the reader; that also returns the connection.
func (db *DB) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	return db.queryArrow(ctx, query, args, db.queryArrowOn)
}

// QueryArrowMaterialized is QueryArrow with duckdb-go's materializing
// result: the query runs to completion and its whole result is held in
// memory before it returns.
func (db *DB) QueryArrowMaterialized(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	return db.queryArrow(ctx, query, args, materializedOn)
}

func (db *DB) queryArrow(ctx context.Context, query string, args []any,
	run func(context.Context, *sql.Conn, string, []any) (array.RecordReader, error)) (array.RecordReader, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	rdr, err := run(ctx, conn, query, args)
	if err != nil {
		if ctx.Err() != nil {
			discard(conn)
		}
		conn.Close()
		return nil, err
	}
	return &connReader{RecordReader: rdr, conn: conn, ctx: ctx}, nil
}

// connReader keeps the connection reserved for as long as DuckDB streams from it.
type connReader struct {
	array.RecordReader
	conn *sql.Conn
	ctx  context.Context
	done bool
}

func (r *connReader) Release() {
	r.RecordReader.Release()
	if !r.done {
		r.done = true
		if r.ctx.Err() != nil {
			discard(r.conn)
		}
		r.conn.Close()
	}
}

// discard closes the DuckDB connection under conn instead of returning it
// to the pool, after a query on it was interrupted. Whatever DuckDB still
// has to tear down of that query then happens here, in the interrupted
// caller (whose watchdog knows it was canceled), and not in the next query
// that would have picked the connection up: a rare interrupt that landed
// at the wrong moment once left the next, unrelated query on the same
// connection blocked in prepare.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// QuoteString renders s as a DuckDB string literal.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteIdent renders s as a DuckDB identifier.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

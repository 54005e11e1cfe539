package engine

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// QueryArrowOverTables copies each reader into a temporary table (visible
// only on one connection), runs query on that connection and returns its
// Arrow stream. Releasing the returned reader drops the tables and returns
// the connection; the caller keeps ownership of the input readers, which
// are fully read before the query starts.
//
// The copy is deliberate: duckdb-go registers Arrow views through DuckDB's C API arrow scan, whose
// stream producer ignores pushed-down projections and filters, so a view
// queried with WHERE returns unfiltered rows and one queried for a subset
// of its columns crashes. Copying with SELECT * pushes neither, so the
// query may filter and project freely.
func (db *DB) QueryArrowOverTables(ctx context.Context, tables map[string]array.RecordReader, query string, args ...any) (array.RecordReader, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	var created []string
	cleanup := func() {
		for _, name := range created {
			if _, err := conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main."+QuoteIdent(name)); err != nil {
				// A connection whose tables cannot be dropped must not be reused.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		conn.Close()
	}
	// One registration at a time per database (see DB.arrowScan); the
	// copy is fast next to the query, which runs unlocked.
	db.arrowScan.Lock()
	for name, in := range tables {
		stage := "quiver_arrow_" + name
		var release func()
		err := conn.Raw(func(dc any) error {
			ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
			if err != nil {
				return err
			}
			release, err = ar.RegisterView(in, stage)
			return err
		})
		if err != nil {
			db.arrowScan.Unlock()
			cleanup()
			return nil, fmt.Errorf("register %s: %w", name, err)
		}
		created = append(created, name)
		_, err = conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s", QuoteIdent(name), QuoteIdent(stage)))
		// The view points at the stream: drop it before freeing the stream.
		if _, derr := conn.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+QuoteIdent(stage)); derr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		release()
		if err != nil {
			db.arrowScan.Unlock()
			cleanup()
			return nil, fmt.Errorf("copy %s: %w", name, err)
		}
	}
	db.arrowScan.Unlock()
	rdr, err := db.queryArrowOn(ctx, conn, query, args)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &tablesReader{RecordReader: rdr, cleanup: cleanup}, nil
}

// tablesReader drops the tables and returns the connection on Release.
type tablesReader struct {
	array.RecordReader
	cleanup func()
	done    bool
}

func (r *tablesReader) Release() {
	r.RecordReader.Release()
	if !r.done {
		r.done = true
		r.cleanup()
	}
}

package engine

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// QueryArrowOver registers each reader as a view (visible only on one
// connection), runs query on that connection and returns its Arrow stream.
// The coordinator's merge step reads fragment results this way. Releasing the
// returned reader drops the views and returns the connection; the caller
// keeps ownership of the input readers.
func (db *DB) QueryArrowOver(ctx context.Context, views map[string]array.RecordReader, query string, args ...any) (array.RecordReader, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	var (
		rdr      array.RecordReader
		releases []func()
	)
	var names []string
	cleanup := func() {
		// The views point at the streams: drop them before freeing the
		// streams, or the next query on this pooled connection would read
		// freed memory.
		for _, name := range names {
			if _, err := conn.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+QuoteIdent(name)); err != nil {
				// A connection whose views cannot be dropped must not be reused.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		for _, r := range releases {
			r()
		}
		conn.Close()
	}
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		for name, v := range views {
			release, err := ar.RegisterView(v, name)
			if err != nil {
				return fmt.Errorf("register view %s: %w", name, err)
			}
			releases = append(releases, release)
			names = append(names, name)
		}
		rdr, err = ar.QueryContext(ctx, query, args...)
		return err
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	return &viewReader{RecordReader: rdr, cleanup: cleanup}, nil
}

type viewReader struct {
	array.RecordReader
	cleanup func()
	done    bool
}

func (r *viewReader) Release() {
	r.RecordReader.Release()
	if !r.done {
		r.done = true
		r.cleanup()
	}
}

package engine

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ParamTypes prepares query and returns the Arrow type clients should send
// for each of its parameters, as DuckDB infers them from their use. Types are
// widened to what client libraries bind without conversions (all integers
// as int64, all numbers with a fraction as float64); anything else, dates
// and timestamps included, is declared as a string, which DuckDB casts where
// the parameter is used.
func (db *DB) ParamTypes(ctx context.Context, query string) ([]arrow.DataType, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	defer conn.Close()
	var out []arrow.DataType
	err = conn.Raw(func(dc any) error {
		st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer func() { _ = st.Close() }()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("not a duckdb statement")
		}
		for i := 1; i <= ds.NumInput(); i++ {
			t, err := ds.ParamType(i)
			if err != nil {
				return err
			}
			out = append(out, paramArrowType(t))
		}
		return nil
	})
	return out, err
}

func paramArrowType(t duckdb.Type) arrow.DataType {
	switch t {
	case duckdb.TYPE_BOOLEAN:
		return arrow.FixedWidthTypes.Boolean
	case duckdb.TYPE_TINYINT, duckdb.TYPE_SMALLINT, duckdb.TYPE_INTEGER, duckdb.TYPE_BIGINT,
		duckdb.TYPE_UTINYINT, duckdb.TYPE_USMALLINT, duckdb.TYPE_UINTEGER:
		return arrow.PrimitiveTypes.Int64
	case duckdb.TYPE_FLOAT, duckdb.TYPE_DOUBLE, duckdb.TYPE_DECIMAL:
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

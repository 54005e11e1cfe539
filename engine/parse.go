package engine

import (
	"context"
	"fmt"
)

// Serialize parses sql with DuckDB's own parser and returns the statement
// tree as json_serialize_sql renders it (errors are reported inside the JSON).
func (db *DB) Serialize(ctx context.Context, sql string) ([]byte, error) {
	var out string
	if err := db.sql.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", sql).Scan(&out); err != nil {
		return nil, fmt.Errorf("serialize sql: %w", err)
	}
	return []byte(out), nil
}

// Deserialize renders a statement tree produced by Serialize back to SQL.
func (db *DB) Deserialize(ctx context.Context, tree []byte) (string, error) {
	var out string
	if err := db.sql.QueryRowContext(ctx, "SELECT json_deserialize_sql(?::JSON)", string(tree)).Scan(&out); err != nil {
		return "", fmt.Errorf("deserialize sql: %w", err)
	}
	return out, nil
}

package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func TestParamTypes(t *testing.T) {
	db, err := Open(context.Background(), Options{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.SQL().Exec("CREATE TABLE t (i INTEGER, s VARCHAR, d DATE, x DOUBLE, b BOOLEAN)")
	require.NoError(t, err)
	got, err := db.ParamTypes(context.Background(), "SELECT * FROM t WHERE i > ? AND s = ? AND d = ? AND x < ? AND b = ? LIMIT 0")
	require.NoError(t, err)
	require.Equal(t, []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.BinaryTypes.String,
		arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean,
	}, got)
	none, err := db.ParamTypes(context.Background(), "SELECT 1")
	require.NoError(t, err)
	require.Empty(t, none)
}

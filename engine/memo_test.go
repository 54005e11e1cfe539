package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParserCacheReturnsWhatDuckDBDoes(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 1})
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	for i := range 3 {
		sql := fmt.Sprintf("SELECT %d AS x FROM range(3) WHERE x > ?", i)
		first, err := db.Serialize(ctx, sql)
		require.NoError(t, err)
		again, err := db.Serialize(ctx, sql)
		require.NoError(t, err)
		require.Equal(t, first, again)
		out, err := db.Deserialize(ctx, first)
		require.NoError(t, err)
		out2, err := db.Deserialize(ctx, first)
		require.NoError(t, err)
		require.Equal(t, out, out2)
		require.Contains(t, out, fmt.Sprintf("%d AS x", i))
	}
	require.Equal(t, 3, db.serialized.Len())
	require.Equal(t, 3, db.deserialized.Len())
	// Errors are reported inside the JSON, and cached like any result.
	bad, err := db.Serialize(ctx, "SELEC 1")
	require.NoError(t, err)
	require.Contains(t, string(bad), `"error":true`)
}

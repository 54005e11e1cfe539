package coordinator

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func shadowTable(typ arrow.DataType) *storage.Table {
	return &storage.Table{Name: storage.TableName{Schema: "s", Name: "t"},
		Columns: []storage.Column{{Name: "a", Type: typ, Nullable: true}}}
}

// TestTypingIsCached: a statement typed again with arguments of the same
// types is answered from the memo, one typed with other argument types is
// typed anew, and a table whose definition changed is never typed from
// entries made against the old one.
func TestTypingIsCached(t *testing.T) {
	c := newEnv(t).coordinator(Options{})
	ctx := context.Background()
	ints := []*storage.Table{shadowTable(arrow.PrimitiveTypes.Int64)}
	const probe = "SELECT a, ? AS p FROM s.t LIMIT 0"

	first, err := c.Typer().Schema(ctx, ints, probe, []any{int64(1)})
	require.NoError(t, err)
	require.Equal(t, 1, c.shadow.schemas.Len())
	again, err := c.Typer().Schema(ctx, ints, probe, []any{int64(99)})
	require.NoError(t, err)
	require.Same(t, first, again, "the same probe and argument types: from the memo")
	require.Equal(t, arrow.PrimitiveTypes.Int64, first.Field(1).Type)

	text, err := c.Typer().Schema(ctx, ints, probe, []any{"x"})
	require.NoError(t, err)
	require.Equal(t, arrow.BinaryTypes.String, text.Field(1).Type, "a string argument types the column as text")
	require.Equal(t, 2, c.shadow.schemas.Len())

	strs := []*storage.Table{shadowTable(arrow.BinaryTypes.String)}
	redefined, err := c.Typer().Schema(ctx, strs, probe, []any{int64(1)})
	require.NoError(t, err)
	require.Equal(t, arrow.BinaryTypes.String, redefined.Field(0).Type, "typed against the new definition")
	require.Equal(t, 1, c.shadow.schemas.Len(), "the redefinition cleared the memo")

	_, err = c.Typer().Schema(ctx, strs, "SELECT nope FROM s.t LIMIT 0", nil)
	require.Error(t, err)
	require.Equal(t, 1, c.shadow.schemas.Len(), "errors are not cached")
}

// TestMergeTypingIsCached: a merge statement over partials of the same
// schema is typed once.
func TestMergeTypingIsCached(t *testing.T) {
	c := newEnv(t).coordinator(Options{})
	ctx := context.Background()
	tables := []*storage.Table{shadowTable(arrow.PrimitiveTypes.Int64)}
	const partials = "SELECT sum(a) AS s, count(*) AS n FROM s.t LIMIT 0"
	const merge = "SELECT sum(s) / sum(n) AS avg FROM quiver_partials"
	first, err := c.Typer().MergeSchema(ctx, tables, partials, merge, nil)
	require.NoError(t, err)
	require.Equal(t, "avg", first.Field(0).Name)
	again, err := c.Typer().MergeSchema(ctx, tables, partials, merge, nil)
	require.NoError(t, err)
	require.Same(t, first, again)
	require.Equal(t, 1, c.merges.Len())
	other, err := c.Typer().MergeSchema(ctx, tables, partials, "SELECT max(n) AS m FROM quiver_partials", nil)
	require.NoError(t, err)
	require.Equal(t, "m", other.Field(0).Name)
	require.Equal(t, 2, c.merges.Len())
}

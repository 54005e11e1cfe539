package systables

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/storage"
)

// fakeLister serves fixed tables.
type fakeLister map[storage.TableName]*storage.Table

func (f fakeLister) Tables(context.Context) ([]storage.TableName, error) {
	return []storage.TableName{{Schema: "demo", Name: "profiles"}, {Schema: "demo", Name: "secret"}, {Schema: "lake.billing", Name: "invoices"}}, nil
}

func (f fakeLister) Table(_ context.Context, n storage.TableName) (*storage.Table, error) {
	return f[n], nil
}

func TestColumnsAndTablesMetadata(t *testing.T) {
	profiles := storage.TableName{Schema: "demo", Name: "profiles"}
	secret := storage.TableName{Schema: "demo", Name: "secret"}
	invoices := storage.TableName{Schema: "lake.billing", Name: "invoices"}
	str := arrow.BinaryTypes.String
	lister := fakeLister{
		profiles: {Name: profiles, Columns: []storage.Column{{Name: "account_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "Email", Type: str, Nullable: true}, {Name: "name", Type: str, Nullable: true}}},
		secret:   {Name: secret, Columns: []storage.Column{{Name: "x", Type: str}}},
		invoices: {Name: invoices, Iceberg: &storage.IcebergSnapshot{Comment: "Invoices, from Iceberg.", Owner: "billing-team"},
			Columns: []storage.Column{{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Doc: "Amount in EUR."}, {Name: "account_id", Type: arrow.PrimitiveTypes.Int64}}},
	}
	meta, err := catalogmeta.Parse([]byte(`
tables:
  demo.profiles:
    owner: growth
    description: One row per account.
    tags: [customer]
    columns:
      email: {description: Login e-mail address., tags: ["pii:email"]}
  lake.billing.invoices:
    tags: [finance]
    columns:
      account_id: {tags: [key]}
`))
	require.NoError(t, err)
	visible := func(_ context.Context, n storage.TableName) bool { return n != secret }
	denied := func(_ context.Context, n storage.TableName, _ []storage.Column) map[string]bool {
		if n == profiles {
			return map[string]bool{"name": true}
		}
		return nil
	}
	cols := Columns{Warehouse: lister, Visible: visible, Denied: denied, Meta: func() *catalogmeta.Catalog { return meta }}
	rec, err := cols.Rows(context.Background(), Viewer{})
	require.NoError(t, err)
	defer rec.Release()
	require.Equal(t, [][]any{
		{"quiver", "demo", "profiles", "account_id", int64(1), "BIGINT", false, nil, []any{}},
		{"quiver", "demo", "profiles", "Email", int64(2), "VARCHAR", true, "Login e-mail address.", []any{"pii:email"}},
		{"lake", "billing", "invoices", "amount", int64(1), "DOUBLE", false, "Amount in EUR.", []any{}},
		{"lake", "billing", "invoices", "account_id", int64(2), "BIGINT", false, nil, []any{"key"}},
	}, rows(rec), "a hidden table and a denied column are not listed")

	tabs := Tables{Warehouse: lister, Visible: visible, Meta: func() *catalogmeta.Catalog { return meta }}
	rec2, err := tabs.Rows(context.Background(), Viewer{})
	require.NoError(t, err)
	defer rec2.Release()
	var got [][]any
	for _, r := range rows(rec2) {
		got = append(got, append([]any{r[7], r[0], r[1]}, r[11:]...))
	}
	require.Equal(t, [][]any{
		{"quiver", "demo", "profiles", "growth", "One row per account.", []any{"customer"}},
		{"lake", "billing", "invoices", "billing-team", "Invoices, from Iceberg.", []any{"finance"}},
	}, got)

	schemaMeta, err := catalogmeta.Parse([]byte("schemas: {demo: {owner: data-platform, tags: [demo]}, lake.billing: {description: Money.}}"))
	require.NoError(t, err)
	rec4, err := (Schemas{Warehouse: lister, Visible: visible, Meta: func() *catalogmeta.Catalog { return schemaMeta }}).Rows(context.Background(), Viewer{})
	require.NoError(t, err)
	defer rec4.Release()
	require.Equal(t, [][]any{
		{"lake", "billing", int64(1), nil, "Money.", []any{}},
		{"quiver", "demo", int64(1), "data-platform", nil, []any{"demo"}},
	}, rows(rec4), "a schema counts the tables the caller may see")

	rec3, err := (Columns{Warehouse: lister}).Rows(context.Background(), Viewer{})
	require.NoError(t, err)
	defer rec3.Release()
	require.Equal(t, int64(6), rec3.NumRows(), "without a file or a policy: every column")
}

// rows reads a record as Go values: strings, int64, bool, nil, []any.
func rows(rec arrow.RecordBatch) [][]any {
	var out [][]any
	for i := 0; i < int(rec.NumRows()); i++ {
		var row []any
		for _, col := range rec.Columns() {
			row = append(row, value(col, i))
		}
		out = append(out, row)
	}
	return out
}

func value(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.Int64:
		return c.Value(i)
	case *array.Boolean:
		return c.Value(i)
	case *array.List:
		start, end := c.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, value(c.ListValues(), int(j)))
		}
		return out
	}
	return col.ValueStr(i)
}

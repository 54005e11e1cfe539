package e2e_test

import (
	"context"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestMetadata checks the Flight SQL metadata calls: GetTables lists exactly
// the demo tables with schemas equal to the oracle's, and the other calls
// answer with data.
func TestMetadata(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	cl := dialFlightSQL(t, fx.server.Addr(), mem)

	t.Run("GetTables", func(t *testing.T) {
		ctx := queryCtx(t)
		tables := getTables(ctx, t, cl, true)
		require.Equal(t, demoTables, tableNames(userTables(tables)))
		for _, tbl := range userTables(tables) {
			require.Equal(t, "quiver", tbl.catalog, "catalog of %s", tbl.name())
			require.NotEmpty(t, tbl.tableType, "table_type of %s", tbl.name())
			want, err := fx.oracle.Query(ctx, "SELECT * FROM "+tbl.name()+" LIMIT 0")
			require.NoError(t, err)
			require.NotNil(t, tbl.schema, "no schema for %s", tbl.name())
			require.Empty(t, harness.SchemaDiff(want.Schema, tbl.schema), "schema of %s", tbl.name())
			want.Release()
		}
	})

	t.Run("GetTablesFiltered", func(t *testing.T) {
		ctx := queryCtx(t)
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{
			DbSchemaFilterPattern:  ptr("demo"),
			TableNameFilterPattern: ptr("p%"),
		})
		require.NoError(t, err, describe(err))
		res, err := harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		defer res.Release()
		require.Equal(t, []string{"demo.plays", "demo.profiles"}, tableNames(parseTables(t, res)))
	})

	calls := []struct {
		name string
		call func(ctx context.Context) (*flight.FlightInfo, error)
	}{
		{"GetCatalogs", func(ctx context.Context) (*flight.FlightInfo, error) { return cl.GetCatalogs(ctx) }},
		{"GetDbSchemas", func(ctx context.Context) (*flight.FlightInfo, error) {
			return cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
		}},
		{"GetTableTypes", func(ctx context.Context) (*flight.FlightInfo, error) { return cl.GetTableTypes(ctx) }},
		{"GetSqlInfo", func(ctx context.Context) (*flight.FlightInfo, error) {
			return cl.GetSqlInfo(ctx, []flightsql.SqlInfo{
				flightsql.SqlInfoFlightSqlServerName,
				flightsql.SqlInfoFlightSqlServerVersion,
				flightsql.SqlInfoFlightSqlServerArrowVersion,
				flightsql.SqlInfoFlightSqlServerReadOnly,
			})
		}},
		{"GetSqlInfoAll", func(ctx context.Context) (*flight.FlightInfo, error) { return cl.GetSqlInfo(ctx, nil) }},
		{"GetXdbcTypeInfo", func(ctx context.Context) (*flight.FlightInfo, error) { return cl.GetXdbcTypeInfo(ctx, nil) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx := queryCtx(t)
			info, err := c.call(ctx)
			require.NoError(t, err, describe(err))
			res, err := harness.FetchAll(ctx, cl, info)
			require.NoError(t, err, describe(err))
			defer res.Release()
			require.Positive(t, res.NumRows(), "%s returned no rows", c.name)
		})
	}

	t.Run("GetCatalogsNamesQuiver", func(t *testing.T) {
		ctx := queryCtx(t)
		info, err := cl.GetCatalogs(ctx)
		require.NoError(t, err, describe(err))
		res, err := harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		defer res.Release()
		require.Contains(t, stringColumn(t, res, "catalog_name"), "quiver")
	})

	t.Run("GetDbSchemasListsDemo", func(t *testing.T) {
		ctx := queryCtx(t)
		info, err := cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
		require.NoError(t, err, describe(err))
		res, err := harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		defer res.Release()
		require.Contains(t, stringColumn(t, res, "db_schema_name"), "demo")
	})

	t.Run("SystemTablesAreListed", func(t *testing.T) {
		// BI tools and the JDBC and Rust clients discover tables only
		// through these calls: the system schema must be in them.
		ctx := queryCtx(t)
		info, err := cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
		require.NoError(t, err, describe(err))
		res, err := harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		require.Contains(t, stringColumn(t, res, "db_schema_name"), "system")
		res.Release()

		var system []tableInfo
		for _, ti := range getTables(ctx, t, cl, true) {
			if ti.schemaName == "system" {
				system = append(system, ti)
			}
		}
		require.Subset(t, tableNames(system), []string{"system.queries", "system.tables"})
		for _, ti := range system {
			require.Equal(t, "SYSTEM TABLE", ti.tableType, ti.name())
			got, err := harness.RunFlightSQL(ctx, cl, "SELECT * FROM "+ti.name()+" LIMIT 0")
			require.NoError(t, err, describe(err))
			require.Empty(t, harness.SchemaDiff(got.Schema, ti.schema), "schema of %s", ti.name())
			got.Release()
		}

		info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{TableTypes: []string{"TABLE"}})
		require.NoError(t, err, describe(err))
		res, err = harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		require.Equal(t, demoTables, tableNames(parseTables(t, res)), "TABLE lists only the warehouse")
		res.Release()

		info, err = cl.GetTableTypes(ctx)
		require.NoError(t, err, describe(err))
		res, err = harness.FetchAll(ctx, cl, info)
		require.NoError(t, err, describe(err))
		require.ElementsMatch(t, []string{"SYSTEM TABLE", "TABLE"}, stringColumn(t, res, "table_type"))
		res.Release()
	})

	require.NoError(t, cl.Close())
	mem.AssertSize(t, 0)
}

// tableInfo is one row of a GetTables result.
type tableInfo struct {
	catalog, schemaName, table, tableType string
	schema                                *arrow.Schema
}

func (ti tableInfo) name() string { return ti.schemaName + "." + ti.table }

// getTables runs GetTables for every table.
func getTables(ctx context.Context, t *testing.T, cl *flightsql.Client, includeSchema bool) []tableInfo {
	t.Helper()
	info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: includeSchema})
	require.NoError(t, err, describe(err))
	res, err := harness.FetchAll(ctx, cl, info)
	require.NoError(t, err, describe(err))
	defer res.Release()
	return parseTables(t, res)
}

// parseTables decodes the GetTables result columns by name.
func parseTables(t *testing.T, res *harness.Result) []tableInfo {
	t.Helper()
	var out []tableInfo
	idx := func(rec arrow.RecordBatch, name string) int {
		is := rec.Schema().FieldIndices(name)
		if len(is) == 0 {
			return -1
		}
		return is[0]
	}
	str := func(rec arrow.RecordBatch, col, row int) string {
		if col < 0 || rec.Column(col).IsNull(row) {
			return ""
		}
		return rec.Column(col).(*array.String).Value(row)
	}
	for _, rec := range res.Records {
		cat, sch, tbl, typ, bin := idx(rec, "catalog_name"), idx(rec, "db_schema_name"),
			idx(rec, "table_name"), idx(rec, "table_type"), idx(rec, "table_schema")
		require.GreaterOrEqual(t, tbl, 0, "GetTables result has no table_name: %s", rec.Schema())
		for i := 0; i < int(rec.NumRows()); i++ {
			ti := tableInfo{catalog: str(rec, cat, i), schemaName: str(rec, sch, i), table: str(rec, tbl, i), tableType: str(rec, typ, i)}
			if bin >= 0 && !rec.Column(bin).IsNull(i) {
				s, err := flight.DeserializeSchema(rec.Column(bin).(*array.Binary).Value(i), memory.DefaultAllocator)
				require.NoError(t, err, "decode table_schema of %s", ti.name())
				ti.schema = s
			}
			out = append(out, ti)
		}
	}
	return out
}

// userTables drops the server's own system tables (schema "system" or
// "information_schema"), which a server may list next to warehouse tables.
func userTables(tables []tableInfo) []tableInfo {
	var out []tableInfo
	for _, ti := range tables {
		if ti.schemaName != "system" && ti.schemaName != "information_schema" {
			out = append(out, ti)
		}
	}
	return out
}

func tableNames(tables []tableInfo) []string {
	names := make([]string, 0, len(tables))
	for _, ti := range tables {
		names = append(names, ti.name())
	}
	sort.Strings(names)
	return names
}

// stringColumn returns every value of a string column.
func stringColumn(t *testing.T, res *harness.Result, name string) []string {
	t.Helper()
	var out []string
	for _, rec := range res.Records {
		is := rec.Schema().FieldIndices(name)
		require.NotEmpty(t, is, "no column %s in %s", name, rec.Schema())
		col := rec.Column(is[0]).(*array.String)
		for i := 0; i < col.Len(); i++ {
			out = append(out, col.Value(i))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

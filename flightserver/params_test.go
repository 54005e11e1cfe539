package flightserver

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/systables"
)

// paramRow is one parameter row: int64, string and bool values become
// columns of those types, nil a null column.
func paramRow(t *testing.T, values ...any) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(values))
	for i, v := range values {
		switch v.(type) {
		case int64:
			fields[i] = arrow.Field{Name: "p", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
		case string:
			fields[i] = arrow.Field{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true}
		case bool:
			fields[i] = arrow.Field{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
		default:
			fields[i] = arrow.Field{Name: "p", Type: arrow.Null, Nullable: true}
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, v := range values {
		switch v := v.(type) {
		case int64:
			b.Field(i).(*array.Int64Builder).Append(v)
		case string:
			b.Field(i).(*array.StringBuilder).Append(v)
		case bool:
			b.Field(i).(*array.BooleanBuilder).Append(v)
		default:
			b.Field(i).AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

// TestParameterCountAndTypesCheckedAtPlanning: values that cannot bind a
// statement's parameters fail with InvalidArgument naming the placeholder
// when the statement is bound or planned, not as a worker's Internal
// error when it is fetched, and extra values are no longer ignored.
func TestParameterCountAndTypesCheckedAtPlanning(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const twoParams = "SELECT count(*) AS n FROM shop.orders WHERE id <= ? AND region = ?"
	cases := []struct {
		name   string
		sql    string
		values []any // nil: nothing bound
		msg    string
	}{
		{"nothing bound", twoParams, nil,
			"prepared statement has 2 parameters ($1, $2) but no value was bound: bind values for $1, $2"},
		{"one value short", twoParams, []any{int64(10)},
			"prepared statement has 2 parameters ($1, $2) but 1 value was bound: bind a value for $2"},
		{"one value too many", twoParams, []any{int64(10), "EU", int64(3)},
			"prepared statement has 2 parameters ($1, $2) but 3 values were bound; extra value for parameter 3"},
		{"values for a statement without parameters", "SELECT count(*) FROM shop.orders", []any{int64(1), int64(2)},
			"prepared statement has no parameters but 2 values were bound; extra values for parameters 1, 2"},
		{"a string that is no integer", twoParams, []any{"ten", "EU"},
			`parameter $1 of the prepared statement takes an integer (DuckDB infers it from where the parameter is used) but was bound the string "ten"`},
		{"a string that is no boolean", "SELECT count(*) FROM shop.orders WHERE ?", []any{"maybe"},
			`parameter $1 of the prepared statement takes a boolean`},
		{"named parameters", "SELECT count(*) FROM shop.orders WHERE id BETWEEN $lo AND $hi", []any{int64(1)},
			"prepared statement has 2 parameters ($lo, $hi) but 1 value was bound: bind a value for $hi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stmt, err := e.client.Prepare(ctx, tc.sql)
			require.NoError(t, err)
			defer stmt.Close(ctx)
			if tc.values != nil {
				stmt.SetParameters(paramRow(t, tc.values...))
			}
			_, err = stmt.Execute(ctx)
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tc.msg)
		})
	}

	// Values DuckDB casts still bind: a numeric string, a boolean for an
	// integer, NULL for anything.
	for _, values := range [][]any{{"10", "EU"}, {true, "EU"}, {nil, "EU"}} {
		stmt, err := e.client.Prepare(ctx, twoParams)
		require.NoError(t, err)
		stmt.SetParameters(paramRow(t, values...))
		info, err := stmt.Execute(ctx)
		require.NoError(t, err, "%v", values)
		e.fetch(t, ctx, info)
		require.NoError(t, stmt.Close(ctx))
	}

	// A plain statement cannot carry values: its placeholders fail at
	// GetFlightInfo.
	_, err := e.client.Execute(ctx, "SELECT count(*) FROM shop.lines WHERE sku = ?")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "statement has 1 parameter ($1) but no value was bound: bind a value for $1 (values are bound through a prepared statement)")

	// And the server keeps serving.
	info, err := e.client.Execute(ctx, "SELECT count(*) AS n FROM shop.orders")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 100, recs[0].Column(0).(*array.Int64).Value(0))
}

// TestNamedParametersDeclared: the parameter schema a prepared statement
// declares names named parameters as the statement does.
func TestNamedParametersDeclared(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	stmt, err := e.client.Prepare(ctx, "SELECT count(*) AS n FROM shop.orders WHERE region = $region AND id <= $hi")
	require.NoError(t, err)
	defer stmt.Close(ctx)
	ps := stmt.ParameterSchema()
	require.NotNil(t, ps)
	require.Equal(t, []string{"$region", "$hi"}, []string{ps.Field(0).Name, ps.Field(1).Name})
	stmt.SetParameters(paramRow(t, "EU", int64(10)))
	info, err := stmt.Execute(ctx)
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 10, recs[0].Column(0).(*array.Int64).Value(0))
}

func TestCheckParams(t *testing.T) {
	ints := []arrow.DataType{arrow.PrimitiveTypes.Int64}
	nums := []arrow.DataType{arrow.PrimitiveTypes.Float64}
	bools := []arrow.DataType{arrow.FixedWidthTypes.Boolean}
	strs := []arrow.DataType{arrow.BinaryTypes.String}
	one := []string{"$1"}
	cases := []struct {
		name  string
		types []arrow.DataType
		args  []any
		ok    bool
	}{
		{"integer", ints, []any{int64(1)}, true},
		{"numeric string for an integer", ints, []any{" 12 "}, true},
		{"hexadecimal string for an integer", ints, []any{"0x1F"}, true},
		{"float for an integer", ints, []any{1.5}, true},
		{"boolean for an integer", ints, []any{true}, true},
		{"word for an integer", ints, []any{"x"}, false},
		{"bytes for an integer", ints, []any{[]byte("1")}, false},
		{"boolean for a number", nums, []any{true}, false},
		{"null for a number", nums, []any{nil}, true},
		{"yes for a boolean", bools, []any{"Yes"}, true},
		{"integer for a boolean", bools, []any{int64(0)}, true},
		{"word for a boolean", bools, []any{"maybe"}, false},
		{"anything for a string", strs, []any{int64(3)}, true},
		{"types unknown", nil, []any{"x"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkParams("prepared statement", one, tc.types, tc.args)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadParameters)
			require.Contains(t, err.Error(), "parameter $1")
		})
	}
}

// TestParametersReachTheMerge: prepared statements whose parameters the
// coordinator's merge needs — HAVING ?, LIMIT ? OFFSET ?, a parameter in
// the select list — are split over the workers (the fragments return the
// values as hidden columns of their partials) and answer what one DuckDB
// answers with the values written in.
func TestParametersReachTheMerge(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	e := newTestEnvWith(t, envOptions{workers: 2, tables: writeJoinTables, system: log})
	log.SetRunning(e.srv.Running)
	ctx := context.Background()
	for _, c := range []struct {
		sql, literal, strategy string
		values                 []any
	}{
		{"SELECT k, count(*) + ? AS n FROM shop.facts GROUP BY k HAVING count(*) > ? ORDER BY k NULLS FIRST",
			"SELECT k, count(*) + 1 AS n FROM shop.facts GROUP BY k HAVING count(*) > 500 ORDER BY k NULLS FIRST", "aggregate", []any{int64(1), int64(500)}},
		{"SELECT id, amount FROM shop.facts WHERE k = ? ORDER BY amount DESC, id LIMIT ? OFFSET ?",
			"SELECT id, amount FROM shop.facts WHERE k = 3 ORDER BY amount DESC, id LIMIT 5 OFFSET 2", "topk", []any{int64(3), int64(5), int64(2)}},
		{"SELECT k, count(*) AS n FROM shop.facts GROUP BY k ORDER BY n DESC, k NULLS FIRST LIMIT ? OFFSET ?",
			"SELECT k, count(*) AS n FROM shop.facts GROUP BY k ORDER BY n DESC, k NULLS FIRST LIMIT 3 OFFSET 1", "aggregate", []any{int64(3), int64(1)}},
		{"SELECT id FROM shop.facts ORDER BY amount, id LIMIT ?",
			"SELECT id FROM shop.facts ORDER BY amount, id LIMIT 4", "topk", []any{int64(4)}},
	} {
		t.Run(c.sql, func(t *testing.T) {
			stmt, err := e.client.Prepare(ctx, c.sql)
			require.NoError(t, err)
			defer func() { require.NoError(t, stmt.Close(ctx)) }()
			// Every parameter is declared, those of LIMIT and OFFSET too.
			require.NotNil(t, stmt.ParameterSchema())
			require.Equal(t, len(c.values), stmt.ParameterSchema().NumFields(), "%v", stmt.ParameterSchema())
			stmt.SetParameters(paramRow(t, c.values...))
			info, err := stmt.Execute(ctx)
			require.NoError(t, err)
			_, recs := e.fetch(t, ctx, info)
			require.Equal(t, e.joinOracle(t, c.literal), rowStrings(recs))
			require.Equal(t, []string{c.strategy + "|2"}, e.history(t, ctx, log, info, "strategy, fragments"))
		})
	}
}

// history waits until the query of info is in log and returns its
// system.queries row of columns (one string, "|"-separated).
func (e *testEnv) history(t *testing.T, ctx context.Context, log *systables.QueryLog, info *flight.FlightInfo, columns string) []string {
	t.Helper()
	id := queryID(t, info)
	require.Eventually(t, func() bool { _, ok := log.Lookup(id); return ok }, 10*time.Second, 10*time.Millisecond)
	res, err := e.client.Execute(ctx, "SELECT "+columns+" FROM system.queries WHERE query_id = '"+id+"'")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, res)
	return rowStrings(recs)
}

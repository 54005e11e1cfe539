package flightserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
)

// checkParams holds the values bound to a statement (what: "statement",
// "prepared statement") to its parameters, named in binding order: as
// many values as parameters, and, where types are known (the ones
// CreatePreparedStatement declares), each a value its parameter's type
// can take. A mismatch is ErrBadParameters naming the placeholder, found
// before any worker runs: DuckDB would only report it when the statement
// executes, as a worker's internal error.
func checkParams(what string, names []string, types []arrow.DataType, args []any) error {
	switch n := len(args); {
	case n < len(names):
		missing := names[n:]
		return fmt.Errorf("%w: %s has %s but %s: bind %s for %s", ErrBadParameters, what,
			parameterList(names), boundCount(n), plural(len(missing), "a value", "values"), strings.Join(missing, ", "))
	case n > len(names):
		extra := make([]string, 0, n-len(names))
		for i := len(names); i < n; i++ {
			extra = append(extra, strconv.Itoa(i+1))
		}
		return fmt.Errorf("%w: %s has %s but %s; extra %s %s", ErrBadParameters, what,
			parameterList(names), boundCount(n), plural(len(extra), "value for parameter", "values for parameters"), strings.Join(extra, ", "))
	}
	for i, v := range args {
		if i >= len(types) {
			break
		}
		if kind, ok := bindable(v, types[i]); !ok {
			return fmt.Errorf("%w: parameter %s of the %s takes %s (DuckDB infers it from where the parameter is used) but was bound %s",
				ErrBadParameters, names[i], what, kind, describeValue(v))
		}
	}
	return nil
}

// checkStatementParams is checkParams for a statement planned without
// a prepared statement's declared types: a plain statement, which cannot
// carry values, or a prepared one checked already.
func checkStatementParams(plan *planner.Plan, args []any) error {
	err := checkParams("statement", plan.ParamNames, nil, args)
	if err != nil && len(args) == 0 {
		return fmt.Errorf("%w (values are bound through a prepared statement)", err)
	}
	return err
}

// parameterList is "no parameters", "1 parameter ($1)" or "2 parameters ($1, $2)".
func parameterList(names []string) string {
	if len(names) == 0 {
		return "no parameters"
	}
	return fmt.Sprintf("%d %s (%s)", len(names), plural(len(names), "parameter", "parameters"), strings.Join(names, ", "))
}

// boundCount is "no value was bound", "1 value was bound", "3 values were bound".
func boundCount(n int) string {
	switch n {
	case 0:
		return "no value was bound"
	case 1:
		return "1 value was bound"
	}
	return fmt.Sprintf("%d values were bound", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// bindable reports whether DuckDB can cast v to a parameter declared as
// t (CreatePreparedStatement's widened types: Int64 for every integer
// type, Float64 for every other number, Boolean, and String for anything
// else, which takes every value), and names what t takes.
func bindable(v any, t arrow.DataType) (string, bool) {
	if v == nil {
		return "", true
	}
	switch t.ID() {
	case arrow.INT64, arrow.FLOAT64:
		kind := "a number"
		if t.ID() == arrow.INT64 {
			kind = "an integer"
		}
		switch v := v.(type) {
		case int64, uint64, float64:
			return kind, true
		case bool:
			// DuckDB casts a boolean to an integer, not to other numbers.
			return kind, t.ID() == arrow.INT64
		case string:
			v = strings.TrimSpace(v)
			_, ferr := strconv.ParseFloat(v, 64)
			_, ierr := strconv.ParseInt(v, 0, 64) // 0x1F, 1_000
			return kind, ferr == nil || ierr == nil
		}
		return kind, false
	case arrow.BOOL:
		switch v := v.(type) {
		case bool, int64, uint64, float64:
			return "a boolean", true
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "false", "t", "f", "1", "0", "yes", "no", "y", "n", "on", "off":
				return "a boolean", true
			}
		}
		return "a boolean", false
	}
	return "", true
}

// describeValue names a bound value for a message: its kind and, for
// short strings and numbers, the value.
func describeValue(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			return fmt.Sprintf("a string of %d bytes", len(v))
		}
		return "the string " + strconv.Quote(v)
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case int64, uint64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the number %g", v)
	case []byte:
		return fmt.Sprintf("%d bytes of binary", len(v))
	case time.Time:
		return "the time " + v.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("a %T", v)
}

func encodeArgs(args []any) ([]fragwire.Arg, error) {
	if args == nil {
		return nil, nil
	}
	out := make([]fragwire.Arg, len(args))
	for i, a := range args {
		e, err := fragwire.EncodeArg(a)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %d: %v", ErrBadParameters, i+1, err)
		}
		out[i] = e
	}
	return out, nil
}

// rowValues converts row i of a parameter batch to Go values DuckDB binds.
func rowValues(rec arrow.RecordBatch, i int) ([]any, error) {
	out := make([]any, rec.NumCols())
	for c, col := range rec.Columns() {
		v, err := value(col, i)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %d (%s): %v", ErrBadParameters, c+1, rec.ColumnName(c), err)
		}
		out[c] = v
	}
	return out, nil
}

func value(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return int64(a.Value(i)), nil
	case *array.Int16:
		return int64(a.Value(i)), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return uint64(a.Value(i)), nil
	case *array.Uint16:
		return uint64(a.Value(i)), nil
	case *array.Uint32:
		return uint64(a.Value(i)), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.Date32:
		return a.Value(i).ToTime(), nil
	case *array.Date64:
		return a.Value(i).ToTime(), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC(), nil
	case *array.Decimal128:
		return a.ValueStr(i), nil
	case *array.DenseUnion:
		// ADBC sends some parameters as unions; bind the selected child.
		child := a.Field(a.ChildID(i))
		return value(child, int(a.ValueOffset(i)))
	case *array.SparseUnion:
		return value(a.Field(a.ChildID(i)), i)
	case *array.Null:
		return nil, nil
	}
	return nil, fmt.Errorf("arrow type %s cannot be bound", arr.DataType())
}

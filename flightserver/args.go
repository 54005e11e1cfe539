package flightserver

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/quiver-data/quiver/worker"
)

func encodeArgs(args []any) ([]worker.Arg, error) {
	if args == nil {
		return nil, nil
	}
	out := make([]worker.Arg, len(args))
	for i, a := range args {
		e, err := worker.EncodeArg(a)
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

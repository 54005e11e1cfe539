package harness

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ErrNoSQLValue reports a column type the database/sql Flight SQL driver
// cannot return as a Go value.
type ErrNoSQLValue struct{ Type arrow.DataType }

func (e ErrNoSQLValue) Error() string {
	return fmt.Sprintf("the database/sql driver has no Go value for %s", e.Type)
}

// SQLRows converts an Arrow result into the canonical strings of the Go
// values arrow-go's database/sql Flight SQL driver returns for it (decimals
// become float64, dates and timestamps time.Time), so an oracle result can
// be compared with rows scanned through database/sql.
func SQLRows(res *Result) (Rows, error) {
	out := Rows{Columns: fieldNames(res.Schema)}
	for _, rec := range res.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				v, err := driverValue(col, i)
				if err != nil {
					return Rows{}, err
				}
				row[c] = GoCell(v)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

// driverValue mirrors fromArrowType in arrow-go's flightsql/driver.
func driverValue(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch c := arr.(type) {
	case *array.Boolean:
		return c.Value(i), nil
	case *array.Float16:
		return c.Value(i), nil
	case *array.Float32:
		return c.Value(i), nil
	case *array.Float64:
		return c.Value(i), nil
	case *array.Decimal128:
		return c.Value(i).ToFloat64(arr.DataType().(*arrow.Decimal128Type).Scale), nil
	case *array.Decimal256:
		return c.Value(i).ToFloat64(arr.DataType().(*arrow.Decimal256Type).Scale), nil
	case *array.Int8:
		return c.Value(i), nil
	case *array.Int16:
		return c.Value(i), nil
	case *array.Int32:
		return c.Value(i), nil
	case *array.Int64:
		return c.Value(i), nil
	case *array.Binary:
		return c.Value(i), nil
	case *array.String:
		return c.Value(i), nil
	case *array.Time32:
		return c.Value(i).ToTime(arr.DataType().(*arrow.Time32Type).TimeUnit()), nil
	case *array.Time64:
		return c.Value(i).ToTime(arr.DataType().(*arrow.Time64Type).TimeUnit()), nil
	case *array.Timestamp:
		return c.Value(i).ToTime(arr.DataType().(*arrow.TimestampType).TimeUnit()), nil
	case *array.Date32:
		return c.Value(i).ToTime(), nil
	case *array.Date64:
		return c.Value(i).ToTime(), nil
	case *array.Duration:
		return time.Duration(c.Value(i)) * arr.DataType().(*arrow.DurationType).Unit.Multiplier(), nil
	default:
		return nil, ErrNoSQLValue{Type: arr.DataType()}
	}
}

// GoCell renders a Go value in the canonical cell form (see ArrowRows).
func GoCell(v any) string {
	switch x := v.(type) {
	case nil:
		return nullCell
	case string:
		return strconv.Quote(x)
	case []byte:
		return "0x" + hex.EncodeToString(x)
	case float64:
		return floatCell(x)
	case float32:
		return floatCell(float64(x))
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.999999999Z")
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	default:
		return fmt.Sprintf("%v", x)
	}
}

// ScanSQLRows reads every row of a database/sql result as canonical cells.
func ScanSQLRows(rows *sql.Rows) (Rows, error) {
	cols, err := rows.Columns()
	if err != nil {
		return Rows{}, fmt.Errorf("columns: %w", err)
	}
	out := Rows{Columns: cols}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return Rows{}, fmt.Errorf("scan: %w", err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = GoCell(v)
		}
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return Rows{}, err
	}
	return out, nil
}

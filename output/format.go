package output

import (
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Layouts shared by every text format, so a value reads the same in a table,
// a CSV file and a JSON line. They match arrow-go's CSV writer.
const (
	timestampLayout   = "2006-01-02 15:04:05.999999999"
	timestampTZLayout = timestampLayout + "Z07:00"
)

// cellString formats a non-null value for the table and JSON formats.
func cellString(arr arrow.Array, i int) string {
	switch a := arr.(type) {
	case *array.Timestamp:
		return formatTimestamp(a, i)
	case *array.Date32:
		return a.Value(i).FormattedString()
	case *array.Date64:
		return a.Value(i).FormattedString()
	case *array.Time32:
		return a.Value(i).ToTime(a.DataType().(*arrow.Time32Type).Unit).Format("15:04:05.999999999")
	case *array.Time64:
		return a.Value(i).ToTime(a.DataType().(*arrow.Time64Type).Unit).Format("15:04:05.999999999")
	case *array.Decimal32:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal32Type).Scale)
	case *array.Decimal64:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal64Type).Scale)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Dictionary:
		return cellString(a.Dictionary(), a.GetValueIndex(i))
	default:
		return arr.ValueStr(i)
	}
}

// formatTimestamp renders a timestamp in its own time zone ("Z" for UTC);
// values outside years 0-9999 fall back to the raw integer, like arrow-go.
func formatTimestamp(a *array.Timestamp, i int) string {
	typ := a.DataType().(*arrow.TimestampType)
	toTime, err := typ.GetToTimeFunc()
	if err != nil {
		return strconv.FormatInt(int64(a.Value(i)), 10)
	}
	t := toTime(a.Value(i))
	if t.Year() < 0 || t.Year() > 9999 {
		return strconv.FormatInt(int64(a.Value(i)), 10)
	}
	if typ.TimeZone == "" {
		return t.Format(timestampLayout)
	}
	return t.Format(timestampTZLayout)
}

// jsonValue converts a non-null value to what encoding/json should write:
// numbers stay numbers (decimals and non-finite floats become strings so no
// precision is lost), nested values keep their structure, everything else
// is the same string as in the table format.
func jsonValue(arr arrow.Array, i int) any {
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64,
		*array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		return jsonNumber(a.ValueStr(i))
	case *array.Float32:
		return floatJSON(float64(a.Value(i)), 32)
	case *array.Float64:
		return floatJSON(a.Value(i), 64)
	case *array.Dictionary:
		return jsonValue(a.Dictionary(), a.GetValueIndex(i))
	case array.ListLike, *array.Struct:
		return arr.GetOneForMarshal(i)
	default:
		return cellString(arr, i)
	}
}

// jsonNumber is a literal number for encoding/json.
type jsonNumber string

// MarshalJSON writes the number as it is.
func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func floatJSON(f float64, bits int) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return jsonNumber(strconv.FormatFloat(f, 'g', -1, bits))
}

// isNumeric reports whether values of t are right-aligned in a table.
func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	case arrow.DICTIONARY:
		return isNumeric(t.(*arrow.DictionaryType).ValueType)
	default:
		return false
	}
}

// isText reports whether values of t have no natural width (text, binary,
// nested values), so the table format may cut them.
func isText(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BOOL, arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64,
		arrow.TIMESTAMP, arrow.INTERVAL_MONTHS, arrow.INTERVAL_DAY_TIME,
		arrow.INTERVAL_MONTH_DAY_NANO, arrow.DURATION, arrow.NULL:
		return false
	case arrow.DICTIONARY:
		return isText(t.(*arrow.DictionaryType).ValueType)
	default:
		return !isNumeric(t)
	}
}

// TypeName is the SQL-style name shown under a column name in a table, as
// the DuckDB CLI does ("bigint", "varchar", "decimal(12,4)").
func TypeName(t arrow.DataType) string {
	switch t := t.(type) {
	case *arrow.Int8Type:
		return "tinyint"
	case *arrow.Int16Type:
		return "smallint"
	case *arrow.Int32Type:
		return "integer"
	case *arrow.Int64Type:
		return "bigint"
	case *arrow.Uint8Type:
		return "utinyint"
	case *arrow.Uint16Type:
		return "usmallint"
	case *arrow.Uint32Type:
		return "uinteger"
	case *arrow.Uint64Type:
		return "ubigint"
	case *arrow.Float16Type:
		return "half"
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "varchar"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "blob"
	case *arrow.Date32Type, *arrow.Date64Type:
		return "date"
	case *arrow.Time32Type, *arrow.Time64Type:
		return "time"
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamp with time zone"
		}
		return "timestamp"
	case arrow.DecimalType:
		return fmt.Sprintf("decimal(%d,%d)", t.GetPrecision(), t.GetScale())
	case *arrow.MonthDayNanoIntervalType, *arrow.MonthIntervalType, *arrow.DayTimeIntervalType, *arrow.DurationType:
		return "interval"
	case *arrow.NullType:
		return "null"
	case *arrow.DictionaryType:
		return TypeName(t.ValueType)
	case arrow.ListLikeType:
		return TypeName(t.Elem()) + "[]"
	default:
		return t.String()
	}
}

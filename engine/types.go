package engine

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// DuckDBType names the DuckDB type that reading a Parquet column of Arrow type
// t produces, so tables declared from footers have exactly the types workers
// return.
func DuckDBType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.Int8Type:
		return "TINYINT", nil
	case *arrow.Int16Type:
		return "SMALLINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Uint8Type:
		return "UTINYINT", nil
	case *arrow.Uint16Type:
		return "USMALLINT", nil
	case *arrow.Uint32Type:
		return "UINTEGER", nil
	case *arrow.Uint64Type:
		return "UBIGINT", nil
	case *arrow.Float16Type, *arrow.Float32Type:
		return "FLOAT", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "VARCHAR", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "BLOB", nil
	case *arrow.Date32Type, *arrow.Date64Type:
		return "DATE", nil
	case *arrow.Time32Type, *arrow.Time64Type:
		return "TIME", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMPTZ", nil
		}
		switch t.Unit {
		case arrow.Second:
			return "TIMESTAMP_S", nil
		case arrow.Millisecond:
			return "TIMESTAMP_MS", nil
		case arrow.Nanosecond:
			return "TIMESTAMP_NS", nil
		default:
			return "TIMESTAMP", nil
		}
	case *arrow.Decimal32Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.Decimal64Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.Decimal128Type:
		if t.Precision > 38 {
			return "DOUBLE", nil
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.Decimal256Type:
		if t.Precision > 38 {
			return "DOUBLE", nil
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.DurationType, *arrow.MonthDayNanoIntervalType, *arrow.DayTimeIntervalType, *arrow.MonthIntervalType:
		return "INTERVAL", nil
	case *arrow.ListType:
		return listOf(t.Elem())
	case *arrow.LargeListType:
		return listOf(t.Elem())
	case *arrow.ListViewType:
		return listOf(t.Elem())
	case *arrow.FixedSizeListType:
		inner, err := DuckDBType(t.Elem())
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s[%d]", inner, t.Len()), nil
	case *arrow.MapType:
		k, err := DuckDBType(t.KeyType())
		if err != nil {
			return "", err
		}
		v, err := DuckDBType(t.ItemType())
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	case *arrow.StructType:
		parts := make([]string, 0, t.NumFields())
		for _, f := range t.Fields() {
			ft, err := DuckDBType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, QuoteIdent(f.Name)+" "+ft)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	case *arrow.DictionaryType:
		return DuckDBType(t.ValueType)
	case *arrow.NullType:
		return "INTEGER", nil
	case arrow.ExtensionType:
		return DuckDBType(t.StorageType())
	}
	return "", fmt.Errorf("arrow type %s has no DuckDB equivalent", t)
}

func listOf(elem arrow.DataType) (string, error) {
	inner, err := DuckDBType(elem)
	if err != nil {
		return "", err
	}
	return inner + "[]", nil
}

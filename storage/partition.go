package storage

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// HiveDefaultPartition is the value Hive and Spark write for a NULL
// partition value. It is kept raw in File.Partition and counts as NULL when
// typing the column.
const HiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// parsePartitions reads the key=value segments of the directories between a
// table and one of its files, in path order. Keys and values are
// URL-unescaped the way Hive escapes them; a segment that does not unescape
// is taken literally.
func parsePartitions(dirs []string) (keys []string, values map[string]string, err error) {
	for _, d := range dirs {
		i := strings.IndexByte(d, '=')
		if i <= 0 {
			continue // a plain directory: nesting, not a partition
		}
		k, v := unescape(d[:i]), unescape(d[i+1:])
		if values == nil {
			values = map[string]string{}
		}
		if _, dup := values[k]; dup {
			return nil, nil, fmt.Errorf("partition key %q appears twice in %s", k, strings.Join(dirs, "/"))
		}
		keys = append(keys, k)
		values[k] = v
	}
	return keys, values, nil
}

func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// partitionType is the type DuckDB's hive_types_autocast picks for a column
// with these values: BIGINT if every value is an integer, DATE if every value
// is YYYY-MM-DD, else VARCHAR. The default partition (NULL) says nothing; a
// column of only NULLs is VARCHAR.
func partitionType(values []string) arrow.DataType {
	isInt, isDate, seen := true, true, false
	for _, v := range values {
		if v == HiveDefaultPartition {
			continue
		}
		seen = true
		if isInt {
			_, err := strconv.ParseInt(v, 10, 64)
			isInt = err == nil
		}
		if isDate {
			isDate = isISODate(v)
		}
		if !isInt && !isDate {
			break
		}
	}
	switch {
	case !seen:
		return arrow.BinaryTypes.String
	case isInt:
		return arrow.PrimitiveTypes.Int64
	case isDate:
		return arrow.FixedWidthTypes.Date32
	default:
		return arrow.BinaryTypes.String
	}
}

// isISODate accepts exactly YYYY-MM-DD naming a real day.
func isISODate(v string) bool {
	if len(v) != len("2006-01-02") {
		return false
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}

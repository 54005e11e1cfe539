package storage

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func TestParsePartitions(t *testing.T) {
	tests := []struct {
		name    string
		dirs    []string
		keys    []string
		values  map[string]string
		wantErr string
	}{
		{name: "none", dirs: nil},
		{name: "plain dirs are nesting", dirs: []string{"sub", "deeper"}},
		{name: "one", dirs: []string{"day=2025-01-01"}, keys: []string{"day"}, values: map[string]string{"day": "2025-01-01"}},
		{name: "two in path order", dirs: []string{"year=2025", "x", "country=US"},
			keys: []string{"year", "country"}, values: map[string]string{"year": "2025", "country": "US"}},
		{name: "hive escapes", dirs: []string{"city=S%C3%A3o%20Paulo", "path=a%2Fb"},
			keys: []string{"city", "path"}, values: map[string]string{"city": "São Paulo", "path": "a/b"}},
		{name: "bad escape kept", dirs: []string{"k=100%"}, keys: []string{"k"}, values: map[string]string{"k": "100%"}},
		{name: "value with equals", dirs: []string{"k=a=b"}, keys: []string{"k"}, values: map[string]string{"k": "a=b"}},
		{name: "empty value", dirs: []string{"k="}, keys: []string{"k"}, values: map[string]string{"k": ""}},
		{name: "no key is not a partition", dirs: []string{"=x"}},
		{name: "default partition raw", dirs: []string{"k=__HIVE_DEFAULT_PARTITION__"},
			keys: []string{"k"}, values: map[string]string{"k": HiveDefaultPartition}},
		{name: "duplicate key", dirs: []string{"k=1", "k=2"}, wantErr: `partition key "k" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, values, err := parsePartitions(tc.dirs)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.keys, keys)
			require.Equal(t, tc.values, values)
		})
	}
}

func TestPartitionType(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   arrow.DataType
	}{
		{name: "integers", values: []string{"1", "-20", "007", "9223372036854775807"}, want: arrow.PrimitiveTypes.Int64},
		{name: "integer overflow", values: []string{"1", "9223372036854775808"}, want: arrow.BinaryTypes.String},
		{name: "dates", values: []string{"2025-01-01", "2024-02-29"}, want: arrow.FixedWidthTypes.Date32},
		{name: "impossible date", values: []string{"2025-01-01", "2025-02-30"}, want: arrow.BinaryTypes.String},
		{name: "short date", values: []string{"2025-1-01"}, want: arrow.BinaryTypes.String},
		{name: "ints and dates", values: []string{"2025-01-01", "1"}, want: arrow.BinaryTypes.String},
		{name: "strings", values: []string{"US", "DE"}, want: arrow.BinaryTypes.String},
		{name: "float is varchar", values: []string{"1.5"}, want: arrow.BinaryTypes.String},
		{name: "empty string is varchar", values: []string{"1", ""}, want: arrow.BinaryTypes.String},
		{name: "default partition ignored for ints", values: []string{"1", HiveDefaultPartition, "2"}, want: arrow.PrimitiveTypes.Int64},
		{name: "default partition ignored for dates", values: []string{HiveDefaultPartition, "2025-01-01"}, want: arrow.FixedWidthTypes.Date32},
		{name: "only default partition", values: []string{HiveDefaultPartition}, want: arrow.BinaryTypes.String},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, arrow.TypeEqual(tc.want, partitionType(tc.values)), "got %s", partitionType(tc.values))
		})
	}
}

package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitKey(t *testing.T) {
	tests := []struct {
		key  string
		name TableName
		dirs []string
		ok   bool
	}{
		{key: "demo/titles/titles.parquet", name: TableName{"demo", "titles"}, dirs: []string{}, ok: true},
		{key: "Demo/Titles/x.parquet", name: TableName{"Demo", "Titles"}, dirs: []string{}, ok: true},
		{key: "demo/plays/day=2025-01-01/data_0.parquet", name: TableName{"demo", "plays"}, dirs: []string{"day=2025-01-01"}, ok: true},
		{key: "demo/deep/a/b/c/x.parquet", name: TableName{"demo", "deep"}, dirs: []string{"a", "b", "c"}, ok: true},
		{key: "demo/t/_col=1/x.parquet", name: TableName{"demo", "t"}, dirs: []string{"_col=1"}, ok: true},
		{key: "top.parquet"},
		{key: "demo/schema_level.parquet"},
		{key: "demo/t/readme.txt"},
		{key: "demo/t/x.parquet.crc"},
		{key: "demo/t/x.PARQUET"},
		{key: "demo/t/_SUCCESS"},
		{key: "demo/t/.x.parquet"},
		{key: "demo/t/_tmp.parquet"},
		{key: "demo/t/_temporary/0/x.parquet"},
		{key: "demo/t/.hidden/x.parquet"},
		{key: "demo/.t/x.parquet"},
		{key: "_schema/t/x.parquet"},
		{key: ".git/t/x.parquet"},
		{key: "demo//x.parquet"},
		{key: "demo/t//x.parquet"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			name, dirs, ok := splitKey(tc.key)
			require.Equal(t, tc.ok, ok)
			if tc.ok {
				require.Equal(t, tc.name, name)
				require.Equal(t, tc.dirs, dirs)
			}
		})
	}
}

func TestTablesLocal(t *testing.T) {
	dir := t.TempDir()
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	for _, key := range []string{
		"demo/titles/titles.parquet",
		"demo/plays/day=2025-01-01/data_0.parquet",
		"demo/plays/day=2025-01-02/data_0.parquet",
		"demo/deep/a/b/c/x.parquet",
		"Other/CamelCase/x.parquet",
		"root.parquet",              // directly under the root
		"demo/schema_level.parquet", // directly under a schema
		"demo/.hidden/x.parquet",    // hidden table
		"_tmp/t/x.parquet",          // hidden schema
		"demo/staging/_temporary/x.parquet",
		"demo/staging/.x.parquet",
	} {
		writeFile(t, dir, key, pq)
	}
	writeFile(t, dir, "demo/csvonly/data.csv", []byte("a,b\n"))
	writeFile(t, dir, "demo/titles/README.md", []byte("hi"))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "demo", "empty"), 0o755))

	w, err := Open(context.Background(), dir, Options{})
	require.NoError(t, err)
	got, err := w.Tables(context.Background())
	require.NoError(t, err)
	require.Equal(t, []TableName{
		{"Other", "CamelCase"},
		{"demo", "deep"},
		{"demo", "plays"},
		{"demo", "titles"},
	}, got)
}

func TestTableNameValid(t *testing.T) {
	tests := []struct {
		name TableName
		ok   bool
	}{
		{TableName{"demo", "plays"}, true},
		{TableName{"my.schema", "t"}, true},
		{TableName{"", "t"}, false},
		{TableName{"demo", ""}, false},
		{TableName{"..", "t"}, false},
		{TableName{"demo", "../x"}, false},
		{TableName{"a/b", "t"}, false},
		{TableName{`a\b`, "t"}, false},
		{TableName{"_hidden", "t"}, false},
		{TableName{"demo", ".t"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name.String(), func(t *testing.T) {
			require.Equal(t, tc.ok, tc.name.valid())
		})
	}
}

package querycli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
)

func TestOutputFormat(t *testing.T) {
	tests := []struct {
		name, out, format string
		want              string
		err               error // or errText, for errors without a sentinel
		errText           string
	}{
		{"stdout", "", "", output.FormatTable, nil, ""},
		{"stdout csv", "", output.FormatCSV, output.FormatCSV, nil, ""},
		{"stdout parquet", "", output.FormatParquet, "", nil, "needs --out FILE"},
		{"unknown format", "x.csv", "xml", "", output.ErrUnknownFormat, ""},

		{"path .parquet", "plays.parquet", "", output.FormatParquet, nil, ""},
		{"path .PARQUET", "dir/PLAYS.PARQUET", "", output.FormatParquet, nil, ""},
		{"path .csv", "plays.csv", "", output.FormatCSV, nil, ""},
		{"path .json", "plays.json", "", output.FormatJSON, nil, ""},
		{"path .jsonl", "plays.jsonl", "", output.FormatJSON, nil, ""},
		{"path .ndjson", "/tmp/plays.ndjson", "", output.FormatJSON, nil, ""},
		{"path agrees", "plays.parquet", output.FormatParquet, output.FormatParquet, nil, ""},
		{"path .jsonl agrees with json", "plays.jsonl", output.FormatJSON, output.FormatJSON, nil, ""},
		{"path contradicts", "plays.parquet", output.FormatCSV, "", ErrFormatConflict, ""},
		{"table contradicts", "plays.csv", output.FormatTable, "", ErrFormatConflict, ""},
		{"path no extension", "plays", "", "", output.ErrUnknownFormat, ""},
		{"path other extension", "plays.txt", "", "", output.ErrUnknownFormat, ""},
		{"path no extension, format given", "plays", output.FormatCSV, output.FormatCSV, nil, ""},
		{"path other extension, table", "plays.txt", output.FormatTable, output.FormatTable, nil, ""},

		{"file:// .csv", "file:///tmp/x/result.csv", "", output.FormatCSV, nil, ""},
		{"file:// contradicts", "file:///tmp/x/result.csv", output.FormatJSON, "", ErrFormatConflict, ""},
		{"file:// no extension", "file:///tmp/x/result", "", "", output.ErrUnknownFormat, ""},
		{"file:// no extension, format given", "file:///tmp/x/result", output.FormatParquet, output.FormatParquet, nil, ""},
		{"file:// table", "file:///tmp/x/result.txt", output.FormatTable, "", output.ErrUnknownFormat, ""},

		{"s3:// .parquet", "s3://bucket/daily/result.parquet", "", output.FormatParquet, nil, ""},
		{"s3:// .ndjson", "s3://bucket/daily/result.ndjson", "", output.FormatJSON, nil, ""},
		{"s3:// contradicts", "s3://bucket/daily/result.parquet", output.FormatJSON, "", ErrFormatConflict, ""},
		{"s3:// no extension", "s3://bucket/daily/result", "", "", output.ErrUnknownFormat, ""},
		{"s3:// table", "s3://bucket/daily/result.parquet", output.FormatTable, "", ErrFormatConflict, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OutputFormat(tc.out, tc.format)
			switch {
			case tc.err != nil:
				require.ErrorIs(t, err, tc.err)
			case tc.errText != "":
				require.ErrorContains(t, err, tc.errText)
			default:
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
		})
	}
}

func TestOutputFormatNamesBoth(t *testing.T) {
	_, err := OutputFormat("plays.parquet", output.FormatCSV)
	require.EqualError(t, err, "output format contradicts the file extension: --format csv, but --out plays.parquet "+
		"is named like parquet; drop --format or change the extension")
	_, err = OutputFormat("plays", "")
	require.ErrorContains(t, err, "give --format csv, json, parquet or table")
	_, err = OutputFormat("s3://b/plays", "")
	require.ErrorContains(t, err, "give --format csv, json or parquet")
}

func TestWriteFile(t *testing.T) {
	addr, _, _ := startCluster(t)
	const allRows = "id,name\n1,one\n2,\n3,three\n4,四\n5,five\n"
	const jsonRows = `{"id":1,"name":"one"}
{"id":2,"name":null}
{"id":3,"name":"three"}
{"id":4,"name":"四"}
{"id":5,"name":"five"}
`
	tests := []struct {
		name, file, format string
		wantFormat         string
		want               string // the file's text; "" for parquet
		shown              int64
	}{
		{"parquet from the extension", "plays.parquet", "", output.FormatParquet, "", 5},
		{"csv from the extension", "plays.csv", "", output.FormatCSV, allRows, 5},
		{"json from the extension", "plays.json", "", output.FormatJSON, jsonRows, 5},
		{"jsonl from the extension", "plays.jsonl", "", output.FormatJSON, jsonRows, 5},
		{"ndjson from the extension", "plays.ndjson", "", output.FormatJSON, jsonRows, 5},
		{"explicit format that agrees", "plays.csv", output.FormatCSV, output.FormatCSV, allRows, 5},
		{"no extension, explicit csv", "plays", output.FormatCSV, output.FormatCSV, allRows, 5},
		{"table on request", "plays.txt", output.FormatTable, output.FormatTable, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), tc.file)
			w, err := WriteFile(t.Context(), Options{Conn: client.Options{Server: addr, Allocator: mem}, SQL: "SELECT ok", Format: tc.format, MaxRows: 2}, path)
			require.NoError(t, err)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, Written{Path: path, Format: tc.wantFormat, Rows: 5, Shown: tc.shown, Bytes: int64(len(got))}, w)
			switch tc.wantFormat {
			case output.FormatParquet:
				pf, err := file.NewParquetReader(strings.NewReader(string(got)))
				require.NoError(t, err)
				defer pf.Close()
				require.Equal(t, int64(5), pf.NumRows())
			case output.FormatTable:
				require.True(t, strings.HasSuffix(string(got), "5 rows (2 shown)  2 columns\n"), string(got))
			default:
				require.Equal(t, tc.want, string(got))
			}
		})
	}
}

func TestWriteFileRefuses(t *testing.T) {
	addr, _, _ := startCluster(t)
	dir := t.TempDir()
	tests := []struct {
		name, file, format string
		err                error
	}{
		{"extension contradicts --format", "plays.parquet", output.FormatCSV, ErrFormatConflict},
		{"no extension and no --format", "plays", "", output.ErrUnknownFormat},
		{"unknown extension and no --format", "plays.txt", "", output.ErrUnknownFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			_, err := WriteFile(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok", Format: tc.format}, path)
			require.ErrorIs(t, err, tc.err)
			require.NoFileExists(t, path, "refused before anything is written")
		})
	}
	_, err := WriteFile(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok"}, "file://"+filepath.Join(dir, "x.csv"))
	require.ErrorContains(t, err, "want a local file path")
}

func TestWriteFileFailures(t *testing.T) {
	addr, _, _ := startCluster(t)
	dir := t.TempDir()

	// A query the server refuses leaves an existing file as it was.
	kept := filepath.Join(dir, "kept.csv")
	require.NoError(t, os.WriteFile(kept, []byte("old\n"), 0o600))
	_, err := WriteFile(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELEKT 1"}, kept)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	got, err := os.ReadFile(kept)
	require.NoError(t, err)
	require.Equal(t, "old\n", string(got))

	// A result that fails midway leaves no partial file behind.
	for _, name := range []string{"partial.csv", "partial.parquet"} {
		path := filepath.Join(dir, name)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		_, err = WriteFile(t.Context(), Options{Conn: client.Options{Server: addr, Allocator: mem}, SQL: "SELECT fails midway"}, path)
		require.Equal(t, codes.Internal, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "removed the partial "+path)
		require.NoFileExists(t, path)
		mem.AssertSize(t, 0)
	}
}

func TestWrittenString(t *testing.T) {
	tests := []struct {
		w    Written
		want string
	}{
		{Written{Path: "plays.parquet", Format: output.FormatParquet, Rows: 1234, Shown: 1234, Bytes: 56 << 10},
			"wrote 1,234 rows (56 KiB, parquet) to plays.parquet"},
		{Written{Path: "one.csv", Format: output.FormatCSV, Rows: 1, Shown: 1, Bytes: 12},
			"wrote 1 row (12 B, csv) to one.csv"},
		{Written{Path: "none.json", Format: output.FormatJSON}, "wrote 0 rows (0 B, json) to none.json"},
		{Written{Path: "big.parquet", Format: output.FormatParquet, Rows: 1234567890, Shown: 1234567890, Bytes: 3 << 29},
			"wrote 1,234,567,890 rows (1.5 GiB, parquet) to big.parquet"},
		{Written{Path: "t.txt", Format: output.FormatTable, Rows: 100000, Shown: 40, Bytes: 4000},
			"wrote 40 of 100,000 rows (3.9 KiB, table) to t.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.w.String())
		})
	}
}

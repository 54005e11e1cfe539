package e2e_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// brokenKey is the corrupt object the bad-input warehouse holds.
const brokenKey = "demo/broken/x.parquet"

// TestBadInput checks that bad queries and bad warehouses fail with the
// right gRPC code and a useful message, and that the server keeps serving.
func TestBadInput(t *testing.T) {
	// One local warehouse with the demo data plus a corrupt table and files
	// that are not Parquet.
	fx := newLocalFixture(t, func(wh string) {
		junk := make([]byte, 4096)
		_, err := rand.Read(junk)
		require.NoError(t, err)
		writeFile(t, filepath.Join(wh, brokenKey), junk)
		writeFile(t, filepath.Join(wh, "demo", "titles", "README.txt"), []byte("not a table file\n"))
		writeFile(t, filepath.Join(wh, "demo", "titles", "_SUCCESS"), nil)
		writeFile(t, filepath.Join(wh, "demo", "plays", "day=2025-01-01", "_SUCCESS"), nil)
		writeFile(t, filepath.Join(wh, "demo", "notes", "README.txt"), []byte("a directory without parquet is no table\n"))
	}, demoTables)
	cl := dialFlightSQL(t, fx.server.Addr(), memory.DefaultAllocator)

	t.Run("unknown_table", func(t *testing.T) {
		_, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT * FROM demo.no_such_table")
		require.Error(t, err)
		require.Equal(t, codes.NotFound, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), "no_such_table")
		requireServes(t, cl)
	})

	t.Run("unqualified_table_names_the_schema", func(t *testing.T) {
		_, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT count(*) FROM plays")
		require.Equal(t, codes.NotFound, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), "table plays does not exist: table not found (did you mean demo.plays?)")
	})

	t.Run("show_tables_says_what_to_type", func(t *testing.T) {
		_, err := harness.RunFlightSQL(queryCtx(t), cl, "SHOW TABLES")
		require.Equal(t, codes.PermissionDenied, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), "SELECT * FROM system.tables")
	})

	t.Run("syntax_error", func(t *testing.T) {
		_, err := harness.RunFlightSQL(queryCtx(t), cl, "SELEC title_id FROM demo.titles")
		require.Error(t, err)
		require.Equal(t, codes.InvalidArgument, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), "syntax error")
		requireServes(t, cl)
	})

	t.Run("corrupt_parquet", func(t *testing.T) {
		_, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT count(*) FROM demo.broken")
		require.Error(t, err)
		require.Contains(t, status.Convert(err).Message(), brokenKey, describe(err))
		t.Logf("corrupt parquet: %s", describe(err))
		requireServes(t, cl)
	})

	t.Run("non_parquet_files_ignored", func(t *testing.T) {
		ctx := queryCtx(t)
		const q = "SELECT count(*) AS titles, sum(title_id) AS ids, count(DISTINCT genre) AS genres FROM demo.titles"
		want, err := fx.oracle.Query(ctx, q)
		require.NoError(t, err)
		defer want.Release()
		got, err := harness.RunFlightSQL(ctx, cl, q)
		require.NoError(t, err, describe(err))
		defer got.Release()
		harness.Compare(t, "titles with README.txt and _SUCCESS", want, got, true)

		const p = "SELECT day, count(*) AS plays FROM demo.plays WHERE day <= DATE '2025-01-02' GROUP BY day"
		wantPlays, err := fx.oracle.Query(ctx, p)
		require.NoError(t, err)
		defer wantPlays.Release()
		gotPlays, err := harness.RunFlightSQL(ctx, cl, p)
		require.NoError(t, err, describe(err))
		defer gotPlays.Release()
		harness.Compare(t, "plays with _SUCCESS in a partition", wantPlays, gotPlays, false)

		// The corrupt table is a table by the layout rule; notes/ is not.
		tables := getTables(ctx, t, cl, false)
		require.Equal(t, []string{"demo.broken", "demo.events", "demo.plays", "demo.profiles", "demo.titles"},
			tableNames(userTables(tables)))
	})

	t.Run("plain_flight_sql_descriptor", func(t *testing.T) {
		ctx := queryCtx(t)
		fc, err := flight.NewClientWithMiddleware(fx.server.Addr(), nil, nil,
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer fc.Close()
		info, err := fc.GetFlightInfo(ctx, &flight.FlightDescriptor{
			Type: flight.DescriptorCMD,
			Cmd:  []byte("SELECT 42 AS x"),
		})
		require.NoError(t, err, describe(err))
		require.NotEmpty(t, info.GetEndpoint())
		var values []string
		for _, ep := range info.GetEndpoint() {
			stream, err := fc.DoGet(ctx, ep.GetTicket())
			require.NoError(t, err, describe(err))
			rdr, err := flight.NewRecordReader(stream)
			require.NoError(t, err, describe(err))
			for rdr.Next() {
				rec := rdr.RecordBatch()
				require.Equal(t, "x", rec.ColumnName(0))
				for i := 0; i < int(rec.NumRows()); i++ {
					values = append(values, rec.Column(0).ValueStr(i))
				}
			}
			if err := rdr.Err(); err != nil && err != io.EOF {
				require.NoError(t, err, describe(err))
			}
			rdr.Release()
		}
		require.Equal(t, []string{"42"}, values)
		requireServes(t, cl)
	})

	t.Run("unreachable_s3", func(t *testing.T) {
		endpoint := "http://" + harness.ClosedAddr(t)
		srv := harness.StartServer(t, harness.ServerOptions{
			Warehouse:  "s3://" + bucket + "/wh",
			S3Endpoint: endpoint,
			Env: []string{
				"AWS_ACCESS_KEY_ID=" + harness.MinIOUser,
				"AWS_SECRET_ACCESS_KEY=" + harness.MinIOPassword,
				"AWS_REGION=" + harness.S3Region,
			},
		})
		s3cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
		start := time.Now()
		_, err := harness.RunFlightSQL(queryCtx(t), s3cl, "SELECT count(*) FROM demo.plays")
		require.Error(t, err)
		require.Equal(t, codes.Unavailable, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), strings.TrimPrefix(endpoint, "http://"))
		t.Logf("unreachable s3 answered in %s: %s", time.Since(start).Round(time.Millisecond), describe(err))

		// The server is still alive and answers a second query.
		_, err = harness.RunFlightSQL(queryCtx(t), s3cl, "SELECT count(*) FROM demo.titles")
		require.Error(t, err)
		require.NotEqual(t, codes.DeadlineExceeded, status.Code(err), describe(err))
		requireServes(t, s3cl)
	})

	t.Run("missing_httpfs", func(t *testing.T) {
		res := harness.RunQuiver(t, 60*time.Second, nil,
			"serve",
			"--listen", harness.ClosedAddr(t),
			"--warehouse", "s3://"+bucket+"/wh",
			"--s3-endpoint", "http://"+harness.ClosedAddr(t),
			"--extension-dir", t.TempDir(),
			"--local-workers", "1",
		)
		require.NotEqual(t, -1, res.ExitCode, "serve kept running without httpfs: %v\n%s", res.Err, res.Output)
		require.NotZero(t, res.ExitCode, "serve started without httpfs:\n%s", res.Output)
		require.Contains(t, res.Output, "duckdb-extension-httpfs", "exit %d, output:\n%s", res.ExitCode, res.Output)
	})

	t.Run("empty_warehouse", func(t *testing.T) {
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: t.TempDir()})
		ecl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
		tables := getTables(queryCtx(t), t, ecl, true)
		require.Empty(t, userTables(tables))
		requireServes(t, ecl)
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

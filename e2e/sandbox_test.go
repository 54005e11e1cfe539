package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/fragwire"
)

// hostileSQL is the sandbox catalogue run against a live server: every case
// must fail with PermissionDenied naming what was refused.
var hostileSQL = []struct {
	name, sql, refused string
}{
	{"read_csv", "SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
	{"read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"},
	{"read_text", "SELECT * FROM read_text('/etc/hostname')", "read_text"},
	{"read_blob", "SELECT * FROM read_blob('/etc/hostname')", "read_blob"},
	{"read_json", "SELECT * FROM read_json('/etc/x.json')", "read_json"},
	{"read_parquet user path", "SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet"},
	{"parquet_scan", "SELECT * FROM parquet_scan('/tmp/x.parquet')", "parquet_scan"},
	{"glob", "SELECT * FROM glob('/etc/*')", "glob"},
	{"sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"},
	{"parquet_metadata", "SELECT * FROM parquet_metadata('/tmp/x.parquet')", "parquet_metadata"},
	{"parquet_schema", "SELECT * FROM parquet_schema('/tmp/x.parquet')", "parquet_schema"},
	{"query_table", "SELECT * FROM query_table('demo.titles')", "query_table"},
	{"query", "SELECT * FROM query('SELECT 1')", "query"},
	{"duckdb_settings", "SELECT * FROM duckdb_settings()", "duckdb_settings"},
	{"duckdb_secrets", "SELECT * FROM duckdb_secrets()", "duckdb_secrets"},
	{"string-built path", "SELECT * FROM read_csv('/et' || 'c/passwd')", "read_csv"},
	{"dot dot", "SELECT * FROM read_parquet('demo/../../../etc/passwd')", "read_parquet"},
	{"upper case", "SELECT * FROM READ_CSV('/etc/passwd')", "read_csv"},
	{"quoted", `SELECT * FROM "read_csv"('/etc/passwd')`, "read_csv"},
	{"replacement scan", "SELECT * FROM '/etc/passwd'", "/etc/passwd"},
	{"in a CTE", "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv"},
	{"in a subquery", "SELECT * FROM (SELECT * FROM read_text('/etc/hostname')) s", "read_text"},
	{"in a join", "SELECT count(*) FROM demo.titles t JOIN read_csv('/etc/passwd') c ON true", "read_csv"},
	{"in a lateral join", "SELECT * FROM demo.titles t, LATERAL (SELECT * FROM read_text('/etc/' || t.title)) x", "read_text"},
	{"in WHERE", "SELECT * FROM demo.titles WHERE title_id IN (SELECT 1 FROM glob('/*'))", "glob"},
	{"via EXPLAIN", "EXPLAIN SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
	{"current_setting", "SELECT current_setting('allowed_directories')", "current_setting"},
	{"information_schema", "SELECT * FROM information_schema.tables", "information_schema.tables"},
	{"duckdb view", "SELECT * FROM duckdb_tables", "duckdb_tables"},
	{"system catalog", "SELECT * FROM system.main.duckdb_settings", "system.main.duckdb_settings"},
	{"copy", "COPY (SELECT 1) TO '/tmp/quiver-sandbox-e2e.csv'", "COPY"},
	{"attach", "ATTACH '/tmp/quiver-sandbox-e2e.db'", "ATTACH"},
	{"install", "INSTALL httpfs", "INSTALL"},
	{"load", "LOAD httpfs", "LOAD"},
	{"set", "SET enable_external_access = true", "SET"},
	{"reset", "RESET allowed_directories", "RESET"},
	{"pragma", "PRAGMA database_list", "PRAGMA"},
	{"create secret", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "CREATE"},
	{"call", "CALL duckdb_settings()", "CALL"},
	{"export", "EXPORT DATABASE '/tmp/quiver-sandbox-e2e'", "EXPORT"},
	{"import", "IMPORT DATABASE '/tmp/quiver-sandbox-e2e'", "IMPORT"},
	{"explain copy", "EXPLAIN COPY (SELECT 1) TO '/tmp/quiver-sandbox-e2e.csv'", "COPY"},
}

// TestSandboxCatalogue runs the hostile catalogue through arrow-go's
// Flight SQL client, as a query and as a prepared statement.
func TestSandboxCatalogue(t *testing.T) {
	fx := newLocalFixture(t, nil, demoTables)
	cl := dialFlightSQL(t, fx.server.Addr(), memory.DefaultAllocator)
	for _, tc := range hostileSQL {
		t.Run(tc.name, func(t *testing.T) {
			_, err := harness.RunFlightSQL(queryCtx(t), cl, tc.sql)
			require.Equal(t, codes.PermissionDenied, status.Code(err), describe(err))
			require.Contains(t, status.Convert(err).Message(), tc.refused)
			requireServes(t, cl)

			stmt, err := cl.Prepare(queryCtx(t), tc.sql)
			if err == nil {
				_ = stmt.Close(context.Background())
			}
			require.Equal(t, codes.PermissionDenied, status.Code(err), "prepared: %s", describe(err))
			require.Contains(t, status.Convert(err).Message(), tc.refused)
			requireServes(t, cl)
		})
	}
	_, err := os.Stat("/tmp/quiver-sandbox-e2e.csv")
	require.True(t, errors.Is(err, os.ErrNotExist), "COPY wrote a file")
}

// sandboxServer starts a server whose local workers share a secret the
// test knows, so it can sign tickets like the coordinator does.
func sandboxServer(t *testing.T, wh string, opts harness.ServerOptions) (*harness.Server, *fragwire.Signer, string) {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	secret := hex.EncodeToString(key)
	opts.Warehouse = wh
	opts.LocalWorkers = 1
	opts.Env = append(opts.Env, "QUIVER_WORKER_SECRET="+secret)
	srv := harness.StartServer(t, opts)
	signer, err := fragwire.NewSigner([]byte(secret))
	require.NoError(t, err)
	workers := srv.LocalWorkers()
	require.Len(t, workers, 1, "serve log names its local worker")
	for addr := range workers {
		return srv, signer, addr
	}
	return nil, nil, ""
}

// doGetWorker calls a worker directly and returns the rows it streamed.
func doGetWorker(t *testing.T, addr string, ticket []byte) (int64, error) {
	t.Helper()
	fc, err := flight.NewClientWithMiddleware(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer fc.Close()
	ctx := queryCtx(t)
	stream, err := fc.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return 0, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return rows, err
	}
	return rows, nil
}

func sign(t *testing.T, s *fragwire.Signer, sql string, expires time.Time) []byte {
	t.Helper()
	tk, err := s.Sign(fragwire.Fragment{QueryID: "sandbox-e2e", SQL: sql, Expires: expires.UnixMilli()})
	require.NoError(t, err)
	return tk
}

// TestSandboxWorkerLocal calls a local worker directly: forged tickets get
// Unauthenticated and no data; validly signed tickets still cannot leave
// the warehouse, while warehouse files stay readable.
func TestSandboxWorkerLocal(t *testing.T) {
	harness.QuiverBin(t)
	root := t.TempDir()
	wh := filepath.Join(root, "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	srv, signer, addr := sandboxServer(t, wh, harness.ServerOptions{})
	cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)

	// A Parquet file of the warehouse, and a copy beside it (sibling prefix).
	var inside string
	require.NoError(t, filepath.WalkDir(wh, func(p string, d os.DirEntry, err error) error {
		if err == nil && inside == "" && strings.HasSuffix(p, ".parquet") {
			inside = p
		}
		return err
	}))
	require.NotEmpty(t, inside)
	sibling := filepath.Join(root, "warehouse2", "x.parquet")
	b, err := os.ReadFile(inside)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(sibling), 0o755))
	require.NoError(t, os.WriteFile(sibling, b, 0o644))

	forged := func(sql string) []byte {
		other, err := fragwire.NewSigner([]byte("not the coordinator's secret"))
		require.NoError(t, err)
		return sign(t, other, sql, time.Now().Add(time.Minute))
	}
	good := "SELECT * FROM read_parquet('" + inside + "')"
	for name, tk := range map[string][]byte{
		"garbage":   []byte("garbage"),
		"unsigned":  []byte(strings.SplitN(string(sign(t, signer, good, time.Now().Add(time.Minute))), ".", 2)[0] + "."),
		"wrong key": forged(good),
		"expired":   sign(t, signer, good, time.Now().Add(-time.Minute)),
		"megabyte":  bytes.Repeat([]byte("."), 1<<20-1024),
		"tampered":  append(sign(t, signer, good, time.Now().Add(time.Minute)), 'x'),
		"empty":     nil,
	} {
		t.Run("forged/"+name, func(t *testing.T) {
			rows, err := doGetWorker(t, addr, tk)
			require.Equal(t, codes.Unauthenticated, status.Code(err), describe(err))
			require.Zero(t, rows)
			requireServes(t, cl)
		})
	}

	t.Run("signed/warehouse file", func(t *testing.T) {
		rows, err := doGetWorker(t, addr, sign(t, signer, good, time.Now().Add(time.Minute)))
		require.NoError(t, err, describe(err))
		require.Positive(t, rows)
	})
	for _, tc := range []struct {
		name, sql string
		code      codes.Code
		msg       string
	}{
		{"etc passwd", "SELECT * FROM read_csv('/etc/passwd')", codes.PermissionDenied, "/etc/passwd"},
		{"sibling prefix", "SELECT * FROM read_parquet('" + sibling + "')", codes.PermissionDenied, sibling},
		{"dot dot", "SELECT * FROM read_parquet('" + wh + "/../warehouse2/x.parquet')", codes.PermissionDenied, "warehouse2"},
		{"glob", "SELECT * FROM glob('/etc/*')", codes.PermissionDenied, "Permission"},
		{"enable external access", "SET enable_external_access = true", codes.InvalidArgument, "locked"},
		{"allowed directories", "SET allowed_directories = ['/']", codes.InvalidArgument, "locked"},
		{"attach", "ATTACH '" + filepath.Join(root, "x.db") + "'", codes.PermissionDenied, "x.db"},
		{"copy to", "COPY (SELECT 1) TO '" + filepath.Join(root, "out.csv") + "'", codes.PermissionDenied, "out.csv"},
	} {
		t.Run("signed/"+tc.name, func(t *testing.T) {
			rows, err := doGetWorker(t, addr, sign(t, signer, tc.sql, time.Now().Add(time.Minute)))
			require.Equal(t, tc.code, status.Code(err), describe(err))
			require.Contains(t, status.Convert(err).Message(), tc.msg)
			require.Zero(t, rows)
			requireServes(t, cl)
		})
	}
	_, err = os.Stat(filepath.Join(root, "out.csv"))
	require.True(t, errors.Is(err, os.ErrNotExist), "COPY wrote a file")
}

// TestSandboxWorkerS3 checks that a sandboxed worker still reads an S3
// warehouse through httpfs (with the secret created before the lock), but
// not other prefixes of the same bucket.
func TestSandboxWorkerS3(t *testing.T) {
	harness.QuiverBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := harness.StartMinIO(t)
	require.NoError(t, m.CreateBucket(ctx, bucket))
	wh := "s3://" + bucket + "/wh"
	harness.DemoData(t, wh, demoScale, m.Env(), "--s3-endpoint", m.Endpoint())
	srv, signer, addr := sandboxServer(t, wh, harness.ServerOptions{S3Endpoint: m.Endpoint(), Env: m.Env()})
	cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)

	res, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT count(*) FROM demo.plays")
	require.NoError(t, err, describe(err))
	res.Release()

	list, err := m.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("wh/")})
	require.NoError(t, err)
	var key string
	for _, o := range list.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), ".parquet") {
			key = aws.ToString(o.Key)
			break
		}
	}
	require.NotEmpty(t, key)
	_, err = m.Client().CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("wh2/x.parquet"), CopySource: aws.String(bucket + "/" + key),
	})
	require.NoError(t, err)

	rows, err := doGetWorker(t, addr, sign(t, signer, "SELECT * FROM read_parquet('s3://"+bucket+"/"+key+"')", time.Now().Add(time.Minute)))
	require.NoError(t, err, describe(err))
	require.Positive(t, rows)

	rows, err = doGetWorker(t, addr, sign(t, signer, "SELECT * FROM read_parquet('s3://"+bucket+"/wh2/x.parquet')", time.Now().Add(time.Minute)))
	require.Equal(t, codes.PermissionDenied, status.Code(err), describe(err))
	require.Zero(t, rows)
	requireServes(t, cl)
}

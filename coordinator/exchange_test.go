package coordinator

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/worker"
)

var _ Spool = (*storage.Warehouse)(nil)

// exchangePlan is a plan with parts fragments (their SQL comes with Bind)
// and one exchange per producer list.
func exchangePlan(parts int, exchanges ...[]planner.Fragment) *planner.Plan {
	p := &planner.Plan{Fragments: make([]planner.Fragment, parts)}
	for i, producers := range exchanges {
		p.Exchanges = append(p.Exchanges, planner.Exchange{Table: fmt.Sprintf("main.t%d", i), Keys: []string{"k"}, Producers: producers})
	}
	return p
}

// rangeProducers split range(0, n) over k producers whose rows go to
// part (part expression of i).
func rangeProducers(n, k int, part string, groups ...string) []planner.Fragment {
	var out []planner.Fragment
	for j := range k {
		f := planner.Fragment{SQL: fmt.Sprintf("SELECT i AS k, %s AS quiver_part FROM range(%d, %d) t(i)", part, j*n/k, (j+1)*n/k)}
		if len(groups) > 0 {
			f.Group = groups[j%len(groups)]
		}
		out = append(out, f)
	}
	return out
}

func localSpool(t *testing.T) (*storage.Warehouse, string) {
	t.Helper()
	dir := t.TempDir()
	wh, err := storage.Open(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	return wh, dir
}

// readPart returns the k column of a part's files, read back by DuckDB
// the way a consumer fragment reads them.
func readPart(t *testing.T, db *engine.DB, files []string) []int64 {
	t.Helper()
	if len(files) == 0 {
		return nil
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = engine.QuoteString(f)
	}
	rows, err := db.SQL().QueryContext(context.Background(),
		"SELECT k FROM read_parquet(["+strings.Join(quoted, ", ")+"], hive_partitioning = false) ORDER BY k")
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var k int64
		require.NoError(t, rows.Scan(&k))
		out = append(out, k)
	}
	require.NoError(t, rows.Err())
	return out
}

// partOf is the part DuckDB's hash(k) % parts puts k in.
func partOf(t *testing.T, db *engine.DB, k int64, parts int) int {
	var p int
	require.NoError(t, db.SQL().QueryRowContext(context.Background(), fmt.Sprintf("SELECT hash(%d::BIGINT) %% %d", k, parts)).Scan(&p))
	return p
}

func TestExchange(t *testing.T) {
	e := newEnv(t)
	a, b := startWorker(t, e.signer, 0, nil), startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{a.addr, b.addr}))
	wh, dir := localSpool(t)
	c := e.coordinator(Options{Spool: wh, Parallelism: 2})
	ctx := context.Background()

	// Exchange 0 hashes 1000 rows over 4 parts; exchange 1 puts 600 rows
	// in parts 0 and 2 only, and takes a parameter.
	odd := rangeProducers(600, 3, "(i % 2) * 2", a.addr, b.addr)
	for i := range odd {
		odd[i].SQL += " WHERE i < ?"
	}
	limit, err := fragwire.EncodeArg(int64(500))
	require.NoError(t, err)
	plan := exchangePlan(4, rangeProducers(1000, 2, "hash(i) % 4", a.addr, b.addr), odd)
	parts, err := c.Exchange(ctx, Job{QueryID: "q1", Args: []fragwire.Arg{limit}}, plan.Next())
	require.NoError(t, err)
	require.Len(t, parts, 2)

	seen := map[int64]int{}
	for p, files := range parts[0] {
		require.NotEmpty(t, files, "part %d", p)
		require.IsIncreasing(t, files)
		for _, f := range files {
			require.True(t, strings.HasPrefix(f, filepath.Join(dir, "_spool", "q1", "x0-f")) && strings.Contains(f, "-a1/quiver_part="+fmt.Sprint(p)+"/"), f)
		}
		for _, k := range readPart(t, e.db, files) {
			seen[k]++
			require.Equal(t, p, partOf(t, e.db, k, 4), "row %d is in part %d", k, p)
		}
	}
	var codec string
	require.NoError(t, e.db.SQL().QueryRowContext(ctx, "SELECT any_value(compression) FROM parquet_metadata("+engine.QuoteString(parts[0][0][0])+")").Scan(&codec))
	require.Equal(t, "UNCOMPRESSED", codec, "a local spool is not compressed")
	require.Len(t, seen, 1000)
	for k, n := range seen {
		require.Equal(t, 1, n, "row %d", k)
	}

	require.Equal(t, []string{}, parts[1][1], "no row hashed to part 1")
	require.Equal(t, []string{}, parts[1][3])
	evens, twos := readPart(t, e.db, parts[1][0]), readPart(t, e.db, parts[1][2])
	require.Len(t, evens, 250)
	require.Len(t, twos, 250)
	for _, k := range evens {
		require.Zero(t, k%2)
		require.Less(t, k, int64(500), "the parameter was bound")
	}

	require.Equal(t, 5.0, testutil.ToFloat64(c.exchange.producers.WithLabelValues("ok")))
	require.Equal(t, 1500.0, testutil.ToFloat64(c.exchange.rows))
	files := len(parts[1][0]) + len(parts[1][2])
	for _, fs := range parts[0] {
		files += len(fs)
	}
	require.Equal(t, float64(files), testutil.ToFloat64(c.exchange.files))
	require.Positive(t, testutil.ToFloat64(c.exchange.bytes))
	marker, err := wh.Get(ctx, "_spool/q1/.created")
	require.NoError(t, err)
	at, err := time.Parse(time.RFC3339Nano, string(marker))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), at, time.Minute)

	t.Run("once per query until released", func(t *testing.T) {
		_, err := c.Exchange(ctx, Job{QueryID: "q1", Args: []fragwire.Arg{limit}}, plan.Next())
		require.ErrorContains(t, err, "Release it first")
	})
	t.Run("release removes everything", func(t *testing.T) {
		require.NoError(t, c.Release(ctx, "q1"))
		_, err := os.Stat(filepath.Join(dir, "_spool", "q1"))
		require.ErrorIs(t, err, os.ErrNotExist)
		left, err := wh.List(ctx, "_spool/")
		require.NoError(t, err)
		require.Empty(t, left)
		require.NoError(t, c.Release(ctx, "q1"), "again")
		require.NoError(t, c.Release(ctx, "never-ran"))
		// Released, the query id may be used again.
		_, err = c.Exchange(ctx, Job{QueryID: "q1", Args: []fragwire.Arg{limit}}, plan.Next())
		require.NoError(t, err)
		require.NoError(t, c.Release(ctx, "q1"))
	})
	t.Run("a plan without exchanges", func(t *testing.T) {
		parts, err := c.Exchange(ctx, Job{QueryID: "q2"}, (&planner.Plan{Fragments: make([]planner.Fragment, 2)}).Next())
		require.NoError(t, err)
		require.Nil(t, parts)
		left, err := wh.List(ctx, "_spool/")
		require.NoError(t, err)
		require.Empty(t, left, "nothing is written")
	})
}

// TestExchangeRetry: a producer whose worker fails after its COPY wrote
// the files is run again on the other worker, into a directory of its
// own, and only that attempt's files are returned.
func TestExchangeRetry(t *testing.T) {
	for _, mode := range []string{"error", "die"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			// The first DoGet on bad runs its COPY, then fails before the
			// result (the file list) reaches the coordinator.
			bad := startWorker(t, e.signer, 0, &fault{after: 0, mode: mode, times: 1})
			good := startWorker(t, e.signer, 0, nil)
			require.NoError(t, e.pool.Set([]string{bad.addr, good.addr}))
			wh, dir := localSpool(t)
			c := e.coordinator(Options{Spool: wh, Parallelism: 1})
			plan := exchangePlan(3, rangeProducers(1000, 2, "hash(i) % 3", bad.addr, good.addr))
			parts, err := c.Exchange(context.Background(), Job{QueryID: "q"}, plan.Next())
			require.NoError(t, err)

			failed, err := filepath.Glob(filepath.Join(dir, "_spool", "q", "x0-f0-a1", "quiver_part=*", "*.parquet"))
			require.NoError(t, err)
			require.NotEmpty(t, failed, "the failed attempt wrote files")
			var total int
			for _, files := range parts[0] {
				for _, f := range files {
					require.NotContains(t, f, "x0-f0-a1", "a failed attempt's file is never returned")
				}
				total += len(readPart(t, e.db, files))
			}
			require.Equal(t, 1000, total, "no row lost or doubled")
			require.Contains(t, strings.Join(parts[0][0], " ")+strings.Join(parts[0][1], " ")+strings.Join(parts[0][2], " "), "x0-f0-a2")
			require.Equal(t, 1.0, testutil.ToFloat64(c.retries))
			require.Equal(t, 2.0, testutil.ToFloat64(c.exchange.producers.WithLabelValues("ok")))

			require.NoError(t, c.Release(context.Background(), "q"))
			_, err = os.Stat(filepath.Join(dir, "_spool", "q"))
			require.ErrorIs(t, err, os.ErrNotExist, "the failed attempt goes with the query")
		})
	}
}

func TestExchangeErrors(t *testing.T) {
	e := newEnv(t)
	w := startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{w.addr}))
	wh, _ := localSpool(t)
	ctx := context.Background()
	endless := planner.Fragment{SQL: "SELECT i AS k, 0 AS quiver_part FROM range(1000000000000) t(i) WHERE i % 7 = 99"}

	t.Run("no spool", func(t *testing.T) {
		c := e.coordinator(Options{})
		_, err := c.Exchange(ctx, Job{QueryID: "q"}, exchangePlan(2, rangeProducers(10, 1, "0")).Next())
		require.ErrorIs(t, err, ErrNoSpool)
	})
	t.Run("cancel stops the producers", func(t *testing.T) {
		c := e.coordinator(Options{Spool: wh, Parallelism: 4})
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Exchange(ctx, Job{QueryID: "q-cancel"}, exchangePlan(2, []planner.Fragment{endless, endless}).Next())
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 10*time.Second)
		require.Equal(t, 2.0, testutil.ToFloat64(c.exchange.producers.WithLabelValues("canceled")))
		require.NoError(t, c.Release(context.Background(), "q-cancel"))
	})
	t.Run("a failing producer cancels the others", func(t *testing.T) {
		c := e.coordinator(Options{Spool: wh, Parallelism: 4})
		start := time.Now()
		_, err := c.Exchange(ctx, Job{QueryID: "q-fail"}, exchangePlan(2, []planner.Fragment{endless}, []planner.Fragment{{SQL: "SELECT nope AS k, 0 AS quiver_part"}}).Next())
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "exchange 1 producer 0")
		require.Less(t, time.Since(start), 10*time.Second, "the endless producer was canceled")
		require.NoError(t, c.Release(ctx, "q-fail"))
	})
	t.Run("a part out of range", func(t *testing.T) {
		c := e.coordinator(Options{Spool: wh})
		before := w.dogets.Load()
		_, err := c.Exchange(ctx, Job{QueryID: "q-range"}, exchangePlan(4, rangeProducers(10, 1, "7")).Next())
		require.ErrorContains(t, err, `quiver_part = "7", want 0 to 3`)
		require.Equal(t, before+1, w.dogets.Load(), "not retried")
		_, err = c.Exchange(ctx, Job{QueryID: "q-null"}, exchangePlan(4, rangeProducers(10, 1, "NULL::BIGINT")).Next())
		require.ErrorContains(t, err, "want 0 to 3")
		require.NoError(t, c.Release(ctx, "q-range"))
		require.NoError(t, c.Release(ctx, "q-null"))
	})
	t.Run("a query id that is no directory name", func(t *testing.T) {
		c := e.coordinator(Options{Spool: wh})
		for _, id := range []string{"", "..", "a/b", ".hidden"} {
			_, err := c.Exchange(ctx, Job{QueryID: id}, exchangePlan(2, rangeProducers(10, 1, "0")).Next())
			require.ErrorContains(t, err, "cannot name a spool directory", id)
		}
	})
	left, err := wh.List(ctx, "_spool/")
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestSweepSpool(t *testing.T) {
	e := newEnv(t)
	w := startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{w.addr}))
	wh, _ := localSpool(t)
	c := e.coordinator(Options{Spool: wh})
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339Nano)

	// A live query of this coordinator, whose marker looks old.
	_, err := c.Exchange(ctx, Job{QueryID: "live"}, exchangePlan(2, rangeProducers(10, 1, "i % 2")).Next())
	require.NoError(t, err)
	require.NoError(t, wh.Put(ctx, "_spool/live/.created", []byte(old)))
	// What crashed coordinators left, and a young query of another one.
	put := func(key, data string) { require.NoError(t, wh.Put(ctx, key, []byte(data))) }
	put("_spool/old/.created", old)
	put("_spool/old/x0-f0-a1/quiver_part=0/data_0.parquet", "x")
	put("_spool/young/.created", time.Now().UTC().Format(time.RFC3339Nano))
	put("_spool/young/x0-f0-a1/quiver_part=0/data_0.parquet", "x")
	put("_spool/nomarker/x0-f0-a1/quiver_part=0/data_0.parquet", "x")
	put("_spool/garbage/.created", "yesterday")
	put("_spool/stray-file", "x")

	n, err := c.SweepSpool(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 3.0, testutil.ToFloat64(c.exchange.swept))
	objs, err := wh.List(ctx, "_spool/")
	require.NoError(t, err)
	var dirs []string
	for _, o := range objs {
		if q, _, ok := strings.Cut(strings.TrimPrefix(o.Key, "_spool/"), "/"); ok && (len(dirs) == 0 || dirs[len(dirs)-1] != q) {
			dirs = append(dirs, q)
		}
	}
	require.Equal(t, []string{"live", "young"}, dirs)
	marker, err := wh.Get(ctx, "_spool/live/.created")
	require.NoError(t, err)
	at, err := time.Parse(time.RFC3339Nano, string(marker))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), at, time.Minute, "a live query's marker is refreshed")

	// Once released, a query is gone and nothing is refreshed back.
	require.NoError(t, c.Release(ctx, "live"))
	n, err = c.SweepSpool(ctx, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = wh.Get(ctx, "_spool/live/.created")
	require.ErrorIs(t, err, storage.ErrObjectNotFound)

	t.Run("the sweeper runs until stopped", func(t *testing.T) {
		put("_spool/old2/.created", old)
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); c.RunSpoolSweeper(ctx, time.Hour) }()
		require.Eventually(t, func() bool {
			_, err := wh.Get(context.Background(), "_spool/old2/.created")
			return err != nil
		}, 10*time.Second, 10*time.Millisecond, "swept at start")
		cancel()
		<-done
	})
	require.Equal(t, 5*time.Minute, SweepInterval(time.Hour))
	require.Equal(t, 30*time.Second, SweepInterval(time.Minute))
}

// startSandboxedWorker serves a worker whose DuckDB is opened with opts
// (a sandbox, S3), as `quiver worker` opens it; it returns the database too.
func startSandboxedWorker(t *testing.T, signer *fragwire.Signer, opts engine.Options) (*testWorker, *engine.DB) {
	t.Helper()
	db, err := engine.Open(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	w := &testWorker{addr: lis.Addr().String(), gs: gs}
	flight.RegisterFlightServiceServer(gs, worker.NewServer(worker.ServerOptions{DB: db, Signer: signer}))
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(lis)
	t.Cleanup(w.stop)
	return w, db
}

// TestExchangeS3 runs an exchange into a spool in MinIO through sandboxed
// workers: s3:// parts, snappy files, and a Release that deletes them.
func TestExchangeS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	extDir := harness.ExtensionDir(t)
	minio := harness.StartMinIO(t)
	ctx := context.Background()
	require.NoError(t, minio.CreateBucket(ctx, "lake"))
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": harness.MinIOUser, "AWS_SECRET_ACCESS_KEY": harness.MinIOPassword, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "credentials"),
	} {
		t.Setenv(k, v)
	}
	wh, err := storage.Open(ctx, "s3://lake/wh", storage.Options{S3Endpoint: minio.Endpoint()})
	require.NoError(t, err)

	e := newEnv(t)
	w, db := startSandboxedWorker(t, e.signer, engine.Options{
		Threads: 1, LoadHTTPFS: true, ExtensionDir: extDir,
		S3: &engine.S3Config{Endpoint: minio.Endpoint(), Region: "us-east-1", PathStyle: true,
			AccessKeyID: harness.MinIOUser, SecretAccessKey: harness.MinIOPassword, Scope: "s3://lake/wh"},
		Sandbox: &engine.Sandbox{AllowedDirectories: []string{"s3://lake/wh"}},
	})
	require.NoError(t, e.pool.Set([]string{w.addr}))
	c := e.coordinator(Options{Spool: wh})

	parts, err := c.Exchange(ctx, Job{QueryID: "q"}, exchangePlan(3, rangeProducers(1000, 2, "hash(i) % 3")).Next())
	require.NoError(t, err)
	total := 0
	for p, files := range parts[0] {
		for _, f := range files {
			require.True(t, strings.HasPrefix(f, "s3://lake/wh/_spool/q/x0-f"), f)
			var codec string
			require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT any_value(compression) FROM parquet_metadata("+engine.QuoteString(f)+")").Scan(&codec))
			require.Equal(t, "SNAPPY", codec)
		}
		for _, k := range readPart(t, db, files) {
			require.Equal(t, p, partOf(t, e.db, k, 3))
			total++
		}
	}
	require.Equal(t, 1000, total)

	require.NoError(t, c.Release(ctx, "q"))
	left, err := wh.List(ctx, "_spool/")
	require.NoError(t, err)
	require.Empty(t, left)
}

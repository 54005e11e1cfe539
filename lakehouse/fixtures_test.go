package lakehouse

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quiver-data/quiver/e2e/harness"
)

// The Iceberg fixtures (testdata/iceberg): a local SQL catalog and a REST
// catalog over MinIO, each generated once per test binary (they take 10–20
// s) and shared by every test; TestMain stops them.
var shared = &fixtureTB{}

// TestMain runs the tests, then stops the shared fixtures and checks that
// nothing the package started is still running.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fixture is one generated catalog of Iceberg tables and the Spec that
// opens it as Quiver catalog name.
type fixture struct {
	name     string // sqlite or rest
	catalog  string // the Quiver catalog name
	spec     Spec
	s3       S3
	manifest *harness.IcebergManifest
	minio    *harness.MinIO // rest only
}

// open opens the fixture's catalog alone.
func (fx *fixture) open(t *testing.T) *Catalogs {
	t.Helper()
	c, err := Open(t.Context(), []Spec{fx.spec}, Options{S3: fx.s3})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// read returns the bytes of the data or delete file at uri (a local path,
// or s3:// in the fixture's MinIO).
func (fx *fixture) read(t *testing.T, uri string) []byte {
	t.Helper()
	if !strings.HasPrefix(uri, "s3://") {
		data, err := os.ReadFile(uri)
		require.NoError(t, err)
		return data
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	out, err := fx.minio.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return data
}

var (
	fixturesOnce sync.Once
	fixtureList  []*fixture
	fixtureErr   [2]*fixtureTB
)

// fixtures returns both fixtures, generating them (in parallel) the first
// time; a test is skipped when the tools are missing and fails when the
// generation failed.
func fixtures(t *testing.T) []*fixture {
	t.Helper()
	fixturesOnce.Do(func() {
		fixtureList = make([]*fixture, 2)
		var wg sync.WaitGroup
		for i, mk := range []func(tb *fixtureTB) *fixture{sqliteFixture, restFixture} {
			tb := shared.sub(fmt.Sprintf("fixture %d", i))
			fixtureErr[i] = tb
			wg.Go(func() { tb.run(func() { fixtureList[i] = mk(tb) }) })
		}
		wg.Wait()
	})
	for _, tb := range fixtureErr {
		tb.report(t)
	}
	return fixtureList
}

// sqliteFixture generates the tables into a local SQL catalog.
func sqliteFixture(tb *fixtureTB) *fixture {
	m := harness.MakeIcebergTables(tb, harness.IcebergTarget{})
	return &fixture{name: "sqlite", catalog: "ice", manifest: m, spec: Spec{
		Name: "ice", URI: "sqlite:" + m.CatalogDB, Warehouse: m.WarehouseDir, SQLCatalogName: m.SQLCatalogName,
	}}
}

// restFixture starts MinIO and the REST catalog and generates the tables
// into it, under s3://iceberg/wh.
func restFixture(tb *fixtureTB) *fixture {
	const bucket = "iceberg"
	harness.IcebergJar(tb) // skip before starting anything when it is missing
	harness.IcebergPython(tb)
	m := harness.StartMinIO(tb)
	if err := m.CreateBucket(context.Background(), bucket); err != nil {
		tb.Fatalf("%v", err)
	}
	rest := harness.StartIcebergREST(tb, m, bucket)
	man := harness.MakeIcebergTables(tb, harness.IcebergTarget{REST: rest, Prefix: "wh"})
	return &fixture{name: "rest", catalog: "rest", manifest: man, minio: m,
		spec: Spec{Name: "rest", URI: rest.URI()},
		s3: S3{Endpoint: m.Endpoint(), Region: harness.S3Region, PathStyle: true,
			AccessKeyID: harness.MinIOUser, SecretAccessKey: harness.MinIOPassword},
	}
}

// fixtureTB is the testing.TB shared fixtures are made with: they outlive
// the test that first needs them, so their cleanups run in TestMain, and a
// failure or skip is reported to every test that uses them. The embedded
// TB is nil: a method the harness calls that is not defined here panics.
type fixtureTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	logs     strings.Builder
	failed   bool
	skip     string
	children []*fixtureTB
	dirs     []string
}

// sub is a fixtureTB whose cleanups run when tb's do.
func (tb *fixtureTB) sub(name string) *fixtureTB {
	c := &fixtureTB{name: name}
	tb.mu.Lock()
	tb.children = append(tb.children, c)
	tb.mu.Unlock()
	return c
}

// run runs f as a test body: Fatal and Skip end it.
func (tb *fixtureTB) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// report fails or skips t as the fixture's making did.
func (tb *fixtureTB) report(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.failed {
		t.Fatalf("%s failed:\n%s", tb.name, tb.logs.String())
	}
	if tb.skip != "" {
		t.Skip(tb.skip)
	}
}

// cleanup runs the cleanups, last first, children before parents.
func (tb *fixtureTB) cleanup() {
	tb.mu.Lock()
	children, cleanups, dirs := tb.children, tb.cleanups, tb.dirs
	tb.children, tb.cleanups, tb.dirs = nil, nil, nil
	tb.mu.Unlock()
	for _, c := range children {
		c.cleanup()
	}
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

func (tb *fixtureTB) Helper()      {}
func (tb *fixtureTB) Name() string { return tb.name }
func (tb *fixtureTB) Cleanup(f func()) {
	tb.mu.Lock()
	tb.cleanups = append(tb.cleanups, f)
	tb.mu.Unlock()
}

func (tb *fixtureTB) TempDir() string {
	d, err := os.MkdirTemp("", "lakehouse-fixture-")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.mu.Lock()
	tb.dirs = append(tb.dirs, d)
	tb.mu.Unlock()
	return d
}

func (tb *fixtureTB) Logf(format string, args ...any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	fmt.Fprintf(&tb.logs, format+"\n", args...)
}
func (tb *fixtureTB) Log(args ...any) { tb.Logf("%s", fmt.Sprint(args...)) }

func (tb *fixtureTB) Errorf(format string, args ...any) {
	tb.Logf(format, args...)
	tb.mu.Lock()
	tb.failed = true
	tb.mu.Unlock()
}
func (tb *fixtureTB) Error(args ...any) { tb.Errorf("%s", fmt.Sprint(args...)) }
func (tb *fixtureTB) Fail()             { tb.Errorf("failed") }
func (tb *fixtureTB) FailNow()          { tb.Fail(); runtime.Goexit() }
func (tb *fixtureTB) Failed() bool      { tb.mu.Lock(); defer tb.mu.Unlock(); return tb.failed }

func (tb *fixtureTB) Fatalf(format string, args ...any) { tb.Errorf(format, args...); runtime.Goexit() }
func (tb *fixtureTB) Fatal(args ...any)                 { tb.Fatalf("%s", fmt.Sprint(args...)) }

func (tb *fixtureTB) Skipf(format string, args ...any) {
	tb.mu.Lock()
	tb.skip = fmt.Sprintf(format, args...)
	tb.mu.Unlock()
	runtime.Goexit()
}
func (tb *fixtureTB) Skip(args ...any) { tb.Skipf("%s", fmt.Sprint(args...)) }
func (tb *fixtureTB) SkipNow()         { tb.Skipf("skipped") }
func (tb *fixtureTB) Skipped() bool    { tb.mu.Lock(); defer tb.mu.Unlock(); return tb.skip != "" }

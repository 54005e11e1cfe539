package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Iceberg fixtures (testdata/iceberg/README.md): a real REST catalog
// (Iceberg's own RESTCatalogServer, a JDBC catalog in a sqlite file, tables
// in MinIO) and the generator that fills it, or a local SQL catalog, with
// namespace lake and a manifest of the tables' snapshots and the answers
// the generator computed from its own model of the rows.

// IcebergREST is a running Iceberg REST catalog server whose warehouse is
// a MinIO bucket. It binds every interface (the server has no host option)
// on a free port.
type IcebergREST struct {
	port   int
	proc   *process
	minio  *MinIO
	bucket string
}

// icebergTool resolves a tool of the Iceberg fixtures like toolPath, but a
// missing tool fails the test when CI=true: CI installs every tool through
// `make tools`, so there a skip would hide a broken install.
func icebergTool(t testing.TB, envVar, fallback string) string {
	t.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		p = filepath.Join(RepoRoot(t), fallback)
	}
	if _, err := os.Stat(p); err != nil {
		missingIcebergTool(t, fmt.Sprintf("%s not found at %s (set %s or run `make iceberg-tools`)", filepath.Base(fallback), p, envVar))
	}
	return p
}

func missingIcebergTool(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s", msg)
	}
	t.Skipf("%s", msg)
}

// IcebergJar returns the REST catalog jar: $QUIVER_ICEBERG_JAR or
// <repo>/.tools/iceberg/iceberg-open-api-1.10.0.jar.
func IcebergJar(t testing.TB) string {
	t.Helper()
	return icebergTool(t, "QUIVER_ICEBERG_JAR", ".tools/iceberg/iceberg-open-api-1.10.0.jar")
}

// IcebergWriterDir returns the compiled delete-file writer the generator
// runs: $QUIVER_ICEBERG_WRITER or <repo>/.tools/iceberg-writer.
func IcebergWriterDir(t testing.TB) string {
	t.Helper()
	dir := icebergTool(t, "QUIVER_ICEBERG_WRITER", ".tools/iceberg-writer")
	if _, err := os.Stat(filepath.Join(dir, "classes", "DeleteWriter.class")); err != nil {
		missingIcebergTool(t, fmt.Sprintf("DeleteWriter.class not found in %s (run `make iceberg-tools`)", dir))
	}
	return dir
}

// IcebergPython returns the test venv's python with pyiceberg installed:
// $QUIVER_PYTHON or <repo>/.venv/bin/python.
func IcebergPython(t testing.TB) string {
	t.Helper()
	py := icebergTool(t, "QUIVER_PYTHON", ".venv/bin/python")
	if out, err := exec.Command(py, "-c", "import pyiceberg, pyiceberg_core").CombinedOutput(); err != nil {
		missingIcebergTool(t, fmt.Sprintf("%s cannot import pyiceberg (run `make iceberg-tools`): %v\n%s", py, err, out))
	}
	return py
}

func requireJava(t testing.TB) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		missingIcebergTool(t, "java not found: the Iceberg fixtures need Java 17 or newer")
	}
	return java
}

// StartIcebergREST starts the Iceberg REST catalog on a free port with its
// JDBC catalog in a sqlite file under t.TempDir() and its warehouse at
// s3://bucket/ in minio (the bucket must exist), and waits until GET
// /v1/config answers. The server is stopped in t.Cleanup, and its output
// logged when the test failed.
func StartIcebergREST(t testing.TB, minio *MinIO, bucket string) *IcebergREST {
	t.Helper()
	jar := IcebergJar(t)
	java := requireJava(t)
	port := FreePort(t)
	env := append(minio.Env(),
		"CATALOG_REST_PORT="+strconv.Itoa(port),
		"CATALOG_WAREHOUSE=s3://"+bucket+"/",
		"CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO",
		"CATALOG_S3_ENDPOINT="+minio.Endpoint(),
		"CATALOG_S3_PATH__STYLE__ACCESS=true",
		"CATALOG_URI=jdbc:sqlite:file:"+filepath.Join(t.TempDir(), "catalog.db"),
		"CATALOG_JDBC_USER=user",
		"CATALOG_JDBC_PASSWORD=password",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	start := time.Now()
	proc, err := startProcess("iceberg-rest", java, []string{"-XX:+UseSerialGC", "-jar", jar}, env)
	if err != nil {
		t.Fatalf("%v", err)
	}
	r := &IcebergREST{port: port, proc: proc, minio: minio, bucket: bucket}
	t.Cleanup(func() {
		if err := proc.stop(10 * time.Second); err != nil {
			t.Logf("stop iceberg rest: %v", err)
		}
		if t.Failed() {
			t.Logf("iceberg rest output:\n%s", proc.logs.String())
		}
	})
	client := &http.Client{Timeout: time.Second}
	err = PollFor(60*time.Second, 100*time.Millisecond, func() error {
		if proc.exited() {
			return Permanent(fmt.Errorf("exited before it was ready: %v", proc.exitError()))
		}
		resp, err := client.Get(r.URI() + "/v1/config")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("config: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("iceberg rest catalog not ready within 60s: %v\n%s", err, proc.logs.String())
	}
	t.Logf("iceberg rest catalog ready at %s in %s", r.URI(), time.Since(start).Round(time.Millisecond))
	return r
}

// URI is the catalog's base URI, http://127.0.0.1:PORT (the REST paths
// start with /v1).
func (r *IcebergREST) URI() string {
	return "http://127.0.0.1:" + strconv.Itoa(r.port)
}

// MinIO is the S3 server holding the catalog's warehouse.
func (r *IcebergREST) MinIO() *MinIO { return r.minio }

// Warehouse is the catalog's warehouse, s3://bucket/.
func (r *IcebergREST) Warehouse() string { return "s3://" + r.bucket + "/" }

// IcebergTarget says where MakeIcebergTables writes: to a REST catalog
// (tables under s3://bucket/Prefix/lake/…), or, when REST is nil, to a
// local SQL catalog Dir/catalog.db over the warehouse directory
// Dir/warehouse.
type IcebergTarget struct {
	REST   *IcebergREST
	Prefix string // under the REST catalog's bucket; "fixtures" when empty
	Dir    string // the SQL catalog's directory; t.TempDir() when empty
}

// IcebergManifest is what the generator (testdata/iceberg/make_tables.py)
// wrote: the tables, their snapshots in commit order and the expected
// answers of their queries, computed from the generator's model of the rows.
type IcebergManifest struct {
	Version        int                     `json:"version"`
	Catalog        string                  `json:"catalog"`          // "rest" or "sql"
	SQLCatalogName string                  `json:"sql_catalog_name"` // the catalog_name column of a SQL catalog
	Namespace      string                  `json:"namespace"`
	EmptyNamespace string                  `json:"empty_namespace"` // a namespace without tables
	Warehouse      string                  `json:"warehouse"`       // s3://… or file:///…
	Seconds        float64                 `json:"generated_seconds"`
	JavaSeconds    float64                 `json:"java_seconds"`
	Tables         map[string]IcebergTable `json:"tables"` // by table name, without the namespace

	// Set by MakeIcebergTables for a SQL catalog: the sqlite file and the
	// warehouse directory.
	CatalogDB    string `json:"-"`
	WarehouseDir string `json:"-"`
}

// IcebergTable is one table of the manifest.
type IcebergTable struct {
	Identifier        string              `json:"identifier"` // lake.<name>
	Location          string              `json:"location"`
	MetadataLocation  string              `json:"metadata_location"`
	FormatVersion     int                 `json:"format_version"`
	Exercises         string              `json:"exercises"`
	CurrentSnapshotID int64               `json:"current_snapshot_id"`
	Snapshots         []IcebergSnapshot   `json:"snapshots"`
	SchemaFields      []IcebergField      `json:"schema_fields"`
	PartitionSpecs    []IcebergSpec       `json:"partition_specs"`
	DeleteFiles       []IcebergDeleteFile `json:"delete_files"` // every delete file committed, also replaced ones
	Queries           []IcebergQuery      `json:"queries"`
}

// IcebergSnapshot is one snapshot, with the rows live after it.
type IcebergSnapshot struct {
	SnapshotID     int64  `json:"snapshot_id"`
	SequenceNumber int64  `json:"sequence_number"`
	TimestampMS    int64  `json:"timestamp_ms"`
	Operation      string `json:"operation"` // "append" or "delete"
	Note           string `json:"note"`
	RowCount       int64  `json:"row_count"`
	SumID          int64  `json:"sum_id"` // sum of the id column
}

// Timestamp is the snapshot's commit time.
func (s IcebergSnapshot) Timestamp() time.Time { return time.UnixMilli(s.TimestampMS).UTC() }

// IcebergField is a column of the current schema.
type IcebergField struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// IcebergSpec is a partition spec; a table that evolved has several.
type IcebergSpec struct {
	SpecID int `json:"spec_id"`
	Fields []struct {
		Name      string `json:"name"`
		Transform string `json:"transform"`
		SourceID  int    `json:"source_id"`
		FieldID   int    `json:"field_id"`
	} `json:"fields"`
}

// IcebergDeleteFile is a delete file the Java writer committed.
type IcebergDeleteFile struct {
	Path               string `json:"path"`
	Content            string `json:"content"` // POSITION_DELETES or EQUALITY_DELETES
	Format             string `json:"format"`  // PARQUET, or PUFFIN for a deletion vector
	RecordCount        int64  `json:"record_count"`
	ReferencedDataFile string `json:"referenced_data_file"` // deletion vectors only
}

// IcebergQuery is a query over one table and its expected rows. Rows hold
// json.Number for numbers (exact for 64-bit integers), strings for
// decimals, dates (2024-01-31) and timestamps (ISO 8601, +00:00 for
// timestamptz), bools and nil.
type IcebergQuery struct {
	Name       string  `json:"name"`
	SQL        string  `json:"sql"`         // {table} stands for the table
	SnapshotID *int64  `json:"snapshot_id"` // nil: the current snapshot
	Rows       [][]any `json:"rows"`
}

// SQLFor is the query with {table} replaced by table (a qualified name,
// or a time-travel reference to it).
func (q IcebergQuery) SQLFor(table string) string {
	return strings.ReplaceAll(q.SQL, "{table}", table)
}

// Query returns the table's query called name, failing the test when
// there is none.
func (tb IcebergTable) Query(t testing.TB, name string) IcebergQuery {
	t.Helper()
	for _, q := range tb.Queries {
		if q.Name == name {
			return q
		}
	}
	t.Fatalf("table %s has no query %q", tb.Identifier, name)
	return IcebergQuery{}
}

// MakeIcebergTables runs testdata/iceberg/make_tables.py against the
// target and returns its manifest. It takes about 20 s against a REST
// catalog and 10 s against a SQL catalog.
func MakeIcebergTables(t testing.TB, target IcebergTarget) *IcebergManifest {
	t.Helper()
	py := IcebergPython(t)
	writer := IcebergWriterDir(t)
	requireJava(t)
	out := filepath.Join(t.TempDir(), "manifest.json")
	args := []string{filepath.Join(RepoRoot(t), "testdata", "iceberg", "make_tables.py"), "--manifest", out}
	env := []string{"QUIVER_ICEBERG_WRITER=" + writer, "AWS_EC2_METADATA_DISABLED=true"}
	var catalogDB, warehouseDir string
	if target.REST != nil {
		prefix := target.Prefix
		if prefix == "" {
			prefix = "fixtures"
		}
		args = append(args, "--rest-uri", target.REST.URI(), "--s3-endpoint", target.REST.minio.Endpoint(),
			"--warehouse", "s3://"+target.REST.bucket+"/"+prefix)
		env = append(env, target.REST.minio.Env()...)
	} else {
		dir := target.Dir
		if dir == "" {
			dir = t.TempDir()
		}
		catalogDB = filepath.Join(dir, "catalog.db")
		warehouseDir = filepath.Join(dir, "warehouse")
		args = append(args, "--sql-catalog", "sqlite:"+catalogDB, "--warehouse", warehouseDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("make_tables.py %s: %v\n%s", strings.Join(args[1:], " "), err, logs.String())
	}
	m, err := readIcebergManifest(out)
	if err != nil {
		t.Fatalf("%v", err)
	}
	m.CatalogDB, m.WarehouseDir = catalogDB, warehouseDir
	t.Logf("iceberg tables (%s catalog) written in %s (Java %.1fs)", m.Catalog,
		time.Since(start).Round(time.Millisecond), m.JavaSeconds)
	return m
}

func readIcebergManifest(path string) (*IcebergManifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read iceberg manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m IcebergManifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode iceberg manifest %s: %w", path, err)
	}
	if m.Version != 1 || len(m.Tables) == 0 {
		return nil, fmt.Errorf("iceberg manifest %s: version %d with %d tables", path, m.Version, len(m.Tables))
	}
	return &m, nil
}

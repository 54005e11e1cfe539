package harness

import (
	"debug/buildinfo"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RepoRoot returns the directory holding the module's go.mod, found by walking
// up from the working directory (a test runs in its package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// toolPath resolves a tool from an environment variable or a path relative to
// the repository root, and skips the test with a hint when it is absent.
func toolPath(t testing.TB, envVar, fallback, hint string) string {
	t.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		p = filepath.Join(RepoRoot(t), fallback)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found at %s (set %s or run `%s`)", filepath.Base(fallback), p, envVar, hint)
	}
	return p
}

// QuiverBin returns the quiver binary the tests run: the test binary
// (built with the quivertest tag, which adds the QUIVER_TEST_* hooks) when
// there is one, $QUIVER_TEST_BIN or <repo>/bin/quiver-test; else the
// release binary, $QUIVER_BIN or <repo>/bin/quiver. Tests that use a hook
// call RequireTestHooks.
func QuiverBin(t testing.TB) string {
	t.Helper()
	if os.Getenv("QUIVER_TEST_BIN") != "" {
		return toolPath(t, "QUIVER_TEST_BIN", "bin/quiver-test", "make build-test")
	}
	if p := filepath.Join(RepoRoot(t), "bin", "quiver-test"); fileExists(p) {
		return p
	}
	return ReleaseBin(t)
}

// ReleaseBin returns the release quiver binary, the one users run:
// $QUIVER_BIN or <repo>/bin/quiver.
func ReleaseBin(t testing.TB) string {
	t.Helper()
	return toolPath(t, "QUIVER_BIN", "bin/quiver", "make build")
}

// RequireTestHooks skips the test unless QuiverBin was built with the
// quivertest tag: the release binary ignores every QUIVER_TEST_* variable.
func RequireTestHooks(t testing.TB) {
	t.Helper()
	bin := QuiverBin(t)
	if !HasTestHooks(t, bin) {
		t.Skipf("%s has no test hooks (build it with `make build-test` and set QUIVER_TEST_BIN)", bin)
	}
}

// HasTestHooks reports whether the Go binary bin was built with the
// quivertest tag, from the build settings the Go toolchain records in it.
func HasTestHooks(t testing.TB, bin string) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	require.NoError(t, err, "read build info of %s", bin)
	for _, s := range info.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "quivertest") {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// MinIOBin returns the MinIO binary: $QUIVER_MINIO_BIN or <repo>/.tools/bin/minio.
func MinIOBin(t testing.TB) string {
	t.Helper()
	return toolPath(t, "QUIVER_MINIO_BIN", ".tools/bin/minio", "make tools")
}

// ExtensionDir returns the DuckDB extension directory holding
// v1.5.5/linux_amd64/httpfs.duckdb_extension: $QUIVER_EXTENSION_DIR or
// <repo>/.tools/duckdb-extensions.
func ExtensionDir(t testing.TB) string {
	t.Helper()
	dir := toolPath(t, "QUIVER_EXTENSION_DIR", ".tools/duckdb-extensions", "make tools")
	if _, err := os.Stat(HTTPFSPath(dir)); err != nil {
		t.Skipf("httpfs extension not found at %s (run `make tools`)", HTTPFSPath(dir))
	}
	return dir
}

// HTTPFSPath is where the pinned httpfs extension lives inside an extension
// directory.
func HTTPFSPath(extensionDir string) string {
	return filepath.Join(extensionDir, "v"+DuckDBVersion, "linux_amd64", "httpfs.duckdb_extension")
}

// DuckDBVersion is the engine version duckdb-go links and the httpfs
// extension must match.
const DuckDBVersion = "1.5.5"

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: it
// listens on :0, closes the listener and hands the port out for reuse.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// ClosedAddr returns "127.0.0.1:PORT" for a port nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

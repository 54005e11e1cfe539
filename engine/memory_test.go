package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quiver-data/quiver/errkind"
	"github.com/stretchr/testify/require"
)

const fixtureHostRAM = 16384000 << 10 // MemTotal of every fixture's /proc/meminfo

func TestDetectMemory(t *testing.T) {
	cases := []struct {
		name   string
		bytes  int64
		source string
	}{
		{"v2", 2 << 30, "cgroup v2 /sys/fs/cgroup/memory.max"},
		{"v2-max", fixtureHostRAM, "host RAM /proc/meminfo, no cgroup memory limit"},
		// memory.high on the container (768 MiB) is tighter than the pod's memory.max (1 GiB).
		{"v2-nested", 768 << 20, "cgroup v2 /sys/fs/cgroup/kubepods.slice/pod1234.slice/cri-abc.scope/memory.high"},
		{"v1", 512 << 20, "cgroup v1 /sys/fs/cgroup/memory/quiver/memory.limit_in_bytes"},
		{"v1-unlimited", fixtureHostRAM, "host RAM /proc/meminfo, no cgroup memory limit"},
		{"v1-docker", 256 << 20, "cgroup v1 /sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{"v2-above-host", fixtureHostRAM, "host RAM /proc/meminfo, below the cgroup v2 /sys/fs/cgroup/memory.max of 64.0 GiB"},
		{"none", fixtureHostRAM, "host RAM /proc/meminfo, no cgroup memory limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DetectMemory(filepath.Join("testdata", "cgroup", tc.name))
			require.NoError(t, err)
			require.Equal(t, tc.bytes, b.Bytes)
			require.Equal(t, tc.source, b.Source)
		})
	}
}

func TestDetectMemoryErrors(t *testing.T) {
	t.Run("no meminfo and no cgroup", func(t *testing.T) {
		_, err := DetectMemory(t.TempDir())
		require.ErrorContains(t, err, "set the memory limit explicitly")
	})
	t.Run("garbage in a limit file", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, "proc/self/cgroup", "0::/\n")
		write(t, root, "proc/self/mountinfo", "25 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
		write(t, root, "sys/fs/cgroup/memory.max", "lots\n")
		_, err := DetectMemory(root)
		require.ErrorContains(t, err, `"lots" is not a number of bytes`)
	})
	t.Run("cgroup limit without meminfo", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, "proc/self/cgroup", "0::/\n")
		write(t, root, "proc/self/mountinfo", "25 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
		write(t, root, "sys/fs/cgroup/memory.max", "1073741824\n")
		b, err := DetectMemory(root)
		require.NoError(t, err)
		require.EqualValues(t, 1<<30, b.Bytes)
	})
}

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestResolveMemoryLimit(t *testing.T) {
	v2 := filepath.Join("testdata", "cgroup", "v2")
	cases := []struct {
		name, setting, root string
		value               string
		bytes               int64
		reason              string
	}{
		{"derived from cgroup v2", "", v2, "1610612736B", 1610612736, "75% of 2.0 GiB (cgroup v2 /sys/fs/cgroup/memory.max)"},
		{"percentage of cgroup v1", "25%", filepath.Join("testdata", "cgroup", "v1"), "134217728B", 128 << 20, "25% of 512.0 MiB (cgroup v1 /sys/fs/cgroup/memory/quiver/memory.limit_in_bytes)"},
		{"host RAM when unlimited", "", filepath.Join("testdata", "cgroup", "v2-max"), "12582912000B", 12582912000,
			"75% of 15.6 GiB (host RAM /proc/meminfo, no cgroup memory limit)"},
		{"explicit", "4GB", v2, "4000000000B", 4_000_000_000, "configured"},
		{"explicit binary units", "512 MiB", v2, "536870912B", 512 << 20, "configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveMemoryLimit(tc.setting, tc.root)
			require.NoError(t, err)
			require.Equal(t, MemoryLimit{Value: tc.value, Bytes: tc.bytes, Reason: tc.reason}, got)
		})
	}
	for _, bad := range []string{"lots", "4 parsecs", "0", "0%", "150%", "-3GB"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := ResolveMemoryLimit(bad, v2)
			require.Error(t, err)
			require.Contains(t, err.Error(), strings.TrimSpace(strings.TrimPrefix(bad, "-")))
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0B": 0, "1024": 1024, "1KB": 1000, "1KiB": 1024, "1.5GB": 1_500_000_000, "2 GiB": 2 << 30, "10gb": 10_000_000_000, "3TiB": 3 << 40,
	} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "GB", "1XB", "1e3", "-1MB"} {
		_, err := ParseSize(bad)
		require.Error(t, err, bad)
	}
}

// TestOpenAppliesMemoryAndSpill checks the settings reach DuckDB before the
// sandbox locks them, and that the sandbox admits the spill directory: a
// query bigger than memory_limit spills there and succeeds.
func TestOpenAppliesMemoryAndSpill(t *testing.T) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "spill")
	db, err := Open(ctx, Options{MemoryLimit: "64MB", TempDirectory: tmp, MaxTempSize: "2GB", Threads: 2, Sandbox: &Sandbox{}})
	require.NoError(t, err)
	defer db.Close()
	r, err := db.Resources(ctx)
	require.NoError(t, err)
	require.Equal(t, Resources{MemoryLimit: "61.0 MiB", TempDirectory: tmp, MaxTempSize: "1.8 GiB", Threads: 2}, r)
	var n, chars int64
	// A sort of ~220 MB of strings: with max_temp_directory_size 0 it fails.
	require.NoError(t, db.SQL().QueryRowContext(ctx,
		"SELECT count(*), sum(length(s)) FROM (SELECT i, i::VARCHAR || repeat('x', 100) AS s FROM range(2000000) t(i) ORDER BY s DESC)").Scan(&n, &chars))
	require.EqualValues(t, 2000000, n)
	require.Positive(t, chars)
	_, err = db.SQL().ExecContext(ctx, "SET memory_limit = '1GB'")
	require.ErrorContains(t, err, "configuration has been locked")
}

// TestOutOfMemoryIsExhausted: with spilling off, a query that does not fit
// is DuckDB's out-of-memory error, classified as errkind.Exhausted.
func TestOutOfMemoryIsExhausted(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{MemoryLimit: "64MB", TempDirectory: t.TempDir(), MaxTempSize: "0B", Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	var n, chars int64
	err = db.SQL().QueryRowContext(ctx,
		"SELECT count(*), sum(length(s)) FROM (SELECT i, string_agg(i::VARCHAR || repeat('x', 100), ',') AS s FROM range(2000000) t(i) GROUP BY i)").Scan(&n, &chars)
	require.Error(t, err)
	require.Equal(t, errkind.Exhausted, Classify(err), "%v", err)
	// The database is still usable.
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM range(1000)").Scan(&n))
	require.EqualValues(t, 1000, n)
}

package resultcache

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// entry is one endpoint of one message of about n bytes.
func entry(n int) *Entry {
	return NewEntry(nil, [][]*flight.FlightData{{{DataBody: make([]byte, n-64)}}})
}

// TestBounds: overfilled, the cache evicts the least recently used
// entries and never holds more than MaxBytes; an entry over
// MaxEntryBytes is not kept.
func TestBounds(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := New(Options{MaxBytes: 10_000, MaxEntryBytes: 3_000, Registerer: reg})
	require.NoError(t, err)
	require.False(t, c.Put("big", entry(3_001)), "over the entry bound")
	for i := range 20 {
		require.True(t, c.Put(fmt.Sprint(i), entry(1_000)))
		if i == 5 {
			_, ok := c.Get("0") // 0 is used again: it outlives 1…
			require.True(t, ok)
		}
		used, _ := c.Stats()
		require.LessOrEqual(t, used, int64(10_000))
	}
	used, n := c.Stats()
	require.Equal(t, int64(10_000), used)
	require.Equal(t, 10, n)
	for i := range 10 {
		_, ok := c.Get(fmt.Sprint(i))
		require.False(t, ok, "%d was evicted", i)
	}
	for i := 10; i < 20; i++ {
		_, ok := c.Get(fmt.Sprint(i))
		require.True(t, ok, "%d is kept", i)
	}
	require.Equal(t, 10.0, testutil.ToFloat64(c.evictions))
	require.Equal(t, 10_000.0, testutil.ToFloat64(c.bytes))
	require.Equal(t, 10.0, testutil.ToFloat64(c.count))
	require.Equal(t, 11.0, testutil.ToFloat64(c.lookups.WithLabelValues(Hit)))
	require.Equal(t, 10.0, testutil.ToFloat64(c.lookups.WithLabelValues(Miss)))

	// A key put twice keeps its first entry.
	first, _ := c.Get("19")
	require.True(t, c.Put("19", entry(2_000)))
	again, _ := c.Get("19")
	require.Same(t, first, again)
	require.Equal(t, int64(1_000), again.Size())
}

func TestDefaultEntryBound(t *testing.T) {
	c, err := New(Options{MaxBytes: 8_000})
	require.NoError(t, err)
	require.Equal(t, int64(1_000), c.MaxEntryBytes())
	require.False(t, c.Put("a", entry(1_001)))
	require.True(t, c.Put("a", entry(1_000)))
}

func TestConcurrent(t *testing.T) {
	c, err := New(Options{MaxBytes: 50_000, Dir: t.TempDir(), MaxDiskBytes: 100_000})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 97)
				if _, ok := c.Get(k); !ok {
					c.Put(k, entry(500+i%500))
				}
			}
		})
	}
	wg.Wait()
	used, _ := c.Stats()
	require.LessOrEqual(t, used, int64(50_000))
	onDisk, _ := c.DiskStats()
	require.LessOrEqual(t, onDisk, int64(100_000))
}

// message is a record-batch-like message whose bytes say which it is.
func message(i int) *flight.FlightData {
	return &flight.FlightData{DataHeader: []byte(fmt.Sprintf("header %d", i)), DataBody: make([]byte, 900+i)}
}

// TestDisk: entries evicted from memory are spilled to the directory,
// come back from it whole (schema and every message, endpoint by
// endpoint) on a hit, and the directory stays within its bound; a new
// cache empties the directory of its files.
func TestDisk(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	c, err := New(Options{MaxBytes: 4_500, MaxEntryBytes: 4_500, Dir: dir, MaxDiskBytes: 6_500, Registerer: reg})
	require.NoError(t, err)
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	entryOf := func(i int) *Entry {
		return NewEntry(schema, [][]*flight.FlightData{{message(i)}, {message(i + 100), {AppMetadata: []byte("meta")}}})
	}
	for i := range 6 { // about 2 KB each: 2 in memory, 3 on disk, the oldest dropped
		require.True(t, c.Put(fmt.Sprint(i), entryOf(i)))
	}
	memUsed, inMem := c.Stats()
	diskUsed, onDisk := c.DiskStats()
	require.Equal(t, 2, inMem)
	require.LessOrEqual(t, memUsed, int64(4_500))
	require.Equal(t, 3, onDisk)
	require.LessOrEqual(t, diskUsed, int64(6_500))
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.Len(t, files, 3, "one file per spilled entry, no temporary left")

	_, ok := c.Get("0")
	require.False(t, ok, "dropped from disk too")
	got, ok := c.Get("1")
	require.True(t, ok, "back from disk")
	want := entryOf(1)
	require.True(t, want.Schema.Equal(got.Schema))
	require.Equal(t, len(want.Endpoints), len(got.Endpoints))
	for i := range want.Endpoints {
		require.Equal(t, len(want.Endpoints[i]), len(got.Endpoints[i]))
		for j, m := range want.Endpoints[i] {
			require.Equal(t, m.DataHeader, got.Endpoints[i][j].DataHeader)
			require.Equal(t, m.DataBody, got.Endpoints[i][j].DataBody)
			require.Equal(t, m.AppMetadata, got.Endpoints[i][j].AppMetadata)
		}
	}
	require.Equal(t, want.Size(), got.Size())
	again, ok := c.Get("1")
	require.True(t, ok)
	require.Same(t, got, again, "now in memory")
	require.Equal(t, 2.0, testutil.ToFloat64(c.lookups.WithLabelValues(Hit)))

	// A damaged file is a miss, never a wrong answer.
	_, onDisk = c.DiskStats()
	require.Positive(t, onDisk)
	for _, f := range must(filepath.Glob(filepath.Join(dir, "*"+fileSuffix))) {
		require.NoError(t, os.WriteFile(f, []byte{0x05, 'x'}, 0o600))
	}
	for i := 2; i < 6; i++ {
		if e, ok := c.Get(fmt.Sprint(i)); ok {
			require.Equal(t, entryOf(i).Size(), e.Size(), "%d came from memory", i)
		}
	}

	_, err = New(Options{MaxBytes: 4_000, Dir: dir})
	require.NoError(t, err)
	left, err := filepath.Glob(filepath.Join(dir, "*"+fileSuffix+"*"))
	require.NoError(t, err)
	require.Empty(t, left, "a new cache does not trust an old one's files")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

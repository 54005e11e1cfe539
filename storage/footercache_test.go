package storage

import (
	"context"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestTableFooterCacheByETag(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	b := newMemBackend()
	b.put("demo/plays/day=2025-01-01/data_0.parquet", pq, "e1")
	b.put("demo/plays/day=2025-01-02/data_0.parquet", pq, "e1")
	b.put("demo/plays/day=2025-01-03/data_0.parquet", pq, "e1")
	reg := prometheus.NewPedanticRegistry()
	w := memWarehouse(b, Options{Registerer: reg})
	ctx := context.Background()
	name := TableName{"demo", "plays"}

	steps := []struct {
		name      string
		change    func()
		wantReads int64 // ReadRange calls made by this step's Table()
		wantRows  int64
	}{
		{name: "cold: one read per file", wantReads: 3, wantRows: 9},
		{name: "warm: re-list but no read", wantReads: 0, wantRows: 9},
		{name: "one etag changed: one re-read", change: func() {
			b.put("demo/plays/day=2025-01-02/data_0.parquet", pq, "e2")
		}, wantReads: 1, wantRows: 9},
		{name: "new file: one read", change: func() {
			b.put("demo/plays/day=2025-01-04/data_0.parquet", pq, "e1")
		}, wantReads: 1, wantRows: 12},
		{name: "warm again", wantReads: 0, wantRows: 12},
	}
	for i, st := range steps {
		if st.change != nil {
			st.change()
		}
		before, lists := b.reads.Load(), b.lists.Load()
		tbl, err := w.Table(ctx, name)
		require.NoError(t, err, st.name)
		require.Equal(t, st.wantReads, b.reads.Load()-before, st.name)
		require.Equal(t, int64(1), b.lists.Load()-lists, "%s: every Table call lists once", st.name)
		require.Equal(t, st.wantRows, tbl.Rows, st.name)
		require.Equal(t, float64(i+1), testutil.ToFloat64(w.metrics.lists), st.name)
	}
	require.Equal(t, float64(3+0+1+1+0), testutil.ToFloat64(w.metrics.footerReads))
	require.Equal(t, float64(0+3+2+3+4), testutil.ToFloat64(w.metrics.footerHits))
	n, err := testutil.GatherAndCount(reg, "quiver_storage_footer_reads_total", "quiver_storage_footer_cache_hits_total")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestFooterCacheEvicts(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	b := newMemBackend()
	for _, k := range []string{"demo/t/a.parquet", "demo/t/b.parquet", "demo/t/c.parquet"} {
		b.put(k, pq, "e")
	}
	w := memWarehouse(b, Options{FooterCacheSize: 2})
	objs, err := b.List(context.Background(), "")
	require.NoError(t, err)
	file := func(i int) File { return File{Object: objs[i]} }
	ctx := context.Background()

	tests := []struct {
		name      string
		file      int
		wantReads int64
	}{
		{"a cold", 0, 1},
		{"b cold", 1, 1},
		{"a warm", 0, 0},
		{"c cold evicts b", 2, 1},
		{"a still warm", 0, 0},
		{"b evicted", 1, 1},
	}
	for _, tc := range tests {
		before := b.reads.Load()
		_, err := w.Footer(ctx, file(tc.file))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.wantReads, b.reads.Load()-before, tc.name)
		require.LessOrEqual(t, w.footers.len(), 2, tc.name)
	}
}

func TestFooterConcurrentCallsShareOneRead(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	b := newMemBackend()
	b.put("demo/t/a.parquet", pq, "e")
	w := memWarehouse(b, Options{})
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = w.Table(context.Background(), TableName{"demo", "t"})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), b.reads.Load())
}

func TestFooterCanceledContext(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	b := newMemBackend()
	b.put("demo/t/a.parquet", pq, "e")
	w := memWarehouse(b, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Table(ctx, TableName{"demo", "t"})
	require.ErrorIs(t, err, context.Canceled)
}

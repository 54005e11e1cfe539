package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/objstore"
)

// parquetBytes encodes JSON rows (one object per row, in a JSON array) with
// schema as Parquet, rowGroup rows per row group.
func parquetBytes(t *testing.T, sc *arrow.Schema, rowsJSON string, rowGroup int64) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec, _, err := array.RecordFromJSON(mem, sc, strings.NewReader(rowsJSON))
	require.NoError(t, err)
	defer rec.Release()
	tbl := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	defer tbl.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithStats(true))
	require.NoError(t, pqarrow.WriteTable(tbl, &buf, rowGroup, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem))))
	return buf.Bytes()
}

// writeFile writes data at dir/key, creating directories.
func writeFile(t *testing.T, dir, key string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
}

var (
	playsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "play_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "device", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	playsRows = `[{"play_id": 1, "device": "tv"}, {"play_id": 2, "device": null}, {"play_id": 3, "device": "web"}]`
)

// memBackend is an in-memory objstore.Backend that counts ReadRange calls.
type memBackend struct {
	mu    sync.Mutex
	objs  map[string]memObject
	reads atomic.Int64
	lists atomic.Int64
}

type memObject struct {
	data []byte
	etag string
}

func newMemBackend() *memBackend { return &memBackend{objs: map[string]memObject{}} }

func (b *memBackend) put(key string, data []byte, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objs[key] = memObject{data: data, etag: etag}
}

func (b *memBackend) List(ctx context.Context, prefix string) ([]Object, error) {
	b.lists.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Object
	for k, o := range b.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, Object{Key: k, Size: int64(len(o.data)), ETag: o.etag})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (b *memBackend) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b.reads.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[key]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", key, os.ErrNotExist)
	}
	end := min(off+n, int64(len(o.data)))
	return append([]byte{}, o.data[off:end]...), nil
}

func memWarehouse(b objstore.Backend, opts Options) *Warehouse {
	return NewWarehouse(b, Location{Scheme: "s3", Bucket: "bucket", Prefix: "wh"}, opts)
}

func mustParseDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

package storage

import (
	"context"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// fakeS3 serves path-style ListObjectsV2 (pageSize keys per page) and
// ranged GetObject for one bucket, and records what it was asked.
type fakeS3 struct {
	bucket   string
	pageSize int
	objects  map[string][]byte
	deny     bool // answer every request with 403 AccessDenied

	mu       sync.Mutex
	tokens   []string // continuation tokens received, in order
	prefixes []string
	ranges   []string
	requests int
}

type listResult struct {
	XMLName               xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string        `xml:"Name"`
	Prefix                string        `xml:"Prefix"`
	KeyCount              int           `xml:"KeyCount"`
	MaxKeys               int           `xml:"MaxKeys"`
	IsTruncated           bool          `xml:"IsTruncated"`
	ContinuationToken     string        `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string        `xml:"NextContinuationToken,omitempty"`
	Contents              []listContent `xml:"Contents"`
}

type listContent struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

func etagOf(data []byte) string { return fmt.Sprintf("etag-%d-%x", len(data), data[len(data)/2]) }

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if f.deny {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != f.bucket {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>`)
		return
	}
	if key == "" && r.URL.Query().Get("list-type") == "2" {
		f.list(w, r)
		return
	}
	f.get(w, r, key)
}

func (f *fakeS3) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix, token := q.Get("prefix"), q.Get("continuation-token")
	f.mu.Lock()
	f.prefixes = append(f.prefixes, prefix)
	if token != "" {
		f.tokens = append(f.tokens, token)
	}
	f.mu.Unlock()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	start := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "tok-"))
		if err != nil {
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		start = n
	}
	end := min(start+f.pageSize, len(keys))
	res := listResult{Name: f.bucket, Prefix: prefix, MaxKeys: f.pageSize, ContinuationToken: token}
	for _, k := range keys[start:end] {
		res.Contents = append(res.Contents, listContent{
			Key: k, LastModified: "2025-01-01T00:00:00.000Z", ETag: `"` + etagOf(f.objects[k]) + `"`,
			Size: int64(len(f.objects[k])), StorageClass: "STANDARD",
		})
	}
	res.KeyCount = len(res.Contents)
	if end < len(keys) {
		res.IsTruncated, res.NextContinuationToken = true, fmt.Sprintf("tok-%d", end)
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(res)
}

func (f *fakeS3) get(w http.ResponseWriter, r *http.Request, key string) {
	data, ok := f.objects[key]
	if !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>`)
		return
	}
	rng := r.Header.Get("Range")
	f.mu.Lock()
	f.ranges = append(f.ranges, key+" "+rng)
	f.mu.Unlock()
	var lo, hi int64
	if _, err := fmt.Sscanf(rng, "bytes=%d-%d", &lo, &hi); err != nil || lo > hi || lo >= int64(len(data)) {
		http.Error(w, "want a bytes=a-b range", http.StatusRequestedRangeNotSatisfiable)
		return
	}
	hi = min(hi, int64(len(data))-1)
	w.Header().Set("ETag", `"`+etagOf(data)+`"`)
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", lo, hi, len(data)))
	w.Header().Set("Content-Length", strconv.FormatInt(hi-lo+1, 10))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(data[lo : hi+1])
}

func TestS3Table(t *testing.T) {
	harness.IsolateAWS(t)
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	fake := &fakeS3{bucket: "lake", pageSize: 2, objects: map[string][]byte{
		"wh/demo/plays/day=2025-01-01/data_0.parquet": pq,
		"wh/demo/plays/day=2025-01-02/data_0.parquet": pq,
		"wh/demo/plays/day=2025-01-03/data_0.parquet": pq,
		"wh/demo/plays/day=2025-01-04/data_0.parquet": pq,
		"wh/demo/plays/day=2025-01-05/data_0.parquet": pq,
		"wh/demo/plays/_SUCCESS":                      []byte("ok"),
		"wh/demo/titles/titles.parquet":               pq,
		"wh/other/t/x.parquet":                        pq,
		"elsewhere/demo/x/x.parquet":                  pq,
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	w, err := Open(ctx, "s3://lake/wh/", Options{S3Endpoint: srv.URL})
	require.NoError(t, err)
	require.Zero(t, fake.requests, "Open must not contact S3")
	require.Equal(t, "s3://lake/wh", w.String())
	require.Equal(t, srv.URL, w.Endpoint())
	require.Equal(t, Location{Scheme: "s3", Bucket: "lake", Prefix: "wh"}, w.Location())

	tbl, err := w.Table(ctx, TableName{"demo", "plays"})
	require.NoError(t, err)
	require.Equal(t, []string{"wh/demo/plays/", "wh/demo/plays/", "wh/demo/plays/"}, fake.prefixes,
		"lists only the table's prefix, in three pages")
	// 6 keys under the prefix in pages of 2: two continuation tokens, both followed.
	require.Equal(t, []string{"tok-2", "tok-4"}, fake.tokens)
	require.Len(t, tbl.Files, 5)
	require.Equal(t, int64(15), tbl.Rows)
	require.Equal(t, "demo/plays/day=2025-01-01/data_0.parquet", tbl.Files[0].Key)
	require.Equal(t, "s3://lake/wh/demo/plays/day=2025-01-01/data_0.parquet", tbl.Files[0].URI)
	require.Equal(t, etagOf(pq), tbl.Files[0].ETag, "quotes stripped")
	require.Equal(t, int64(len(pq)), tbl.Files[0].Size)
	require.Equal(t, "day", tbl.Partitions[0].Name)
	require.Len(t, fake.ranges, 5, "one ranged read per footer")
	require.Contains(t, fake.ranges, fmt.Sprintf("wh/demo/plays/day=2025-01-01/data_0.parquet bytes=0-%d", len(pq)-1))

	_, err = w.Table(ctx, TableName{"demo", "plays"})
	require.NoError(t, err)
	require.Len(t, fake.ranges, 5, "footers come from the cache")

	names, err := w.Tables(ctx)
	require.NoError(t, err)
	require.Equal(t, []TableName{{"demo", "plays"}, {"demo", "titles"}, {"other", "t"}}, names)

	data, err := w.backend.ReadRange(ctx, "demo/titles/titles.parquet", 0, 4)
	require.NoError(t, err)
	require.Equal(t, "PAR1", string(data))
}

func TestS3Errors(t *testing.T) {
	harness.IsolateAWS(t)
	ctx := context.Background()

	t.Run("access denied", func(t *testing.T) {
		srv := httptest.NewServer(&fakeS3{bucket: "lake", pageSize: 10, deny: true})
		t.Cleanup(srv.Close)
		w, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: srv.URL})
		require.NoError(t, err)
		_, err = w.Table(ctx, TableName{"demo", "plays"})
		require.ErrorIs(t, err, ErrAccessDenied)
		require.ErrorContains(t, err, "s3://lake/wh/demo/plays/")
	})
	t.Run("missing key", func(t *testing.T) {
		srv := httptest.NewServer(&fakeS3{bucket: "lake", pageSize: 10, objects: map[string][]byte{}})
		t.Cleanup(srv.Close)
		w, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: srv.URL})
		require.NoError(t, err)
		_, err = w.backend.ReadRange(ctx, "demo/t/gone.parquet", 0, 10)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.ErrorContains(t, err, "s3://lake/wh/demo/t/gone.parquet")
		require.ErrorContains(t, err, srv.URL)
	})
	t.Run("corrupt object names key", func(t *testing.T) {
		srv := httptest.NewServer(&fakeS3{bucket: "lake", pageSize: 10, objects: map[string][]byte{
			"wh/demo/t/bad.parquet": []byte("definitely not a parquet file"),
		}})
		t.Cleanup(srv.Close)
		w, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: srv.URL})
		require.NoError(t, err)
		_, err = w.Table(ctx, TableName{"demo", "t"})
		require.ErrorIs(t, err, ErrCorruptFile)
		require.ErrorContains(t, err, "demo/t/bad.parquet")
	})
	t.Run("unreachable endpoint", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		endpoint := "http://" + l.Addr().String()
		require.NoError(t, l.Close()) // nothing listens there now

		w, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: endpoint})
		require.NoError(t, err, "Open must not need S3")
		for _, call := range []struct {
			name string
			run  func() error
		}{
			{"table", func() error { _, err := w.Table(ctx, TableName{"demo", "plays"}); return err }},
			{"tables", func() error { _, err := w.Tables(ctx); return err }},
		} {
			start := time.Now()
			err = call.run()
			require.Less(t, time.Since(start), 5*time.Second, "%s: must fail fast", call.name)
			require.ErrorIs(t, err, ErrUnavailable, call.name)
			require.ErrorContains(t, err, endpoint, call.name)
			require.ErrorContains(t, err, "list s3://lake/wh/", call.name)
		}
	})
	t.Run("bad endpoint", func(t *testing.T) {
		_, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: "127.0.0.1:9000"})
		require.ErrorContains(t, err, "127.0.0.1:9000")
	})
}

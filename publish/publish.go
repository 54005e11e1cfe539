package publish

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// MarkerName is the file name of the success marker.
const MarkerName = "_SUCCESS"

// stagingPrefix starts every staging file name.
const stagingPrefix = "_staging-"

// ErrOutputExists is a publish refused because the target exists (and
// Replace was not set); it also wraps storage.ErrExists.
var ErrOutputExists = errkind.New(errkind.AlreadyExists, "output already exists")

// Marker is the content of _SUCCESS.
type Marker struct {
	// Object is the published file's name within the directory.
	Object string `json:"object"`
	// URI is the published object's full URI.
	URI    string `json:"uri"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Format string `json:"format,omitempty"`
	// Report, RunID and ScheduledTime say which run wrote it (reports only).
	Report        string     `json:"report,omitempty"`
	RunID         string     `json:"run_id,omitempty"`
	ScheduledTime *time.Time `json:"scheduled_time,omitempty"`
	PublishedAt   time.Time  `json:"published_at"`
}

// Options configure File.
type Options struct {
	// Replace publishes over an existing object instead of failing with
	// ErrOutputExists.
	Replace bool
	// Journal, when set, records the staging key for Recover.
	Journal *Journal
	// JournalKey names this publish in the journal (e.g. the run id);
	// required with Journal.
	JournalKey string
	// AfterStaging runs once the staging object is written and before it
	// is published. Tests use it to kill a process at that moment.
	AfterStaging func(ctx context.Context) error
	// Now stamps the marker; nil is time.Now.
	Now func() time.Time
}

// Result describes a published object.
type Result struct {
	URI    string
	Rows   int64
	Bytes  int64
	SHA256 string
}

// File publishes the local file src at key of store, with the marker m
// (whose Rows the caller fills; size, checksum, names and time are set
// here).
func File(ctx context.Context, store *storage.Warehouse, key, src string, m Marker, opts Options) (Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	uri := store.URI(key)
	size, sum, err := digest(src)
	if err != nil {
		return Result{}, fmt.Errorf("publish %s: %w", uri, err)
	}
	dir, base := path.Split(key)
	staging := dir + stagingPrefix + randomID() + "-" + base
	m.Object, m.URI, m.Bytes, m.SHA256 = base, uri, size, sum
	ent := entry{Store: store.String(), Staging: staging, Target: key, Bytes: size, SHA256: sum, Marker: &m}

	if opts.Journal != nil {
		if opts.JournalKey == "" {
			return Result{}, fmt.Errorf("publish %s: a journal needs a JournalKey", uri)
		}
		if err := opts.Journal.add(ctx, opts.JournalKey, ent); err != nil {
			return Result{}, fmt.Errorf("publish %s: %w", uri, err)
		}
	}
	// abandon drops the staging object (S3 writes are whole or nothing,
	// local ones go through a temporary file, so a failed write left
	// nothing else) and, once it is surely gone, the journal entry.
	abandon := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if store.Delete(cctx, staging) == nil && opts.Journal != nil {
			_ = opts.Journal.remove(cctx, opts.JournalKey)
		}
	}
	if err := store.PutFile(ctx, staging, src, false); err != nil {
		abandon()
		return Result{}, fmt.Errorf("publish %s: stage: %w", uri, err)
	}
	if opts.AfterStaging != nil {
		if err := opts.AfterStaging(ctx); err != nil {
			abandon()
			return Result{}, err
		}
	}
	if err := store.Move(ctx, staging, key, !opts.Replace); err != nil {
		abandon()
		if errors.Is(err, storage.ErrExists) {
			return Result{}, fmt.Errorf("publish %s: %w: %w (set replace to overwrite)", uri, ErrOutputExists, err)
		}
		return Result{}, fmt.Errorf("publish %s: %w", uri, err)
	}
	m.PublishedAt = opts.Now().UTC()
	if err := writeMarker(ctx, store, dir, m); err != nil {
		return Result{}, fmt.Errorf("publish %s: %w", uri, err)
	}
	if opts.Journal != nil {
		if err := opts.Journal.remove(ctx, opts.JournalKey); err != nil {
			return Result{}, fmt.Errorf("publish %s: %w", uri, err)
		}
	}
	return Result{URI: uri, Rows: m.Rows, Bytes: size, SHA256: sum}, nil
}

func writeMarker(ctx context.Context, store *storage.Warehouse, dir string, m Marker) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode marker: %w", err)
	}
	if err := store.Put(ctx, dir+MarkerName, append(body, '\n')); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

// ReadMarker reads the _SUCCESS marker of the directory holding key.
func ReadMarker(ctx context.Context, store *storage.Warehouse, key string) (Marker, error) {
	dir, _ := path.Split(key)
	raw, err := store.Get(ctx, dir+MarkerName)
	if err != nil {
		return Marker{}, err
	}
	var m Marker
	if err := json.Unmarshal(raw, &m); err != nil {
		return Marker{}, fmt.Errorf("read marker %s: %w", store.URI(dir+MarkerName), err)
	}
	return m, nil
}

// CleanSiblings deletes leftover staging objects of key (a crashed earlier
// publish to the same target) and returns how many it removed.
func CleanSiblings(ctx context.Context, store *storage.Warehouse, key string) (int, error) {
	dir, base := path.Split(key)
	objs, err := store.List(ctx, dir+stagingPrefix)
	if err != nil {
		return 0, fmt.Errorf("list staging objects of %s: %w", store.URI(key), err)
	}
	n := 0
	for _, o := range objs {
		if strings.Contains(strings.TrimPrefix(o.Key, dir), "/") || !strings.HasSuffix(o.Key, "-"+base) {
			continue
		}
		if err := store.Delete(ctx, o.Key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// digest returns the size and hex SHA-256 of a file.
func digest(file string) (int64, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = f.Close() }() // read only
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", file, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// randomID is 12 hex digits.
func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

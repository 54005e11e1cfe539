package lakehouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/quiver-data/quiver/storage"
)

// filePathFieldID is the reserved field id of a position delete file's
// file_path column: its bounds say which data files the file can name.
const filePathFieldID = 2147483546

// planKey identifies a snapshot plan. A snapshot's files never change, so
// a plan is keyed by the table (its name and UUID; the metadata location
// for a table without one) rather than by the metadata file: time travel
// to an old snapshot stays cached across new commits.
type planKey struct {
	table    string // name@uuid
	snapshot int64
	schema   int
}

// plan is what a snapshot's manifests say: its data files, sorted by Path,
// and their total record count. It is shared by every Table call that pins
// the snapshot, so it is never modified.
type plan struct {
	files []storage.File
	rows  int64
	err   error // an ErrUnsupported feature: as immutable as the files
}

// plan returns the plan of snapshot snap of t read with schema sc, from
// the cache or by reading its manifests (once, however many calls want it
// at the same time).
func (c *Catalogs) plan(ctx context.Context, name storage.TableName, t *table.Table, snap *table.Snapshot,
	sc *iceberg.Schema, cols []storage.Column, ids []int, current bool) (*plan, error) {
	key := planKey{table: name.String() + "@" + t.Metadata().TableUUID().String(), snapshot: snap.SnapshotID, schema: sc.ID}
	if t.Metadata().TableUUID() == [16]byte{} {
		key.table = name.String() + "@" + t.MetadataLocation()
	}
	if p, ok := c.plans.Get(key); ok {
		return p, p.err
	}
	flight := fmt.Sprintf("%s/%d/%d", key.table, key.snapshot, key.schema)
	v, err, _ := c.flights.Do(flight, func() (any, error) {
		if p, ok := c.plans.Get(key); ok {
			return p, nil
		}
		start, opens := time.Now(), c.opens.Load()
		p, err := c.readPlan(ctx, name, t, snap, cols, ids, current)
		if err != nil {
			return nil, err
		}
		c.plans.Put(key, p)
		c.logger.Debug("iceberg snapshot planned", "table", name.String(), "snapshot", snap.SnapshotID,
			"files", len(p.files), "rows", p.rows, "opened", c.opens.Load()-opens, "elapsed", time.Since(start), "err", p.err)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	p := v.(*plan)
	return p, p.err
}

// readPlan plans the snapshot with iceberg-go (no row filter) and turns
// its tasks into storage.Files. An unsupported feature is returned as a
// plan with err set, so that it is cached like a plan.
func (c *Catalogs) readPlan(ctx context.Context, name storage.TableName, t *table.Table, snap *table.Snapshot,
	cols []storage.Column, ids []int, current bool) (*plan, error) {
	fsF := planIO(t.FS, &c.opens)
	// No catalog: the scan plans locally, from the manifests.
	rt := table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), fsF, nil)
	var opts []table.ScanOption
	if !current {
		opts = append(opts, table.WithSnapshotID(snap.SnapshotID))
	}
	scan := rt.Scan(opts...)
	defer func() { _ = scan.Close() }()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: plan snapshot %d: %w", name, snap.SnapshotID, classify(err))
	}

	// A large file may come as several tasks (its splits): one File.
	var paths []string
	byPath := map[string]table.FileScanTask{}
	withDeletes := false
	for _, task := range tasks {
		p := task.File.FilePath()
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
			byPath[p] = task
		}
		withDeletes = withDeletes || len(task.DeleteFiles)+len(task.EqualityDeleteFiles)+len(task.DeletionVectorFiles) > 0
	}
	slices.Sort(paths)

	var (
		seqs map[string]int64
		fio  iceio.IO
	)
	if withDeletes {
		if fio, err = fsF(ctx); err != nil {
			return nil, fmt.Errorf("table %s: open FileIO: %w", name, classify(err))
		}
		if seqs, err = deleteSequenceNumbers(fio, snap); err != nil {
			return nil, fmt.Errorf("table %s: read delete manifests of snapshot %d: %w", name, snap.SnapshotID, classify(err))
		}
	}

	fields := make([]arrow.Field, len(cols))
	for i, col := range cols {
		fields[i] = arrow.Field{Name: col.Name, Type: col.Type, Nullable: col.Nullable}
	}
	schema := arrow.NewSchema(fields, nil)
	p := &plan{files: make([]storage.File, 0, len(paths))}
	dvRuns := 0
	for _, path := range paths {
		task := byPath[path]
		f, err := dataFile(name, task, schema, ids, seqs)
		if err == nil {
			f.Buckets = buckets(task.File, t.Metadata().PartitionSpecs(), ids)
			err = attachDeletionVectors(fio, name, task, seqs, &f, &dvRuns)
		}
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return &plan{err: err}, nil
			}
			return nil, err
		}
		p.files = append(p.files, f)
		p.rows += f.Rows
	}
	return p, nil
}

// attachDeletionVectors reads the deletion vectors of task (at most one,
// iceberg-go has matched it by referenced file and sequence number, and
// then left the file's position delete files out, as the spec says) into
// f.Deletes. runs counts the snapshot's runs so far, against
// maxDeletionVectorRuns.
func attachDeletionVectors(fio iceio.IO, name storage.TableName, task table.FileScanTask,
	seqs map[string]int64, f *storage.File, runs *int) error {
	for _, d := range task.DeletionVectorFiles {
		dv, err := deletionVector(fio, name, d, f.Path)
		if err != nil {
			return err
		}
		dv.SequenceNumber = seqs[d.FilePath()]
		if *runs += len(dv.Positions); *runs > maxDeletionVectorRuns {
			return fmt.Errorf("table %s: its deletion vectors hold more than %d runs of deleted rows, more than Quiver puts in a plan: %w",
				name, maxDeletionVectorRuns, ErrUnsupported)
		}
		f.Deletes = append(f.Deletes, dv)
	}
	return nil
}

// dataFile is the storage.File of a planned task: its locations, size,
// record count, manifest statistics and delete files.
func dataFile(name storage.TableName, task table.FileScanTask, schema *arrow.Schema, ids []int, seqs map[string]int64) (storage.File, error) {
	df := task.File
	if err := readable(name, "data", df); err != nil {
		return storage.File{}, err
	}
	uri, err := readerURI(df.FilePath())
	if err != nil {
		return storage.File{}, fmt.Errorf("table %s: data file: %w", name, err)
	}
	f := storage.File{
		Object: storage.Object{Key: uri, Size: df.FileSizeBytes()},
		URI:    uri,
		Path:   df.FilePath(),
		Rows:   df.Count(),
	}
	rg := storage.RowGroup{Rows: df.Count(), Columns: make([]storage.ColumnStats, len(ids))}
	for i, id := range ids {
		rg.Columns[i] = columnStats(df, id, schema.Field(i).Type)
	}
	f.Stats = &storage.Footer{Schema: schema, Rows: df.Count(), RowGroups: []storage.RowGroup{rg}}

	for _, d := range task.DeleteFiles {
		if !mayReference(d, f.Path) {
			continue
		}
		del, err := deleteFile(name, d, storage.PositionDeletes, seqs)
		if err != nil {
			return storage.File{}, err
		}
		f.Deletes = append(f.Deletes, del)
	}
	for _, d := range task.EqualityDeleteFiles {
		del, err := deleteFile(name, d, storage.EqualityDeletes, seqs)
		if err != nil {
			return storage.File{}, err
		}
		for _, id := range del.EqualityIDs {
			if !slices.Contains(ids, id) {
				return storage.File{}, fmt.Errorf("table %s: equality delete file %s compares field id %d, which is not a column of the schema read: %w",
					name, d.FilePath(), id, ErrUnsupported)
			}
		}
		f.Deletes = append(f.Deletes, del)
	}
	slices.SortFunc(f.Deletes, func(a, b storage.DeleteFile) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.SequenceNumber, b.SequenceNumber), strings.Compare(a.Path, b.Path))
	})
	f.Deletes = slices.CompactFunc(f.Deletes, func(a, b storage.DeleteFile) bool { return a.Kind == b.Kind && a.Path == b.Path })
	return f, nil
}

// deleteFile is the storage.DeleteFile of d.
func deleteFile(name storage.TableName, d iceberg.DataFile, kind storage.DeleteKind, seqs map[string]int64) (storage.DeleteFile, error) {
	if err := readable(name, "delete", d); err != nil {
		return storage.DeleteFile{}, err
	}
	uri, err := readerURI(d.FilePath())
	if err != nil {
		return storage.DeleteFile{}, fmt.Errorf("table %s: delete file: %w", name, err)
	}
	seq, ok := seqs[d.FilePath()]
	if !ok {
		return storage.DeleteFile{}, fmt.Errorf("table %s: delete file %s is in no delete manifest of the snapshot", name, d.FilePath())
	}
	out := storage.DeleteFile{Kind: kind, Path: d.FilePath(), URI: uri, Rows: d.Count(), SequenceNumber: seq}
	if kind == storage.EqualityDeletes {
		out.EqualityIDs = slices.Clone(d.EqualityFieldIDs())
		if len(out.EqualityIDs) == 0 {
			return storage.DeleteFile{}, fmt.Errorf("table %s: equality delete file %s has no equality field ids", name, d.FilePath())
		}
	}
	return out, nil
}

// readable refuses a file a plain Parquet read would get wrong: another
// format, or encrypted.
func readable(name storage.TableName, what string, df iceberg.DataFile) error {
	if f := df.FileFormat(); f != iceberg.ParquetFile {
		return fmt.Errorf("table %s: %s file %s is %s, Quiver reads Parquet: %w", name, what, df.FilePath(), f, ErrUnsupported)
	}
	if len(df.KeyMetadata()) > 0 {
		return fmt.Errorf("table %s: %s file %s is encrypted: %w", name, what, df.FilePath(), ErrUnsupported)
	}
	return nil
}

// mayReference reports whether position delete file d can name data file
// path. iceberg-go attaches a position delete file to every data file of
// its partition; what it names is narrower: the one file it references
// (v3's referenced_data_file), or the files between its file_path bounds.
// A lower bound that was truncated is a prefix, still below path; an upper
// bound that was truncated without being incremented is a prefix of the
// paths it covers, so path is kept when upper is a prefix of it. Without
// either, d is kept.
func mayReference(d iceberg.DataFile, path string) bool {
	if ref := d.ReferencedDataFile(); ref != nil && *ref != "" {
		return *ref == path
	}
	if lo, ok := d.LowerBoundValues()[filePathFieldID]; ok && path < string(lo) {
		return false
	}
	if hi, ok := d.UpperBoundValues()[filePathFieldID]; ok && path > string(hi) && !strings.HasPrefix(path, string(hi)) {
		return false
	}
	return true
}

// deleteSequenceNumbers maps the path of every live delete file of snap to
// its data sequence number, which the planned tasks do not carry: it reads
// the snapshot's delete manifests (not its data manifests).
func deleteSequenceNumbers(fio iceio.IO, snap *table.Snapshot) (map[string]int64, error) {
	manifests, err := snap.Manifests(fio)
	if err != nil {
		return nil, err
	}
	seqs := map[string]int64{}
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentDeletes {
			continue
		}
		for e, err := range m.Entries(fio, true) {
			if err != nil {
				return nil, fmt.Errorf("manifest %s: %w", m.FilePath(), err)
			}
			seqs[e.DataFile().FilePath()] = e.SequenceNum()
		}
	}
	return seqs, nil
}

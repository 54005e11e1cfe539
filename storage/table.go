package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/murmur3"
	"golang.org/x/sync/errgroup"
)

// footerConcurrency bounds the footer reads of one Table call.
const footerConcurrency = 16

// Table is a pinned snapshot of one table: the files a query will read and
// the schema they share.
type Table struct {
	Name TableName
	// Files are the table's visible .parquet files, sorted by Key.
	Files []File
	// Columns are the file columns (from the first file's footer), then
	// the partition columns.
	Columns []Column
	// Partitions are the Hive partition columns in path order; they are
	// also the last len(Partitions) entries of Columns.
	Partitions []Column
	// Rows is the sum of the files' footer row counts.
	Rows int64
	// Virtual tables have no files: the coordinator serves their rows
	// (system tables).
	Virtual bool
	// Iceberg is set for a table of an Iceberg catalog: the snapshot the
	// query is pinned to. Its Files are the snapshot's data files, each
	// with the delete files that apply to it, and Columns its schema.
	Iceberg *IcebergSnapshot
}

// Qualified is the table's catalog and schema as SQL names them: an
// Iceberg table's Name.Schema is "<catalog>.<namespace>"; a warehouse
// table's schema is in catalog warehouse.
func (t *Table) Qualified(warehouse string) (catalog, schema string) {
	if t.Iceberg != nil {
		if c, s, ok := strings.Cut(t.Name.Schema, "."); ok {
			return c, s
		}
	}
	return warehouse, t.Name.Schema
}

// AsOf picks the snapshot of a table a reference reads (SQL's
// `AT (VERSION => …)` and `AT (TIMESTAMP => …)`); the zero value is the
// current snapshot.
type AsOf struct {
	// SnapshotID, when not 0, is the snapshot.
	SnapshotID int64
	// TimestampMS, when HasTimestamp, picks the last snapshot committed at
	// or before it (milliseconds since the epoch).
	TimestampMS  int64
	HasTimestamp bool
}

// IsCurrent reports whether a is the current snapshot.
func (a AsOf) IsCurrent() bool { return a.SnapshotID == 0 && !a.HasTimestamp }

// Suffix tells references to different snapshots of one table apart in a
// plan's table names: "@v<id>", "@t<ms>", or "" for the current one.
func (a AsOf) Suffix() string {
	switch {
	case a.SnapshotID != 0:
		return fmt.Sprintf("@v%d", a.SnapshotID)
	case a.HasTimestamp:
		return fmt.Sprintf("@t%d", a.TimestampMS)
	}
	return ""
}

// IcebergSnapshot is the pinned snapshot of an Iceberg table.
type IcebergSnapshot struct {
	// MetadataLocation is the table metadata file the snapshot was read
	// from (a new commit writes a new one).
	MetadataLocation string
	// SnapshotID is the pinned snapshot; 0 for a table without any
	// snapshot (created, never written: no files).
	SnapshotID int64
	// SequenceNumber is the snapshot's sequence number.
	SequenceNumber int64
	// TimestampMS is when the snapshot was committed.
	TimestampMS int64
	// SchemaID is the schema the snapshot is read with.
	SchemaID int
	// FieldIDs are the Iceberg field ids of Columns, index for index:
	// data files are read by field id, so renamed, reordered, dropped and
	// re-added columns read right from files written before the change.
	FieldIDs []int
	// Comment and Owner are the table properties "comment" and "owner"
	// (as Spark and Trino set them).
	Comment, Owner string
	// Credentials are what the catalog vended with this load of the
	// table, one per prefix it covers (none for a catalog that vends
	// none): the workers read its files with them.
	Credentials []S3Credential
}

// File is one file of a table's snapshot.
type File struct {
	Object
	// URI is what DuckDB reads: an s3:// URL or an absolute local path.
	URI string
	// Partition maps each Hive key to its unescaped raw value; the default
	// partition stays "__HIVE_DEFAULT_PARTITION__".
	Partition map[string]string
	// Rows is the file's row count from its footer (the slice's, for a
	// slice).
	Rows int64
	// Slice, when set, is the part of the file a fragment reads: rows
	// Start … End-1 by file row number, whole row groups (the planner
	// splits a table of one file this way).
	Slice *Slice

	// Iceberg data files only.

	// Path is the file's location exactly as the table metadata spells it
	// (position delete files name data files this way); URI is what
	// DuckDB reads (a local path for file: locations).
	Path string
	// Deletes are the delete files that apply to this data file, by
	// Iceberg's sequence-number rules: position deletes whose file may
	// name it and equality deletes of a later sequence number.
	Deletes []DeleteFile
	// Stats, when set, are the file's statistics from its manifest entry
	// (column bounds and null counts as one row group, the schema being
	// the table's Columns); pruning reads them instead of the footer.
	Stats *Footer
	// Buckets are an Iceberg data file's bucket partitions (MayHold).
	Buckets []Bucket
}

// Bucket is an Iceberg bucket partition of a data file: its rows' values of
// column Column (an index of Table.Columns) hash to bucket Value of Count.
type Bucket struct {
	Column, Count int
	Value         int32
}

// MayHold reports whether f may hold a row whose column (an index of
// Table.Columns) equals value: an int64 of an integer column or a string
// of a string column, hashed as Iceberg's bucket transform hashes them
// (murmur3 of the value as a little-endian long, or of its UTF-8 bytes).
// Any other value, or a column without a bucket, may be there.
func (f File) MayHold(column int, value any) bool {
	for _, b := range f.Buckets {
		if b.Column != column || b.Count <= 0 {
			continue
		}
		var h uint32
		switch v := value.(type) {
		case int64:
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], uint64(v))
			h = murmur3.Sum32(buf[:])
		case string:
			h = murmur3.Sum32([]byte(v))
		default:
			continue
		}
		if int32((h&math.MaxInt32)%uint32(b.Count)) != b.Value {
			return false
		}
	}
	return true
}

// DeleteKind is the kind of an Iceberg delete file.
type DeleteKind int

// The kinds of delete file.
const (
	// PositionDeletes hold (file_path, pos) rows: row pos of data file
	// file_path is deleted.
	PositionDeletes DeleteKind = iota + 1
	// EqualityDeletes hold values of EqualityIDs: a row whose values equal
	// (NULL equals NULL) one delete row on all those columns is deleted.
	EqualityDeletes
	// DeletionVector (Iceberg v3) deletes the rows of one data file whose
	// positions it lists; the catalog has read them into Positions.
	DeletionVector
)

// DeleteFile is an Iceberg delete file (Parquet), or a deletion vector.
type DeleteFile struct {
	Kind DeleteKind
	// Path as the metadata spells it; URI as DuckDB reads it.
	Path, URI string
	// EqualityIDs are the field ids an equality delete compares (columns
	// of the table's Columns, by FieldIDs).
	EqualityIDs []int
	// Rows is the delete file's record count.
	Rows int64
	// SequenceNumber is the delete file's data sequence number.
	SequenceNumber int64
	// Positions are a deletion vector's deleted row positions, as sorted,
	// disjoint [Start, End) runs.
	Positions []Slice
}

// Slice is a range of a file's rows, [Start, End) by file row number.
type Slice struct {
	Start, End int64
}

// PlacementKey names the file, or the slice of it, for placement on
// workers: slices of one file are placed apart.
func (f File) PlacementKey() string {
	if f.Slice == nil {
		return f.Key
	}
	return fmt.Sprintf("%s#%d", f.Key, f.Slice.Start)
}

// Column is one column of a table.
type Column struct {
	Name     string
	Type     arrow.DataType
	Nullable bool
	// Doc is what the table format says about the column (an Iceberg
	// field's doc); "" for Parquet.
	Doc string
}

// Table lists <schema>/<table>/ once (the snapshot a query is pinned to) and
// reads the footers of its files, from the cache when their ETags are known.
// A name that matches no directory exactly but matches exactly one table
// case-insensitively resolves to it, as SQL identifiers are
// case-insensitive.
func (w *Warehouse) Table(ctx context.Context, name TableName) (*Table, error) {
	if !name.valid() {
		return nil, fmt.Errorf("table %s: %w", name, ErrTableNotFound)
	}
	files, keys, err := w.tableFiles(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		folded, ok, err := w.foldName(ctx, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("table %s: %w", name, ErrTableNotFound)
		}
		name = folded
		if files, keys, err = w.tableFiles(ctx, name); err != nil {
			return nil, err
		}
		if len(files) == 0 { // deleted between the two listings
			return nil, fmt.Errorf("table %s: %w", name, ErrTableNotFound)
		}
	}

	footers := make([]*Footer, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(footerConcurrency)
	for i := range files {
		g.Go(func() error {
			ft, err := w.Footer(gctx, files[i])
			if err != nil {
				return fmt.Errorf("table %s: read footer: %w", name, err)
			}
			footers[i] = ft
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	t := &Table{Name: name, Files: files}
	first := footers[0].Schema
	for _, f := range first.Fields() {
		t.Columns = append(t.Columns, Column{Name: f.Name, Type: f.Type, Nullable: f.Nullable})
	}
	for i, ft := range footers {
		if i > 0 {
			if err := sameColumns(first, ft.Schema); err != nil {
				return nil, fmt.Errorf("table %s: %s and %s: %w: %w", name, files[0].Key, files[i].Key, err, ErrSchemaMismatch)
			}
			for j, f := range ft.Schema.Fields() {
				t.Columns[j].Nullable = t.Columns[j].Nullable || f.Nullable
			}
		}
		t.Files[i].Rows = ft.Rows
		t.Rows += ft.Rows
	}
	for _, k := range keys {
		if slices.ContainsFunc(t.Columns, func(c Column) bool { return strings.EqualFold(c.Name, k) }) {
			return nil, fmt.Errorf("table %s: partition key %q is also a column of %s: %w", name, k, files[0].Key, ErrSchemaMismatch)
		}
		values := make([]string, len(files))
		for i, f := range files {
			values[i] = f.Partition[k]
		}
		t.Partitions = append(t.Partitions, Column{Name: k, Type: partitionType(values), Nullable: true})
	}
	t.Columns = append(t.Columns, t.Partitions...)
	return t, nil
}

// tableFiles lists a table's files and checks that they all have the same
// partition keys in the same order, which it returns.
func (w *Warehouse) tableFiles(ctx context.Context, name TableName) ([]File, []string, error) {
	objs, err := w.list(ctx, name.prefix())
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: %w", name, err)
	}
	var (
		files   []File
		keys    []string
		keysOf  string
		hasKeys bool
	)
	for _, o := range objs {
		n, dirs, ok := splitKey(o.Key)
		if !ok || n != name {
			continue
		}
		k, values, err := parsePartitions(dirs)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: %s: %w", name, o.Key, err)
		}
		if !hasKeys {
			keys, keysOf, hasKeys = k, o.Key, true
		} else if !slices.Equal(keys, k) {
			return nil, nil, fmt.Errorf("table %s: %s has partition keys [%s] but %s has [%s]: %w",
				name, keysOf, strings.Join(keys, ", "), o.Key, strings.Join(k, ", "), ErrSchemaMismatch)
		}
		files = append(files, File{Object: o, URI: w.URI(o.Key), Partition: values})
	}
	return files, keys, nil
}

// foldName finds the one table whose name equals name case-insensitively.
func (w *Warehouse) foldName(ctx context.Context, name TableName) (TableName, bool, error) {
	all, err := w.Tables(ctx)
	if err != nil {
		return TableName{}, false, fmt.Errorf("table %s: %w", name, err)
	}
	var found []TableName
	for _, n := range all {
		if strings.EqualFold(n.Schema, name.Schema) && strings.EqualFold(n.Name, name.Name) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return TableName{}, false, nil
	}
	return found[0], true, nil
}

// sameColumns reports the first difference between two files' columns.
func sameColumns(a, b *arrow.Schema) error {
	for i := range max(a.NumFields(), b.NumFields()) {
		switch {
		case i >= a.NumFields():
			return fmt.Errorf("column %d (%s) is only in the second file", i+1, b.Field(i).Name)
		case i >= b.NumFields():
			return fmt.Errorf("column %d (%s) is only in the first file", i+1, a.Field(i).Name)
		}
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) {
			return fmt.Errorf("column %d is %s %s in the first file but %s %s in the second", i+1, fa.Name, fa.Type, fb.Name, fb.Type)
		}
	}
	return nil
}

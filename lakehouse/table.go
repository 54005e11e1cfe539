package lakehouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/quiver-data/quiver/storage"
)

// AsOf picks the snapshot a Table call pins: the zero value is the current
// snapshot; SnapshotID set is that snapshot; TimestampMS set (with
// HasTimestamp) is the last snapshot committed at or before it, by the
// table's snapshot log (Iceberg's "as of timestamp"). It is the planner's
// storage.AsOf, which SQL's AT clause fills.
type AsOf = storage.AsOf

// Snapshot is one snapshot of a table, for a system table.
type Snapshot struct {
	SnapshotID int64
	// ParentID is the parent snapshot, when HasParent.
	ParentID       int64
	HasParent      bool
	SequenceNumber int64
	TimestampMS    int64
	// Operation is the summary's operation: append, overwrite, delete or
	// replace.
	Operation string
	// Summary are the summary's other properties (added-records, …).
	Summary map[string]string
	// Current reports whether it is the table's current snapshot.
	Current bool
}

// Table pins a snapshot of name (Schema "<catalog>.<namespace>") and
// returns it as a storage.Table: the snapshot's schema as Columns, its
// data files, each with the delete files that may apply to it and its
// manifest statistics, and the pinned snapshot in Iceberg, with the S3
// credentials the catalog vended for it. It costs one
// catalog round trip (LoadTable) when the snapshot was planned before,
// else also the reads of its manifest list and manifests.
func (c *Catalogs) Table(ctx context.Context, name storage.TableName, at AsOf) (*storage.Table, error) {
	l, id, err := c.split(name)
	if err != nil {
		return nil, err
	}
	t, id, err := l.load(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := c.pin(ctx, l.tableName(id), t, at)
	if err != nil {
		return nil, err
	}
	out.Iceberg.Credentials = l.vended(t)
	return out, nil
}

// Snapshots lists a table's snapshots in commit order.
func (c *Catalogs) Snapshots(ctx context.Context, name storage.TableName) ([]Snapshot, error) {
	l, id, err := c.split(name)
	if err != nil {
		return nil, err
	}
	t, _, err := l.load(ctx, id)
	if err != nil {
		return nil, err
	}
	md := t.Metadata()
	var cur int64
	if s := md.CurrentSnapshot(); s != nil {
		cur = s.SnapshotID
	}
	snaps := md.Snapshots()
	out := make([]Snapshot, len(snaps))
	for i, s := range snaps {
		out[i] = Snapshot{SnapshotID: s.SnapshotID, SequenceNumber: s.SequenceNumber, TimestampMS: s.TimestampMs, Current: s.SnapshotID == cur}
		if s.ParentSnapshotID != nil {
			out[i].ParentID, out[i].HasParent = *s.ParentSnapshotID, true
		}
		if s.Summary != nil {
			out[i].Operation = string(s.Summary.Operation)
			out[i].Summary = map[string]string(s.Summary.Properties)
		}
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		return cmp.Or(cmp.Compare(a.SequenceNumber, b.SequenceNumber), cmp.Compare(a.TimestampMS, b.TimestampMS))
	})
	return out, nil
}

// pin builds the storage.Table of t at snapshot at.
func (c *Catalogs) pin(ctx context.Context, name storage.TableName, t *table.Table, at AsOf) (*storage.Table, error) {
	md := t.Metadata()
	if v := md.Version(); v > 3 {
		return nil, fmt.Errorf("table %s: format version %d: %w", name, v, ErrUnsupported)
	}
	// A name mapping is how readers find the columns of files written
	// without field ids (migrated or added files): a read by field id
	// would give their columns as NULL.
	if _, ok := md.Properties()[table.DefaultNameMappingKey]; ok {
		return nil, fmt.Errorf("table %s has a name mapping (%s), so some of its files may lack field ids: %w",
			name, table.DefaultNameMappingKey, ErrUnsupported)
	}
	snap, err := pickSnapshot(name, md, at)
	if err != nil {
		return nil, err
	}
	// A current read uses the current schema (a schema change commits no
	// snapshot); time travel the schema the snapshot was written with.
	sc := md.CurrentSchema()
	if !at.IsCurrent() && snap.SchemaID != nil {
		if sc = schemaByID(md, *snap.SchemaID); sc == nil {
			return nil, fmt.Errorf("table %s: snapshot %d has schema %d, which the metadata lacks", name, snap.SnapshotID, *snap.SchemaID)
		}
	}
	cols, ids, err := columns(name.String(), sc)
	if err != nil {
		return nil, err
	}
	out := &storage.Table{
		Name:    name,
		Columns: cols,
		Iceberg: &storage.IcebergSnapshot{MetadataLocation: t.MetadataLocation(), SchemaID: sc.ID, FieldIDs: ids,
			Comment: md.Properties()["comment"], Owner: md.Properties()["owner"]},
	}
	if snap == nil {
		return out, nil
	}
	out.Iceberg.SnapshotID, out.Iceberg.SequenceNumber, out.Iceberg.TimestampMS = snap.SnapshotID, snap.SequenceNumber, snap.TimestampMs
	p, err := c.plan(ctx, name, t, snap, sc, cols, ids, at.IsCurrent())
	if err != nil {
		return nil, err
	}
	out.Files, out.Rows = slices.Clone(p.files), p.rows
	return out, nil
}

// pickSnapshot is the snapshot at picks: nil for the current snapshot of a
// table that has none.
func pickSnapshot(name storage.TableName, md table.Metadata, at AsOf) (*table.Snapshot, error) {
	switch {
	case at.SnapshotID != 0:
		if s := md.SnapshotByID(at.SnapshotID); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("table %s has no snapshot %d (snapshots: %s): %w", name, at.SnapshotID, snapshotList(md), ErrSnapshotNotFound)
	case at.HasTimestamp:
		// The snapshot log is what was current when; a table whose log
		// was not kept falls back to the snapshots' commit times.
		var best *table.Snapshot
		logged := false
		for e := range md.SnapshotLogs() {
			logged = true
			if e.TimestampMs <= at.TimestampMS && (best == nil || e.TimestampMs >= best.TimestampMs) {
				if s := md.SnapshotByID(e.SnapshotID); s != nil {
					best = &table.Snapshot{SnapshotID: s.SnapshotID, TimestampMs: e.TimestampMs}
				}
			}
		}
		if !logged {
			for _, s := range md.Snapshots() {
				if s.TimestampMs <= at.TimestampMS && (best == nil || s.TimestampMs >= best.TimestampMs) {
					best = &table.Snapshot{SnapshotID: s.SnapshotID, TimestampMs: s.TimestampMs}
				}
			}
		}
		if best == nil {
			return nil, fmt.Errorf("table %s has no snapshot at or before %s (snapshots: %s): %w",
				name, time.UnixMilli(at.TimestampMS).UTC().Format(time.RFC3339Nano), snapshotList(md), ErrSnapshotNotFound)
		}
		return md.SnapshotByID(best.SnapshotID), nil
	}
	return md.CurrentSnapshot(), nil
}

// snapshotList names a table's snapshots for an error message: id@time,
// oldest first, at most 20 (the newest).
func snapshotList(md table.Metadata) string {
	snaps := md.Snapshots()
	if len(snaps) == 0 {
		return "none"
	}
	slices.SortStableFunc(snaps, func(a, b table.Snapshot) int { return cmp.Compare(a.TimestampMs, b.TimestampMs) })
	var parts []string
	if len(snaps) > 20 {
		parts = append(parts, "…")
		snaps = snaps[len(snaps)-20:]
	}
	for _, s := range snaps {
		parts = append(parts, strconv.FormatInt(s.SnapshotID, 10)+"@"+time.UnixMilli(s.TimestampMs).UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, ", ")
}

// schemaByID is the schema with id id, or nil.
func schemaByID(md table.Metadata, id int) *iceberg.Schema {
	for _, s := range md.Schemas() {
		if s.ID == id {
			return s
		}
	}
	return nil
}

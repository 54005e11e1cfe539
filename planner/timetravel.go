package planner

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Time travel: `FROM t AT (VERSION => snapshot_id)` and
// `FROM t AT (TIMESTAMP => ts)`, DuckDB's syntax, read an older snapshot of
// an Iceberg table. The clause is read here into a storage.AsOf; the
// catalog pins the snapshot, and the reference is planned under a name of
// its own (the table's name with the snapshot's suffix), so one query may
// read two snapshots of a table, each typed with its own schema.

var (
	// ErrTimeTravel is an AT clause on a table that has no snapshots, or
	// one whose value is not a literal Quiver can read.
	ErrTimeTravel = errkind.New(errkind.Invalid, "time travel")
	// ErrSnapshotNotFound is a snapshot the table does not have.
	ErrSnapshotNotFound = errkind.New(errkind.NotFound, "snapshot not found")
)

// asOf reads a BASE_TABLE's AT clause.
func asOf(n node) (storage.AsOf, error) {
	at := n.Child(ast.FieldAtClause)
	if at == nil {
		return storage.AsOf{}, nil
	}
	unit, expr := strings.ToUpper(at.Str("unit")), at.Child("expr")
	switch unit {
	case "VERSION":
		if id, ok := integerConstant(expr); ok && id != 0 {
			return storage.AsOf{SnapshotID: id}, nil
		}
		return storage.AsOf{}, fmt.Errorf("%w: AT (VERSION => …) takes a snapshot id, an integer literal", ErrTimeTravel)
	case "TIMESTAMP":
		ms, err := timestampConstant(expr)
		if err != nil {
			return storage.AsOf{}, fmt.Errorf("%w: AT (TIMESTAMP => …): %w", ErrTimeTravel, err)
		}
		return storage.AsOf{TimestampMS: ms, HasTimestamp: true}, nil
	}
	return storage.AsOf{}, fmt.Errorf("%w: AT (%s => …) is not supported: use VERSION or TIMESTAMP", ErrTimeTravel, unit)
}

// integerConstant is the value of an integer literal.
func integerConstant(e node) (int64, bool) {
	if e == nil || e.Class() != ast.ClassConstant {
		return 0, false
	}
	v := e.Child(ast.FieldValue)
	if v == nil || v["is_null"] == true {
		return 0, false
	}
	switch typeID(v) {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT", "UHUGEINT":
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(fmt.Sprint(v[ast.FieldValue]), 10, 64)
	return n, err == nil
}

// typeID is a constant value's type id.
func typeID(v node) string {
	t := v.Child(ast.FieldType)
	if t == nil {
		return ""
	}
	return t.Str("id")
}

// timestampFormats are the literal forms a timestamp is read in; without
// an offset it is UTC (the coordinator's and workers' time zone).
var timestampFormats = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// timestampConstant reads a timestamp literal (TIMESTAMP '…',
// TIMESTAMPTZ '…', DATE '…', '…' or CAST('…' AS TIMESTAMP)) as
// milliseconds since the epoch (a fraction of a millisecond is dropped:
// commit times are whole milliseconds).
func timestampConstant(e node) (int64, error) {
	if e != nil && e.Class() == ast.ClassCast {
		switch e.Child("cast_type").Str("id") {
		case "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_TZ", "DATE", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP_NS", "VARCHAR":
			e = e.Child("child")
		default:
			return 0, fmt.Errorf("want a timestamp literal, not a cast to %s", e.Child("cast_type").Str("id"))
		}
	}
	if e == nil || e.Class() != ast.ClassConstant {
		return 0, fmt.Errorf("want a timestamp literal such as TIMESTAMP '2026-01-31 12:00:00'")
	}
	v := e.Child(ast.FieldValue)
	if v == nil || v["is_null"] == true || typeID(v) != "VARCHAR" {
		return 0, fmt.Errorf("want a timestamp literal such as TIMESTAMP '2026-01-31 12:00:00'")
	}
	text := strings.TrimSpace(fmt.Sprint(v[ast.FieldValue]))
	for _, f := range timestampFormats {
		if t, err := time.Parse(f, text); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("cannot read %q as a timestamp", text)
}

// table resolves one reference: its snapshot when it has an AT clause.
func (p *Planner) table(ctx context.Context, ref tableRef) (*storage.Table, error) {
	if ref.atErr != nil {
		return nil, ref.atErr
	}
	if ref.at.IsCurrent() {
		return p.opts.Catalog.Table(ctx, ref.name)
	}
	sc, ok := p.opts.Catalog.(SnapshotCatalog)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no snapshots", ErrTimeTravel, ref.display)
	}
	t, err := sc.TableAt(ctx, ref.base, ref.at)
	if err != nil {
		return nil, err
	}
	pinned := *t
	pinned.Name = ref.name
	return &pinned, nil
}

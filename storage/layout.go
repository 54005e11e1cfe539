package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// TableName names a table: the directory <schema>/<table>/ of the warehouse.
type TableName struct{ Schema, Name string }

// String is "schema.name".
func (n TableName) String() string { return n.Schema + "." + n.Name }

// valid reports whether n can name a table directory at all: no separators,
// not hidden, not empty. Anything else (say a planner's "cat.schema") can
// never exist and must not reach the backend as a path.
func (n TableName) valid() bool {
	for _, s := range []string{n.Schema, n.Name} {
		if s == "" || strings.ContainsAny(s, `/\`) || hidden(s) {
			return false
		}
	}
	return true
}

// prefix is the listing prefix of the table's directory.
func (n TableName) prefix() string { return n.Schema + "/" + n.Name + "/" }

// hidden reports whether a path segment is skipped the way Spark and Hive
// skip them: names starting with "." and names starting with "_" unless they
// are partition directories ("_col=1").
func hidden(seg string) bool {
	return strings.HasPrefix(seg, ".") || (strings.HasPrefix(seg, "_") && !strings.Contains(seg, "="))
}

// splitKey places a key in the layout: ok is true when key is a visible
// .parquet file at <schema>/<table>/…/<file>.parquet; dirs are the
// directories between the table and the file.
func splitKey(key string) (name TableName, dirs []string, ok bool) {
	segs := strings.Split(key, "/")
	if len(segs) < 3 {
		return TableName{}, nil, false
	}
	file := segs[len(segs)-1]
	if !strings.HasSuffix(file, ".parquet") || hidden(file) {
		return TableName{}, nil, false
	}
	for _, s := range segs[:len(segs)-1] {
		if s == "" || hidden(s) {
			return TableName{}, nil, false
		}
	}
	return TableName{Schema: segs[0], Name: segs[1]}, segs[2 : len(segs)-1], true
}

// Tables lists every table by listing the whole warehouse once, sorted by
// schema then name.
func (w *Warehouse) Tables(ctx context.Context) ([]TableName, error) {
	objs, err := w.list(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", w, err)
	}
	seen := map[TableName]bool{}
	var names []TableName
	for _, o := range objs {
		name, _, ok := splitKey(o.Key)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].Schema != names[j].Schema {
			return names[i].Schema < names[j].Schema
		}
		return names[i].Name < names[j].Name
	})
	return names, nil
}

// list lists prefix through the backend, counting and logging it.
func (w *Warehouse) list(ctx context.Context, prefix string) ([]Object, error) {
	start := time.Now()
	objs, err := w.backend.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	w.metrics.lists.Inc()
	w.metrics.listedObjs.Add(float64(len(objs)))
	w.logger.Debug("warehouse listed", "warehouse", w.String(), "prefix", prefix,
		"objects", len(objs), "duration", time.Since(start))
	return objs, nil
}

package lakehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go/table"

	"github.com/quiver-data/quiver/storage"
)

// split finds the catalog of name (Schema "<catalog>.<namespace>") and
// the table's identifier in it as spelled.
func (c *Catalogs) split(name storage.TableName) (*lake, table.Identifier, error) {
	cat, ns, ok := strings.Cut(name.Schema, ".")
	l := c.lake(cat)
	if !ok || l == nil || ns == "" || name.Name == "" {
		return nil, nil, fmt.Errorf("table %s: %w", name, storage.ErrTableNotFound)
	}
	return l, append(strings.Split(ns, "."), name.Name), nil
}

// load loads the table id names in one catalog round trip when id is
// spelled as the catalog spells it (or as an earlier reference resolved),
// else it finds the one table whose namespace and name match id
// case-insensitively, as SQL identifiers do, and loads that. It returns
// the table and its identifier as the catalog spells it.
func (l *lake) load(ctx context.Context, id table.Identifier) (*table.Table, table.Identifier, error) {
	conn, err := l.connection(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := strings.ToLower(strings.Join(id, "\x00"))
	l.mu.Lock()
	try, aliased := l.aliases[key]
	l.mu.Unlock()
	if !aliased {
		try = id
	}
	t, err := conn.cat.LoadTable(ctx, try)
	if err == nil {
		return t, try, nil
	}
	if !notFound(err) {
		return nil, nil, fmt.Errorf("iceberg catalog %s: load table %s: %w", l.spec.Name, strings.Join(try, "."), classify(err))
	}
	if aliased {
		l.mu.Lock()
		delete(l.aliases, key)
		l.mu.Unlock()
	}
	found, err := l.fold(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if found == nil || slices.Equal(found, try) {
		return nil, nil, fmt.Errorf("table %s: %w", l.tableName(id), storage.ErrTableNotFound)
	}
	t, err = conn.cat.LoadTable(ctx, found)
	if notFound(err) { // dropped in between
		return nil, nil, fmt.Errorf("table %s: %w", l.tableName(id), storage.ErrTableNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg catalog %s: load table %s: %w", l.spec.Name, strings.Join(found, "."), classify(err))
	}
	l.mu.Lock()
	l.aliases[key] = found
	l.mu.Unlock()
	return t, found, nil
}

// fold finds the table identifier that matches id, namespace and table
// name each exactly or else as the single case-insensitive match; nil when
// there is none.
func (l *lake) fold(ctx context.Context, id table.Identifier) (table.Identifier, error) {
	nss, err := l.namespaces(ctx)
	if err != nil {
		return nil, err
	}
	want := strings.Join(id[:len(id)-1], ".")
	ns, ok := pick(nss, want, func(ns table.Identifier) string { return strings.Join(ns, ".") })
	if !ok {
		return nil, nil
	}
	ids, err := l.tables(ctx, ns)
	if err != nil {
		return nil, err
	}
	found, ok := pick(ids, id[len(id)-1], func(t table.Identifier) string { return t[len(t)-1] })
	if !ok {
		return nil, nil
	}
	return found, nil
}

// pick is the item whose name is want, else the single one whose name
// equals want case-insensitively.
func pick[T any](items []T, want string, name func(T) string) (T, bool) {
	var folded []T
	for _, it := range items {
		n := name(it)
		if n == want {
			return it, true
		}
		if strings.EqualFold(n, want) {
			folded = append(folded, it)
		}
	}
	if len(folded) == 1 {
		return folded[0], true
	}
	var zero T
	return zero, false
}

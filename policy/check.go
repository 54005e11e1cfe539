package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/quiver-data/quiver/storage"
)

// Tables is what Check needs of the catalog: a table's columns.
type Tables interface {
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// Check refuses a policy that denies or masks a column its table does
// not have: such a rule protects nothing (a misspelt column stays
// visible), so it is an error at load rather than silence. Tables that do
// not exist yet are not checked: they may be published later.
func (p *Policy) Check(ctx context.Context, tables Tables) error {
	for i, r := range p.Rules {
		cols := map[string][]string{}
		for table, cs := range r.DenyColumns {
			cols[table] = append(cols[table], cs...)
		}
		for table, masks := range r.Masks {
			for c := range masks {
				cols[table] = append(cols[table], c)
			}
		}
		names := make([]string, 0, len(cols))
		for table := range cols {
			names = append(names, table)
		}
		sort.Strings(names)
		for _, table := range names {
			// An Iceberg table is catalog.namespace.table: its schema is
			// everything before the last dot.
			dot := strings.LastIndex(table, ".")
			if dot <= 0 || dot == len(table)-1 {
				return fmt.Errorf("%w: rule %d: table %q is not schema.table (or catalog.namespace.table)", ErrInvalid, i+1, table)
			}
			schema, name := table[:dot], table[dot+1:]
			t, err := tables.Table(ctx, storage.TableName{Schema: schema, Name: name})
			if errors.Is(err, storage.ErrTableNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("check policy rule %d: table %s: %w", i+1, table, err)
			}
			have := make([]string, 0, len(t.Columns))
			for _, c := range t.Columns {
				have = append(have, strings.ToLower(c.Name))
			}
			for _, c := range cols[table] {
				if !slices.Contains(have, strings.ToLower(c)) {
					return fmt.Errorf("%w: rule %d: table %s has no column %q (it has %s)",
						ErrInvalid, i+1, table, c, strings.Join(have, ", "))
				}
			}
		}
	}
	return nil
}

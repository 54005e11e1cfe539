// Package catalogmeta is what a data platform says about its tables:
// owners, descriptions and tags of schemas, tables and columns, from a
// catalog file (--catalog-file) merged with what Iceberg tables say about
// themselves (the table properties "comment" and "owner", and column
// docs). System tables, GetTables and search read it.
//
//	schemas:
//	  demo: {owner: data-platform, description: "The demo's streaming service", tags: [demo]}
//	  lake.billing: {owner: finance}
//	tables:
//	  demo.profiles:
//	    owner: growth
//	    description: One row per account.
//	    tags: [customer]
//	    columns:
//	      email: {description: Login e-mail address., tags: ["pii:email"]}
//	  lake.billing.invoices:
//	    description: One invoice per account and month.
//
// A schema or table of the Parquet warehouse is named schema or
// schema.table (catalog quiver), one of an Iceberg catalog
// catalog.namespace or catalog.namespace.table; names match
// case-insensitively, as SQL identifiers do. The file wins over Iceberg
// for owner and description; tags are the union of both.
package catalogmeta

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is a catalog file that cannot be used.
var ErrInvalid = errors.New("invalid catalog file")

// DefaultCatalog is the Parquet warehouse's catalog, which two-part names
// in the file mean.
const DefaultCatalog = "quiver"

// Entry is what is said about a schema or a table.
type Entry struct {
	Owner       string   `yaml:"owner"`
	Description string   `yaml:"description"`
	Tags        []string `yaml:"tags"`
}

// Column is what is said about a column.
type Column struct {
	Description string   `yaml:"description"`
	Tags        []string `yaml:"tags"`
}

// TableEntry is what is said about a table and its columns.
type TableEntry struct {
	Entry   `yaml:",inline"`
	Columns map[string]Column `yaml:"columns"`
}

// file is the catalog file's shape.
type file struct {
	Schemas map[string]Entry      `yaml:"schemas"`
	Tables  map[string]TableEntry `yaml:"tables"`
}

// Key names a schema (Table "") or a table: lower-cased, with its catalog.
type Key struct {
	Catalog, Schema, Table string
}

// Catalog is a loaded catalog file; the zero value (and nil) says nothing
// about anything.
type Catalog struct {
	schemas map[Key]Entry
	tables  map[Key]TableEntry
}

// tagPattern is what a tag may look like: lower-case words joined by
// ':', '.', '_' or '-' ("pii:email", "tier-1").
var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]*$`)

// Load reads and checks a catalog file.
func Load(path string) (*Catalog, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog file: %w", err)
	}
	c, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads a catalog file's YAML.
func Parse(raw []byte) (*Catalog, error) {
	var f file
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c := &Catalog{schemas: map[Key]Entry{}, tables: map[Key]TableEntry{}}
	// In name order, so that which of two spellings is reported, and
	// which error comes first, does not depend on map order.
	for _, name := range slices.Sorted(maps.Keys(f.Schemas)) {
		e := f.Schemas[name]
		k, err := schemaKey(name)
		if err != nil {
			return nil, err
		}
		if err := checkTags("schema "+name, e.Tags); err != nil {
			return nil, err
		}
		if _, dup := c.schemas[k]; dup {
			return nil, fmt.Errorf("%w: schema %s is described twice (names are case-insensitive)", ErrInvalid, name)
		}
		c.schemas[k] = e
	}
	for _, name := range slices.Sorted(maps.Keys(f.Tables)) {
		e := f.Tables[name]
		k, err := tableKey(name)
		if err != nil {
			return nil, err
		}
		if err := checkTags("table "+name, e.Tags); err != nil {
			return nil, err
		}
		if _, dup := c.tables[k]; dup {
			return nil, fmt.Errorf("%w: table %s is described twice (names are case-insensitive)", ErrInvalid, name)
		}
		cols := make(map[string]Column, len(e.Columns))
		for _, col := range slices.Sorted(maps.Keys(e.Columns)) {
			ce := e.Columns[col]
			if strings.TrimSpace(col) == "" {
				return nil, fmt.Errorf("%w: table %s: a column without a name", ErrInvalid, name)
			}
			if err := checkTags("column "+name+"."+col, ce.Tags); err != nil {
				return nil, err
			}
			lc := strings.ToLower(col)
			if _, dup := cols[lc]; dup {
				return nil, fmt.Errorf("%w: table %s: column %s is described twice (names are case-insensitive)", ErrInvalid, name, col)
			}
			cols[lc] = ce
		}
		e.Columns = cols
		c.tables[k] = e
	}
	return c, nil
}

func checkTags(what string, tags []string) error {
	for _, t := range tags {
		if !tagPattern.MatchString(t) {
			return fmt.Errorf("%w: %s: tag %q: want lower-case letters, digits and _ . : - (like pii:email)", ErrInvalid, what, t)
		}
	}
	return nil
}

// schemaKey reads "schema" or "catalog.namespace".
func schemaKey(name string) (Key, error) {
	parts, err := split(name)
	if err != nil {
		return Key{}, err
	}
	switch len(parts) {
	case 1:
		return Key{Catalog: DefaultCatalog, Schema: parts[0]}, nil
	case 2:
		return Key{Catalog: parts[0], Schema: parts[1]}, nil
	}
	return Key{}, fmt.Errorf("%w: schema %q: want schema (the Parquet warehouse) or catalog.namespace", ErrInvalid, name)
}

// tableKey reads "schema.table" or "catalog.namespace.table".
func tableKey(name string) (Key, error) {
	parts, err := split(name)
	if err != nil {
		return Key{}, err
	}
	switch len(parts) {
	case 2:
		return Key{Catalog: DefaultCatalog, Schema: parts[0], Table: parts[1]}, nil
	case 3:
		return Key{Catalog: parts[0], Schema: parts[1], Table: parts[2]}, nil
	}
	return Key{}, fmt.Errorf("%w: table %q: want schema.table (the Parquet warehouse) or catalog.namespace.table", ErrInvalid, name)
}

func split(name string) ([]string, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(name)), ".")
	if slices.Contains(parts, "") {
		return nil, fmt.Errorf("%w: name %q has an empty part", ErrInvalid, name)
	}
	return parts, nil
}

// NewKey is the key of a schema (table "") or a table as Quiver names it.
func NewKey(catalog, schema, table string) Key {
	return Key{Catalog: strings.ToLower(catalog), Schema: strings.ToLower(schema), Table: strings.ToLower(table)}
}

// Schema is what the file says about a schema.
func (c *Catalog) Schema(k Key) Entry {
	if c == nil {
		return Entry{}
	}
	k.Table = ""
	return c.schemas[k]
}

// Table is what the file says about a table.
func (c *Catalog) Table(k Key) TableEntry {
	if c == nil {
		return TableEntry{}
	}
	return c.tables[k]
}

// Tables lists the tables the file describes, for checks against what
// exists.
func (c *Catalog) Tables() []Key {
	if c == nil {
		return nil
	}
	out := make([]Key, 0, len(c.tables))
	for k := range c.tables {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// String is the key as the file spells it: catalog.schema[.table].
func (k Key) String() string {
	s := k.Catalog + "." + k.Schema
	if k.Table != "" {
		s += "." + k.Table
	}
	return s
}

// Merge is what the file says over what the table says about itself: the file's
// owner and description win, tags are the union (sorted, once each).
func Merge(file Entry, own Entry) Entry {
	out := own
	if file.Owner != "" {
		out.Owner = file.Owner
	}
	if file.Description != "" {
		out.Description = file.Description
	}
	out.Tags = UnionTags(file.Tags, own.Tags)
	return out
}

// MergeColumn is Merge for a column.
func MergeColumn(file Column, own Column) Column {
	out := own
	if file.Description != "" {
		out.Description = file.Description
	}
	out.Tags = UnionTags(file.Tags, own.Tags)
	return out
}

// UnionTags is the sorted union of tag lists, each tag once; nil for none.
func UnionTags(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WithColumnTags is the catalog with more column tags (lower-cased column
// names by table key): the tags accepted detections add. c is unchanged.
func (c *Catalog) WithColumnTags(extra map[Key]map[string][]string) *Catalog {
	if len(extra) == 0 {
		return c
	}
	out := &Catalog{schemas: map[Key]Entry{}, tables: map[Key]TableEntry{}}
	if c != nil {
		maps.Copy(out.schemas, c.schemas)
		maps.Copy(out.tables, c.tables)
	}
	for k, cols := range extra {
		e := out.tables[k]
		merged := make(map[string]Column, len(e.Columns)+len(cols))
		maps.Copy(merged, e.Columns)
		for col, tags := range cols {
			col = strings.ToLower(col)
			ce := merged[col]
			ce.Tags = UnionTags(ce.Tags, tags)
			merged[col] = ce
		}
		e.Columns = merged
		out.tables[k] = e
	}
	return out
}

package policy

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Column is what a decision may depend on about one column of a table.
type Column struct {
	Name string
	// Type is the column's DuckDB type (Trino's OPA input calls it
	// columnType).
	Type string
	// Tags are the column's catalog tags, accepted detections included
	// ("pii:email").
	Tags []string
}

// Resource is the table a decision is about.
type Resource struct {
	// Name is the table as the planner names it (an Iceberg table's
	// schema is "catalog.namespace").
	Name storage.TableName
	// Catalog, Schema and Table name it as Trino's OPA input does:
	// quiver.demo.plays for the Parquet warehouse, ice.sales.orders for
	// an Iceberg table.
	Catalog, Schema, Table string
	Columns                []Column
}

// Decider decides what a principal may read of a table: the policy file
// (*Policy) or a Rego bundle (policy/rego). Decide returns the
// restriction, or an error wrapping planner.ErrNotGranted when the table
// is not granted at all.
type Decider interface {
	Decide(ctx context.Context, p auth.Principal, r Resource) (*planner.Restriction, error)
}

// Resources describes a table for decisions: its columns, their types
// and tags (columns nil: a table known by name alone, whose columns
// Resources may look up or leave out).
type Resources func(ctx context.Context, name storage.TableName, columns []storage.Column) Resource

// NameOnly is a Resource for a table of the Parquet warehouse (catalog
// "quiver") or an Iceberg table ("catalog.namespace" schema), by name
// alone.
func NameOnly(name storage.TableName) Resource {
	r := Resource{Name: name, Catalog: "quiver", Schema: name.Schema, Table: name.Name}
	if c, s, ok := strings.Cut(name.Schema, "."); ok {
		r.Catalog, r.Schema = c, s
	}
	return r
}

// Untagged describes a table by name and column names, without types or
// tags (no Resources configured).
func Untagged(name storage.TableName, columns []storage.Column) Resource {
	r := NameOnly(name)
	for _, c := range columns {
		r.Columns = append(r.Columns, Column{Name: c.Name})
	}
	return r
}

var claimRef = regexp.MustCompile(`\$claims\.([A-Za-z_][A-Za-z0-9_]*)`)

// BindClaims prepares a row filter that names $claims.<key> for the
// planner: each reference becomes the parameter $quiver_claim_<key>, and
// the claim's value is put in claims (the planner makes it a typed
// constant, never SQL text). A principal whose token lacks a claim the
// filter needs is refused (planner.ErrNotGranted) rather than unfiltered.
func BindClaims(filter string, p auth.Principal, table string, claims map[string]any) (string, error) {
	for _, m := range claimRef.FindAllStringSubmatch(filter, -1) {
		v, ok := p.Claims[m[1]]
		if !ok {
			return "", fmt.Errorf("%w: table %s: the row filter needs claim %q, which the principal's token does not carry",
				planner.ErrNotGranted, table, m[1])
		}
		claims[m[1]] = v
	}
	return claimRef.ReplaceAllString(filter, "$$quiver_claim_$1"), nil
}

// principal is the context's principal; without authentication the
// caller is "anonymous", as everywhere else.
func principal(ctx context.Context) auth.Principal {
	if pr, ok := auth.FromContext(ctx); ok {
		return pr
	}
	return auth.Principal{Subject: "anonymous"}
}

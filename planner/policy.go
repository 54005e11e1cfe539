package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// ErrNotGranted is a table the principal may not read (policy).
var ErrNotGranted = errkind.New(errkind.PermissionDenied, "not granted")

type unrestrictedKey struct{}

// Unrestricted marks ctx's statements as the server's own, planned with
// no policy: the detection job, which must see the values a policy
// masks to tell which columns hold personal data. A Go context value
// never comes from a client's request.
func Unrestricted(ctx context.Context) context.Context {
	return context.WithValue(ctx, unrestrictedKey{}, true)
}

// Policy decides what a principal (from the context) may see of a table.
type Policy interface {
	// Restrict returns the table's restriction, or ErrNotGranted. columns
	// are the table's as resolved (decisions by tag need them); nil for a
	// table known by name alone.
	Restrict(ctx context.Context, name storage.TableName, columns []storage.Column) (*Restriction, error)
}

// Restriction is what a policy leaves of a table: columns removed, columns
// replaced by mask expressions, and row filters (SQL over the table's
// columns, where $quiver_claim_<name> parameters stand for claim values).
// TypedMasks are masks whose value is cast back to the column's type
// (TRY_CAST, so a mask that cannot be one, '***' for an integer, is
// NULL): tag masks and Rego masks, which cover columns of any type and
// must not change a table's schema, as Trino's masks do not. A column in
// Masks takes that mask; Deny wins over both.
type Restriction struct {
	Deny       []string
	Masks      map[string]string
	TypedMasks map[string]string
	Filters    []string
	Claims     map[string]any
}

// applyPolicy replaces every table reference with a subquery that applies
// the principal's restriction: `(SELECT <allowed columns, masked> FROM t
// WHERE <filters>) AS <alias>`. It runs before distribution, so workers
// only ever see policy-applied SQL, and the subquery only projects and
// filters, so the table can still be split. Claim values enter the tree as
// typed constants, never as SQL text. refs are updated to point at the
// table references inside the subqueries.
//
// It returns the restriction of each reference, in order (none without a
// policy): with the statement's text and the tables they determine the
// rewrite (Planner.cacheKey).
func (p *Planner) applyPolicy(ctx context.Context, refs []tableRef) ([]*Restriction, error) {
	if p.opts.Policy == nil || ctx.Value(unrestrictedKey{}) != nil {
		return nil, nil
	}
	out := make([]*Restriction, len(refs))
	for i := range refs {
		r, err := p.opts.Policy.Restrict(ctx, refs[i].base, refs[i].table.Columns)
		if err != nil {
			return nil, err
		}
		out[i] = r
		inner := refs[i].node.Copy()
		alias := inner.Alias()
		if alias == "" {
			alias = inner.Str(ast.FieldTableName)
		}
		inner[ast.FieldAlias] = ""
		sel, err := p.restrictedSelect(ctx, refs[i].table, r, inner)
		if err != nil {
			return nil, fmt.Errorf("policy for table %s: %w", refs[i].base, err)
		}
		sub := ast.SubqueryRef(sel, alias)
		if cols := refs[i].node[ast.FieldColumnAliases]; cols != nil {
			sub[ast.FieldColumnAliases] = ast.Clone(cols)
		}
		refs[i].node.Replace(sub)
		refs[i].node, refs[i].restricted = inner, true
	}
	return out, nil
}

func (p *Planner) restrictedSelect(ctx context.Context, t *storage.Table, r *Restriction, from node) (node, error) {
	sel := ast.Select(from)
	var cols []any
	for _, c := range t.Columns {
		if slices.ContainsFunc(r.Deny, func(d string) bool { return strings.EqualFold(d, c.Name) }) {
			continue
		}
		e := ast.ColumnRef(c.Name)
		if m, ok := r.Masks[c.Name]; ok {
			var err error
			if e, err = p.policyExpr(ctx, "SELECT "+m, r.Claims, "select_list"); err != nil {
				return nil, fmt.Errorf("mask of column %s: %w", c.Name, err)
			}
		} else if m, ok := r.TypedMasks[c.Name]; ok {
			typ, err := p.opts.TypeName(c.Type)
			if err != nil {
				return nil, fmt.Errorf("mask of column %s: %w", c.Name, err)
			}
			if e, err = p.policyExpr(ctx, "SELECT TRY_CAST(("+m+") AS "+typ+")", r.Claims, "select_list"); err != nil {
				return nil, fmt.Errorf("mask of column %s: %w", c.Name, err)
			}
		}
		e[ast.FieldAlias] = c.Name
		cols = append(cols, e)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: every column of %s is denied", ErrNotGranted, t.Name)
	}
	sel[ast.FieldSelectList] = cols
	var where node
	for _, f := range r.Filters {
		e, err := p.policyExpr(ctx, "SELECT 1 WHERE "+f, r.Claims, "where_clause")
		if err != nil {
			return nil, fmt.Errorf("row filter %q: %w", f, err)
		}
		if where == nil {
			where = e
		} else {
			where = ast.And(where, e)
		}
	}
	if where != nil {
		sel[ast.FieldWhere] = where
	}
	return sel, nil
}

// policyExpr parses one expression of a policy (trusted configuration) and
// binds claim parameters as typed constants.
func (p *Planner) policyExpr(ctx context.Context, sql string, claims map[string]any, field string) (node, error) {
	st, err := p.parse(ctx, sql)
	if err != nil {
		return nil, err
	}
	var e node
	if field == "select_list" {
		list := ast.Nodes(st.node[ast.FieldSelectList])
		if len(list) != 1 {
			return nil, fmt.Errorf("want one expression")
		}
		e = list[0]
	} else {
		e = ast.AsNode(st.node[field])
	}
	var bindErr error
	ast.Walk(e, func(n node) {
		if n.Class() != ast.ClassParameter {
			return
		}
		name, ok := strings.CutPrefix(n.Str(ast.FieldIdentifier), "quiver_claim_")
		if !ok {
			bindErr = fmt.Errorf("parameter %s: only $claims.<name> may be used", n.Str(ast.FieldIdentifier))
			return
		}
		c, err := claimConstant(claims[name])
		if err != nil {
			bindErr = fmt.Errorf("claim %s: %w", name, err)
			return
		}
		n.Replace(c)
	})
	if bindErr != nil {
		return nil, bindErr
	}
	return e, nil
}

// claimConstant types a claim value (JSON from a token, YAML from a users
// file) as a DuckDB constant.
func claimConstant(v any) (node, error) {
	switch v := v.(type) {
	case string:
		return ast.Constant("VARCHAR", v), nil
	case bool:
		return ast.Constant("BOOLEAN", v), nil
	case int:
		return ast.Constant("BIGINT", json.Number(fmt.Sprint(v))), nil
	case int64:
		return ast.Constant("BIGINT", json.Number(fmt.Sprint(v))), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return ast.Constant("BIGINT", json.Number(fmt.Sprint(int64(v)))), nil
		}
		return ast.Constant("DOUBLE", v), nil
	}
	return nil, fmt.Errorf("claim value of type %T cannot be used in a filter", v)
}

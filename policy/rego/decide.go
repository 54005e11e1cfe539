package rego

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/policy"
)

// Decide is policy.Decider. The table is granted when allow holds for
// SelectFromColumns with no columns; a column is denied when allow does
// not hold for SelectFromColumns with that column alone. Row filters come
// from rowFilters, masks of the columns left from batchColumnMasks or
// columnMask. Any error of the policy refuses the table.
func (e *Engine) Decide(ctx context.Context, p auth.Principal, r policy.Resource) (*planner.Restriction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // a cancelled query asks for no decision
	}
	table := r.Name.String()
	in, err := newInputs(p, r)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: %w", ErrDecision, table, err)
	}
	ok, err := e.allowed(ctx, in.selectFrom(nil))
	if err != nil {
		return nil, decisionError(ctx, table, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: table %s is not granted to %q", planner.ErrNotGranted, table, p.Subject)
	}
	out := &planner.Restriction{Masks: map[string]string{}, TypedMasks: map[string]string{}, Claims: map[string]any{}}
	kept, err := e.columns(ctx, in)
	if err != nil {
		return nil, decisionError(ctx, table, err)
	}
	for i, c := range r.Columns {
		if !kept[i] {
			out.Deny = append(out.Deny, c.Name)
		}
	}
	filters, err := e.filters(ctx, in)
	if err != nil {
		return nil, decisionError(ctx, table, err)
	}
	for _, f := range filters {
		bound, err := policy.BindClaims(f, p, table, out.Claims)
		if err != nil {
			return nil, err
		}
		out.Filters = append(out.Filters, bound)
	}
	slices.Sort(out.Filters)
	out.Filters = slices.Compact(out.Filters)
	visible := make([]policy.Column, 0, len(r.Columns))
	for i, c := range r.Columns {
		if kept[i] {
			visible = append(visible, c)
		}
	}
	masks, err := e.masks(ctx, in, visible)
	if err != nil {
		return nil, decisionError(ctx, table, err)
	}
	for col, m := range masks {
		bound, err := policy.BindClaims(m, p, table, out.Claims)
		if err != nil {
			return nil, err
		}
		out.TypedMasks[col] = bound
	}
	return out, nil
}

// decisionError is a failed evaluation: the caller's cancellation as
// such, anything else ErrDecision.
func decisionError(ctx context.Context, table string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("rego decision for table %s: %w", table, ctx.Err())
	}
	return fmt.Errorf("%w: table %s: %w", ErrDecision, table, err)
}

// allowed evaluates allow; anything but true (undefined included) denies,
// and a value that is not a boolean is an error, as in Trino.
func (e *Engine) allowed(ctx context.Context, input ast.Value) (bool, error) {
	v, ok, err := eval(ctx, &e.allow, input)
	if err != nil || !ok {
		return false, err
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("%s is %T, not a boolean", ruleAllow, v)
	}
	return b, nil
}

// columns reports which of the table's columns the caller may read: one
// evaluation of batch (FilterColumns) when the bundle has it, of allow
// per column (SelectFromColumns with that column alone) otherwise.
func (e *Engine) columns(ctx context.Context, in *inputs) ([]bool, error) {
	cols := in.resource.Columns
	kept := make([]bool, len(cols))
	if len(cols) == 0 {
		return kept, nil
	}
	if e.batch == nil {
		for i, c := range cols {
			ok, err := e.allowed(ctx, in.selectFrom(ast.StringTerm(c.Name)))
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			kept[i] = ok
		}
		return kept, nil
	}
	v, ok, err := eval(ctx, e.batch, in.filterColumns())
	if err != nil || !ok {
		return kept, err // undefined: no column
	}
	list, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("%s is %T, not a set of column indices", ruleBatch, v)
	}
	for _, x := range list {
		i, err := index(x, len(cols))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ruleBatch, err)
		}
		kept[i] = true
	}
	return kept, nil
}

// filters evaluates rowFilters: a set or array of {"expression": …}.
func (e *Engine) filters(ctx context.Context, in *inputs) ([]string, error) {
	if e.rowFilters == nil {
		return nil, nil
	}
	v, ok, err := eval(ctx, e.rowFilters, in.getRowFilters())
	if err != nil || !ok {
		return nil, err
	}
	list, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("%s is %T, not a set of {\"expression\": …}", ruleRowFilters, v)
	}
	out := make([]string, 0, len(list))
	for _, f := range list {
		expr, err := expression(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ruleRowFilters, err)
		}
		out = append(out, expr)
	}
	return out, nil
}

// masks evaluates the masks of cols: batchColumnMasks once when the
// bundle has it, columnMask per column otherwise.
func (e *Engine) masks(ctx context.Context, in *inputs, cols []policy.Column) (map[string]string, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	if e.batchMasks != nil {
		v, ok, err := eval(ctx, e.batchMasks, in.getColumnMasks(cols))
		if err != nil || !ok {
			return nil, err
		}
		list, isList := v.([]any)
		if !isList {
			return nil, fmt.Errorf("%s is %T, not a set of {\"index\": …, \"viewExpression\": …}", ruleBatchMasks, v)
		}
		for _, m := range list {
			i, expr, err := batchMask(m, len(cols))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ruleBatchMasks, err)
			}
			name := cols[i].Name
			if prev, dup := out[name]; dup && prev != expr {
				return nil, fmt.Errorf("%s: column %s has two masks, %q and %q", ruleBatchMasks, name, prev, expr)
			}
			out[name] = expr
		}
		return out, nil
	}
	if e.columnMask == nil {
		return nil, nil
	}
	for _, c := range cols {
		v, ok, err := eval(ctx, e.columnMask, in.getColumnMask(c))
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if !ok {
			continue
		}
		expr, err := expression(v)
		if err != nil {
			return nil, fmt.Errorf("%s of column %s: %w", ruleColumnMask, c.Name, err)
		}
		out[c.Name] = expr
	}
	return out, nil
}

// eval evaluates a prepared query; ok is false when it is undefined.
func eval(ctx context.Context, q *oparego.PreparedEvalQuery, input ast.Value) (v any, ok bool, err error) {
	rs, err := q.Eval(ctx, oparego.EvalParsedInput(input))
	if err != nil {
		return nil, false, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

// expression is the SQL of a Trino view expression, {"expression": …}
// (its "identity", which Trino evaluates the expression as, does not
// apply: Quiver evaluates it with the table's own rights).
func expression(v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%T is not an object {\"expression\": …}", v)
	}
	s, ok := m["expression"].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%v has no expression string", v)
	}
	return s, nil
}

// batchMask is one entry of batchColumnMasks: {"index": i,
// "viewExpression": {"expression": …}} for filterResources[i].
func batchMask(v any, n int) (int, string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, "", fmt.Errorf("%T is not an object {\"index\": …, \"viewExpression\": …}", v)
	}
	i, err := index(m["index"], n)
	if err != nil {
		return 0, "", err
	}
	expr, err := expression(m["viewExpression"])
	if err != nil {
		return 0, "", fmt.Errorf("index %d: %w", i, err)
	}
	return i, expr, nil
}

// index is a JSON number that indexes one of n filterResources.
func index(v any, n int) (int, error) {
	var i int64 = -1
	switch x := v.(type) {
	case json.Number:
		var err error
		if i, err = x.Int64(); err != nil {
			i = -1
		}
	case float64:
		if x == float64(int64(x)) {
			i = int64(x)
		}
	case int:
		i = int64(x)
	}
	if i < 0 || i >= int64(n) {
		return 0, fmt.Errorf("index %v is not one of the %d filterResources", v, n)
	}
	return int(i), nil
}

// inputs builds the input documents of one decision.
type inputs struct {
	context  *ast.Term
	resource policy.Resource
	// table names the table (catalogName, schemaName, tableName).
	table      [][2]*ast.Term
	columnTags *ast.Term
}

func newInputs(p auth.Principal, r policy.Resource) (*inputs, error) {
	groups := make([]*ast.Term, len(p.Roles))
	for i, g := range p.Roles {
		groups[i] = ast.StringTerm(g)
	}
	claims := ast.NewObject()
	if len(p.Claims) > 0 {
		v, err := ast.InterfaceToValue(p.Claims)
		if err != nil {
			return nil, fmt.Errorf("claims of %q: %w", p.Subject, err)
		}
		o, ok := v.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("claims of %q are not an object", p.Subject)
		}
		claims = o
	}
	identity := ast.ObjectTerm(
		ast.Item(ast.StringTerm("user"), ast.StringTerm(p.Subject)),
		ast.Item(ast.StringTerm("groups"), ast.ArrayTerm(groups...)),
		ast.Item(ast.StringTerm("claims"), ast.NewTerm(claims)),
	)
	tags := make([][2]*ast.Term, len(r.Columns))
	for i, c := range r.Columns {
		tags[i] = ast.Item(ast.StringTerm(c.Name), stringArray(c.Tags))
	}
	return &inputs{
		context: ast.ObjectTerm(
			ast.Item(ast.StringTerm("identity"), identity),
			ast.Item(ast.StringTerm("softwareStack"), ast.ObjectTerm(
				ast.Item(ast.StringTerm("trinoVersion"), ast.StringTerm("quiver")))),
		),
		resource: r,
		table: [][2]*ast.Term{
			ast.Item(ast.StringTerm("catalogName"), ast.StringTerm(r.Catalog)),
			ast.Item(ast.StringTerm("schemaName"), ast.StringTerm(r.Schema)),
			ast.Item(ast.StringTerm("tableName"), ast.StringTerm(r.Table)),
		},
		columnTags: ast.ObjectTerm(tags...),
	}, nil
}

// doc is the input for an action.
func (in *inputs) doc(action ...[2]*ast.Term) ast.Value {
	return ast.NewObject(
		ast.Item(ast.StringTerm("context"), in.context),
		ast.Item(ast.StringTerm("action"), ast.ObjectTerm(action...)),
	)
}

// selectFrom is SelectFromColumns of the table, with no columns (nil) or
// one.
func (in *inputs) selectFrom(column *ast.Term) ast.Value {
	cols := ast.ArrayTerm()
	if column != nil {
		cols = ast.ArrayTerm(column)
	}
	table := append(slices.Clip(in.table),
		ast.Item(ast.StringTerm("columns"), cols),
		ast.Item(ast.StringTerm("columnTags"), in.columnTags))
	return in.doc(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm("SelectFromColumns")),
		ast.Item(ast.StringTerm("resource"), ast.ObjectTerm(ast.Item(ast.StringTerm("table"), ast.ObjectTerm(table...)))),
	)
}

// filterColumns is Trino's batched FilterColumns: one filterResource,
// the table with all its columns; the answer indexes the columns.
func (in *inputs) filterColumns() ast.Value {
	names := make([]*ast.Term, len(in.resource.Columns))
	for i, c := range in.resource.Columns {
		names[i] = ast.StringTerm(c.Name)
	}
	table := append(slices.Clip(in.table),
		ast.Item(ast.StringTerm("columns"), ast.ArrayTerm(names...)),
		ast.Item(ast.StringTerm("columnTags"), in.columnTags))
	return in.doc(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm("FilterColumns")),
		ast.Item(ast.StringTerm("filterResources"), ast.ArrayTerm(ast.ObjectTerm(ast.Item(ast.StringTerm("table"), ast.ObjectTerm(table...))))),
	)
}

func (in *inputs) getRowFilters() ast.Value {
	return in.doc(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm("GetRowFilters")),
		ast.Item(ast.StringTerm("resource"), ast.ObjectTerm(ast.Item(ast.StringTerm("table"), ast.ObjectTerm(in.table...)))),
	)
}

// column is the resource of a column mask.
func (in *inputs) column(c policy.Column) *ast.Term {
	col := append(slices.Clip(in.table),
		ast.Item(ast.StringTerm("columnName"), ast.StringTerm(c.Name)),
		ast.Item(ast.StringTerm("columnType"), ast.StringTerm(c.Type)),
		ast.Item(ast.StringTerm("tags"), stringArray(c.Tags)))
	return ast.ObjectTerm(ast.Item(ast.StringTerm("column"), ast.ObjectTerm(col...)))
}

func (in *inputs) getColumnMask(c policy.Column) ast.Value {
	return in.doc(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm("GetColumnMask")),
		ast.Item(ast.StringTerm("resource"), in.column(c)),
	)
}

func (in *inputs) getColumnMasks(cols []policy.Column) ast.Value {
	res := make([]*ast.Term, len(cols))
	for i, c := range cols {
		res[i] = in.column(c)
	}
	return in.doc(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm("GetColumnMask")),
		ast.Item(ast.StringTerm("filterResources"), ast.ArrayTerm(res...)),
	)
}

// stringArray is a JSON array of strings, [] for none.
func stringArray(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(ts...)
}

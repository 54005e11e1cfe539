package planner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/quiver-data/quiver/planner/ast"
)

// Variances, covariances, correlations and regressions from mergeable
// partial states. Summing x and x² per fragment and subtracting on the
// coordinator loses every digit when the mean is large against the
// spread; instead each fragment keeps what DuckDB's own Welford states
// hold — the count, the means, and the sums of squared (and crossed)
// deviations from its own means (var_pop · n, covar_pop · n, regr_sxx …)
// — and the merge combines them as Chan et al. do for parallel variance:
//
//	N = Σ n,  M = Σ n·mean / N,  M2 = Σ m2 + Σ n·(mean − M)²
//
// (and Cxy = Σ cxy + Σ n·(mx − Mx)(my − My)). The grand means M are
// window sums over the partials of the same group, so the merge reads the
// partials through a derived table that adds them (centered). Under
// several grouping sets the partials are first expanded once per set
// (setMerge).

// momentAggregates are the aggregates merged from moments, by the
// arguments they take.
var momentAggregates = map[string]int{
	"var_pop": 1, "var_samp": 1, "variance": 1, "stddev": 1, "stddev_pop": 1, "stddev_samp": 1,
	"covar_pop": 2, "covar_samp": 2, "corr": 2,
	"regr_count": 2, "regr_avgx": 2, "regr_avgy": 2, "regr_sxx": 2, "regr_syy": 2, "regr_sxy": 2,
	"regr_slope": 2, "regr_intercept": 2, "regr_r2": 2,
}

// centered is a grand mean the merge needs: the window average of a mean
// partial weighted by a count partial.
type centered struct {
	name, mean, n string
}

// grandMean returns the column that holds the group's mean of a mean
// partial weighted by n (added once).
func (a *aggRewrite) grandMean(mean, n string) string {
	for _, c := range a.centered {
		if c.mean == mean && c.n == n {
			return c.name
		}
	}
	name := fmt.Sprintf("m%d", len(a.centered))
	a.centered = append(a.centered, centered{name: name, mean: mean, n: n})
	return name
}

// addMoments adds the partials of a moment aggregate and its merge.
func (a *aggRewrite) addMoments(name string, bare node) node {
	call := func(fn string) node {
		c := bare.Copy()
		c[ast.FieldFunctionName] = fn
		return c
	}
	col := func(fn string) node { return ast.ColumnRef(a.partial(call(fn))) }
	times := func(l, r node) node { return ast.Operator("*", l, r) }
	minus := func(l, r node) node { return ast.Operator("-", l, r) }
	div := func(l, r node) node { return ast.Operator("/", l, r) }
	sum := func(e node) node { return function("sum", []any{e}) }
	double := func(e node) node { return ast.Cast(e, "DOUBLE") }
	if momentAggregates[name] == 1 {
		n, mean := col("count"), col("avg")
		mw := ast.ColumnRef(a.partial(times(call("var_pop"), call("count"))))
		dev := minus(mean, ast.ColumnRef(a.grandMean(mean.ColumnNames()[0], n.ColumnNames()[0])))
		m2 := ast.Operator("+", sum(mw), sum(times(double(n), times(dev, dev))))
		total := sum(n)
		// One value has no sample variance (NULL, as DuckDB says).
		samp := div(m2, function("nullif", []any{minus(total, ast.Constant("INTEGER", 1)), ast.Constant("INTEGER", 0)}))
		switch name {
		case "var_pop":
			return div(m2, total)
		case "var_samp", "variance":
			return samp
		case "stddev_pop":
			return function("sqrt", []any{div(m2, total)})
		default: // stddev, stddev_samp
			return function("sqrt", []any{samp})
		}
	}
	n := col("regr_count")
	mx, my := col("regr_avgx"), col("regr_avgy")
	gx := ast.ColumnRef(a.grandMean(mx.ColumnNames()[0], n.ColumnNames()[0]))
	gy := ast.ColumnRef(a.grandMean(my.ColumnNames()[0], n.ColumnNames()[0]))
	dx, dy := minus(mx, gx), minus(my, gy)
	cov := ast.ColumnRef(a.partial(times(call("covar_pop"), call("regr_count"))))
	nd := double(n)
	cxy := ast.Operator("+", sum(cov), sum(times(nd, times(dx, dy))))
	sxx := ast.Operator("+", sum(col("regr_sxx")), sum(times(nd, times(dx, dx))))
	syy := ast.Operator("+", sum(col("regr_syy")), sum(times(nd, times(dy, dy))))
	total := sum(n)
	// The grand means again, as aggregates: every row of the group holds them.
	gmx, gmy := function("any_value", []any{gx}), function("any_value", []any{gy})
	switch name {
	case "regr_count":
		return ast.Coalesce(ast.Cast(total, "UINTEGER"), ast.Constant("UINTEGER", 0))
	case "regr_avgx":
		return gmx
	case "regr_avgy":
		return gmy
	case "regr_sxx":
		return sxx
	case "regr_syy":
		return syy
	case "regr_sxy":
		return cxy
	case "covar_pop":
		return div(cxy, total)
	case "covar_samp":
		return div(cxy, function("nullif", []any{minus(total, ast.Constant("INTEGER", 1)), ast.Constant("INTEGER", 0)}))
	case "corr":
		return div(cxy, function("sqrt", []any{times(sxx, syy)}))
	case "regr_slope":
		return div(cxy, sxx)
	case "regr_intercept":
		// No intercept when x does not vary (the slope is not finite).
		return caseWhen([][2]node{{isZero(sxx), nullConstant()}}, minus(gmy, times(div(cxy, sxx), gmx)))
	default: // regr_r2: NULL when x does not vary, 1 when only y does not
		return caseWhen([][2]node{{isZero(sxx), nullConstant()}, {isZero(syy), ast.Cast(ast.Constant("INTEGER", 1), "DOUBLE")}},
			div(times(cxy, cxy), times(sxx, syy)))
	}
}

// caseWhen is CASE WHEN c1 THEN v1 … ELSE otherwise END.
func caseWhen(checks [][2]node, otherwise node) node {
	list := make([]any, len(checks))
	for i, c := range checks {
		list[i] = node{"when_expr": c[0], "then_expr": c[1]}
	}
	return node{ast.FieldClass: "CASE", ast.FieldType: "CASE_EXPR", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		"case_checks": list, "else_expr": otherwise}
}

// isZero is `e = 0`.
func isZero(e node) node {
	return node{ast.FieldClass: ast.ClassComparison, ast.FieldType: ast.ExprCompareEqual, ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldLeft: e, ast.FieldRight: ast.Constant("INTEGER", 0)}
}

// nullConstant is NULL.
func nullConstant() node {
	return node{ast.FieldClass: ast.ClassConstant, ast.FieldType: ast.ExprValueConstant, ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldValue: node{"type": node{"id": "NULL", "type_info": nil}, "is_null": true}}
}

// windowSum is sum(e) OVER (PARTITION BY partitions).
func windowSum(e node, partitions []any) node {
	return node{ast.FieldClass: ast.ClassWindow, ast.FieldType: "WINDOW_AGGREGATE", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldFunctionName: "sum", "schema": "", "catalog": "", ast.FieldChildren: []any{e}, "partitions": partitions, "orders": []any{},
		"start": "UNBOUNDED_PRECEDING", "end": "CURRENT_ROW_RANGE", "start_expr": nil, "end_expr": nil, "offset_expr": nil, "default_expr": nil,
		"ignore_nulls": false, "filter_expr": nil, "exclude_clause": "NO_OTHER", ast.FieldDistinct: false, "arg_orders": []any{}}
}

// centeredPartials is the merge's FROM when it needs grand means: the
// partials with, per group (keys), each grand mean as a column.
func (a *aggRewrite) centeredPartials(keys []any) node {
	return a.centeredOver(ast.Table("", PartialsTable), keys)
}

// centeredOver is centeredPartials over another FROM of partials.
func (a *aggRewrite) centeredOver(from node, keys []any) node {
	inner := ast.Select(from)
	list := []any{ast.Star()}
	for _, c := range a.centered {
		weighted := windowSum(ast.Operator("*", ast.ColumnRef(c.n), ast.ColumnRef(c.mean)), ast.Clone(keys).([]any))
		m := ast.Operator("/", weighted, windowSum(ast.ColumnRef(c.n), ast.Clone(keys).([]any)))
		m[ast.FieldAlias] = c.name
		list = append(list, m)
	}
	inner[ast.FieldSelectList] = list
	return ast.SubqueryRef(inner, PartialsTable)
}

// setColumn numbers the grouping set a row of expanded partials stands for.
const setColumn = "quiver_set"

// Moments under grouping sets. A group of one grouping set gathers the
// partials of every full-key group it covers, which is no window
// partition of the partials; so the merge first expands the partials once
// per set (a cross join with range(sets)), with the keys outside the set
// made NULL as GROUPING SETS makes them, and centers each copy over its
// set's group (windows partitioned by the set number and the keys). Then
// one plain GROUP BY over (set, keys) forms every set's groups, and
// GROUPING() becomes the constant each set gives it.

// groupingSetIndices decodes a statement's group_sets: per set, the
// indices of its keys.
func groupingSetIndices(sets []any) ([][]int, bool) {
	out := make([][]int, len(sets))
	for i, s := range sets {
		for _, v := range ast.Clone(s).([]any) {
			var k int64
			switch v := v.(type) {
			case json.Number:
				n, err := v.Int64()
				if err != nil {
					return nil, false
				}
				k = n
			case int:
				k = int64(v)
			default:
				return nil, false
			}
			out[i] = append(out[i], int(k))
		}
	}
	return out, true
}

// setMerge turns merge, built for grouping sets over partials, into the
// merge over partials expanded per set (see above). keys are k0…kn.
func (a *aggRewrite) setMerge(merge node, keys []any, rawSets []any) (node, error) {
	sets, ok := groupingSetIndices(rawSets)
	if !ok {
		return nil, fallbackOf(ReasonAggregate, "grouping sets")
	}
	set := ast.ColumnRef(setColumn)
	inSet := func(j int) []int {
		var ids []int
		for i, s := range sets {
			if slices.Contains(s, j) {
				ids = append(ids, i)
			}
		}
		return ids
	}
	// The partials, once per set: quiver_set, the keys (NULL outside the
	// set), every partial column.
	list := []any{set.Copy()}
	for j := range keys {
		name := fmt.Sprintf("k%d", j)
		var checks [][2]node
		for _, i := range inSet(j) {
			checks = append(checks, [2]node{isSet(i), ast.ColumnRef(name)})
		}
		k := nullConstant()
		if len(checks) > 0 {
			k = caseWhen(checks, nullConstant())
		}
		k[ast.FieldAlias] = name
		list = append(list, k)
	}
	if a.distinctArg != nil {
		list = append(list, ast.ColumnRef("d0"))
	}
	for _, p := range a.partials {
		list = append(list, ast.ColumnRef(p.Alias()))
	}
	expanded := mergeSelect()
	expanded[ast.FieldSelectList] = list
	expanded[ast.FieldFromTable] = node{ast.FieldType: ast.Join, ast.FieldAlias: "", ast.FieldSample: nil, ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldLeft:  ast.Table("", PartialsTable),
		ast.FieldRight: setsRef(len(sets)), ast.FieldCondition: nil,
		ast.FieldJoinType: ast.JoinInner, ast.FieldRefType: ast.RefCross, ast.FieldUsing: []any{},
		"delim_flipped": false, "duplicate_eliminated_columns": []any{}}
	groups := append([]any{set.Copy()}, ast.Clone(keys).([]any)...)
	merge[ast.FieldFromTable] = a.centeredOver(ast.SubqueryRef(expanded, PartialsTable), groups)
	merge[ast.FieldGroupBy] = groups
	merge[ast.FieldGroupSets] = groupSets(len(groups))
	// GROUPING(k…) is the constant its set gives it.
	var fix func(e node) (node, error)
	fix = func(e node) (node, error) {
		if e.Type() != ast.ExprGroupingFunction {
			return ast.MapChildren(e, fix)
		}
		args := ast.Nodes(e[ast.FieldChildren])
		var checks [][2]node
		for i, s := range sets {
			mask := 0
			for _, arg := range args {
				j := -1
				if arg.Class() == ast.ClassColumnRef {
					_, err := fmt.Sscanf(arg.ColumnNames()[len(arg.ColumnNames())-1], "k%d", &j)
					if err != nil {
						j = -1
					}
				}
				if j < 0 || j >= len(keys) {
					return nil, fallbackOf(ReasonAggregate, "grouping() of a non-key")
				}
				mask <<= 1
				if !slices.Contains(s, j) {
					mask |= 1
				}
			}
			checks = append(checks, [2]node{isSet(i),
				// GROUPING() is a BIGINT; a bare literal would be an INTEGER.
				ast.Cast(ast.Constant("INTEGER", json.Number(strconv.Itoa(mask))), "BIGINT")})
		}
		c := caseWhen(checks, nullConstant())
		c[ast.FieldAlias] = e.Alias()
		return c, nil
	}
	for _, field := range []string{ast.FieldSelectList, ast.FieldHaving, ast.FieldModifiers} {
		switch v := merge[field].(type) {
		case node:
			f, err := fix(v)
			if err != nil {
				return nil, err
			}
			merge[field] = f
		case []any:
			for i, x := range v {
				if xn, ok := x.(node); ok {
					f, err := fix(xn)
					if err != nil {
						return nil, err
					}
					v[i] = f
				}
			}
		}
	}
	return merge, nil
}

// isSet is `quiver_set = i`.
func isSet(i int) node {
	return node{ast.FieldClass: ast.ClassComparison, ast.FieldType: ast.ExprCompareEqual, ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldLeft: ast.ColumnRef(setColumn), ast.FieldRight: ast.Constant("BIGINT", json.Number(strconv.Itoa(i)))}
}

// setsRef is range(n) AS quiver_sets(quiver_set).
func setsRef(n int) node {
	r := ast.TableFunctionRef(ast.Function("range", ast.Constant("BIGINT", json.Number(strconv.Itoa(n)))), "quiver_sets")
	r[ast.FieldColumnAliases] = []any{setColumn}
	return r
}

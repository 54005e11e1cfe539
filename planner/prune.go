package planner

// File pruning. The WHERE clause of the SELECT that reads a table is
// compiled once into a predicate tree whose leaves are the shapes we
// understand completely: `column op constant` (either side), BETWEEN, IN,
// NOT IN, IS [NOT] NULL and a bare boolean column, under AND and OR.
// Anything else is "unknown" and excludes nothing: an AND keeps its known
// conjuncts, an OR with an unknown branch is unknown. Each constant is
// converted into its column's domain (integers, decimals, dates and
// timestamps as exact 128-bit integers in the column's unit; floats; strings
// in byte order; booleans) only when DuckDB provably compares the same way:
// exact conversions, plus fractional constants against integer columns,
// which become a floor with a strict bound. Any doubt leaves the leaf
// unknown. The tree is evaluated against what is known of a set of rows: a
// file's Hive partition values (one value, or all NULL for the default
// partition) and then, only if a file column is involved, each row group's
// footer statistics; a file goes when its partition values or every one of
// its row groups exclude it. Statistics are trusted only as far as writers
// guarantee: a string max may be a truncated prefix, so only the min bounds
// strings (a truncated min is still a lower bound); a float column may hold
// NaN, which DuckDB orders above every number and which parquet-cpp and
// parquet-mr leave out of min/max (TestPruneFilesNaN), so only the min
// bounds floats; timestamps with a time zone compare only with constants
// that carry an explicit offset, so the session time zone never matters.

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/quiver-data/quiver/storage"
)

// columnResolver maps a COLUMN_REF's column_names to the name of a column of
// the table being pruned, or ok=false when the reference is not to that
// table (another table of a join, an alias, an outer query) or is ambiguous.
type columnResolver func(names []string) (column string, ok bool)

// pruneFiles returns the files of t that may contain rows satisfying where
// (nil where: all files), keeping t.Files' order. footers may be nil (then
// only partition values prune).
//
// where must filter t's rows themselves: a table on the NULL-supplying side
// of an outer join must not be pruned with predicates that NULL-extended
// rows can satisfy (IS NULL, OR with other tables), so the caller resolves
// no column of such a table, or does not prune it.
func pruneFiles(ctx context.Context, t *storage.Table, where node, resolve columnResolver, footers Footers) ([]storage.File, error) {
	if where == nil || resolve == nil {
		return slices.Clone(t.Files), nil
	}
	c := pruneCompiler{t: t, resolve: resolve, domains: make([]pruneDomain, len(t.Columns))}
	for i, col := range t.Columns {
		c.domains[i] = newPruneDomain(col.Type)
	}
	p := c.compile(where)
	if p == nil {
		return slices.Clone(t.Files), nil
	}
	fileCols := len(t.Columns) - len(t.Partitions)
	var statCols []int // file columns the predicate reads
	for _, i := range p.columns(nil) {
		if i < fileCols && !slices.Contains(statCols, i) {
			statCols = append(statCols, i)
		}
	}
	if footers == nil {
		statCols = nil
	}

	stats := make([]pruneStats, len(t.Columns))
	kept := make([]storage.File, 0, len(t.Files))
	for _, f := range t.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clear(stats)
		for i := fileCols; i < len(t.Columns); i++ {
			stats[i] = prunePartitionStats(c.domains[i], f.Partition, t.Columns[i].Name)
		}
		if p.excludes(stats, c.domains) {
			continue
		}
		if len(statCols) > 0 {
			ft, err := footers.Footer(ctx, f)
			if err != nil {
				return nil, fmt.Errorf("prune %s: read footer of %s: %w", t.Name, f.Key, err)
			}
			if pruneFooterExcludes(p, ft, t, statCols, stats, c.domains) {
				continue
			}
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// pruneFooterExcludes reports whether every row group of ft is excluded. stats
// holds the file's partition values; the statistics of statCols are filled
// in per row group.
func pruneFooterExcludes(p *prunePred, ft *storage.Footer, t *storage.Table, statCols []int, stats []pruneStats, domains []pruneDomain) bool {
	if len(ft.RowGroups) == 0 {
		return ft.Rows == 0
	}
	// field[i] is the footer field of table column statCols[i], -1 when the
	// file has no such column of the same type.
	field := make([]int, len(statCols))
	for k, i := range statCols {
		field[k] = -1
		idx := ft.Schema.FieldIndices(t.Columns[i].Name)
		if len(idx) == 1 && arrow.TypeEqual(ft.Schema.Field(idx[0]).Type, t.Columns[i].Type) {
			field[k] = idx[0]
		}
	}
	for _, rg := range ft.RowGroups {
		for k, i := range statCols {
			stats[i] = pruneStats{}
			if j := field[k]; j >= 0 && j < len(rg.Columns) {
				stats[i] = pruneRowGroupStats(domains[i], rg.Columns[j], rg.Rows)
			}
		}
		if !p.excludes(stats, domains) {
			return false
		}
	}
	return true
}

// pruneStats is what is known of one column over a set of rows.
type pruneStats struct {
	known           bool
	lo, hi          pruneValue
	hasLo, hasHi    bool
	allNull, noNull bool
}

// prunePartitionStats describes a partition column of a file: one value, or all
// NULL for the default partition. Values DuckDB might read differently (a
// '%' that did not unescape) are unknown.
func prunePartitionStats(d pruneDomain, values map[string]string, key string) pruneStats {
	raw, ok := values[key]
	if !ok {
		return pruneStats{}
	}
	if raw == storage.HiveDefaultPartition {
		return pruneStats{known: true, allNull: true}
	}
	var v pruneValue
	switch {
	case d.kind == pruneString:
		if strings.Contains(raw, "%") {
			return pruneStats{}
		}
		v.s = raw
	case d.kind == pruneInt && d.tempo == pruneNotTemporal && !d.decimal:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return pruneStats{}
		}
		v.n = decimal128.FromI64(n)
	case d.kind == pruneInt && d.tempo == pruneDate:
		days, ok := pruneParseDate(raw)
		if !ok {
			return pruneStats{}
		}
		v.n = decimal128.FromI64(days)
	default:
		return pruneStats{}
	}
	return pruneStats{known: true, lo: v, hi: v, hasLo: true, hasHi: true, noNull: true}
}

// pruneRowGroupStats describes a file column over one row group.
func pruneRowGroupStats(d pruneDomain, cs storage.ColumnStats, rows int64) pruneStats {
	var s pruneStats
	if cs.HasNullCount {
		s.known = true
		s.noNull = cs.NullCount == 0
		s.allNull = cs.NullCount >= rows
	}
	if cs.HasMinMax {
		if v, ok := d.fromStat(cs.Min); ok {
			s.known, s.lo, s.hasLo = true, v, true
		}
		if v, ok := d.fromStat(cs.Max); ok && d.maxBounds {
			s.known, s.hi, s.hasHi = true, v, true
		}
	}
	return s
}

// prunePred is a compiled predicate: an AND or OR of children, or a leaf
// on one column with its constants already in the column's domain.
type prunePred struct {
	op     string // "and", "or", or a leaf operator (see pruneLeafExcludes)
	kids   []*prunePred
	col    int
	bounds []pruneBound
}

func (p *prunePred) columns(out []int) []int {
	switch p.op {
	case "and", "or":
		for _, k := range p.kids {
			out = k.columns(out)
		}
		return out
	}
	return append(out, p.col)
}

// excludes reports whether no row described by stats can satisfy p.
func (p *prunePred) excludes(stats []pruneStats, domains []pruneDomain) bool {
	switch p.op {
	case "and":
		for _, k := range p.kids {
			if k.excludes(stats, domains) {
				return true
			}
		}
		return false
	case "or":
		for _, k := range p.kids {
			if !k.excludes(stats, domains) {
				return false
			}
		}
		return true
	}
	return pruneLeafExcludes(p.op, p.bounds, stats[p.col], domains[p.col])
}

// pruneLeafExcludes decides one leaf. NULLs satisfy only IS NULL; a known NULL
// count of zero excludes IS NULL, an all-NULL column excludes the rest.
func pruneLeafExcludes(op string, bounds []pruneBound, s pruneStats, d pruneDomain) bool {
	if !s.known {
		return false
	}
	switch op {
	case "isnull":
		return s.noNull
	case "notnull":
		return s.allNull
	}
	if s.allNull {
		return true
	}
	// below and above: every value is < c, or every value is > c.
	above := func(b pruneBound) bool { return s.hasLo && d.cmpBound(s.lo, b) > 0 }
	below := func(b pruneBound) bool { return s.hasHi && d.cmpBound(s.hi, b) < 0 }
	single := func(b pruneBound) bool {
		return s.hasLo && s.hasHi && d.cmp(s.lo, s.hi) == 0 && d.cmpBound(s.lo, b) == 0
	}
	switch op {
	case "=":
		return above(bounds[0]) || below(bounds[0])
	case "in":
		for _, b := range bounds {
			if !above(b) && !below(b) {
				return false
			}
		}
		return true
	case "<>":
		return single(bounds[0])
	case "notin":
		return slices.ContainsFunc(bounds, single)
	case "<":
		return s.hasLo && d.cmpBound(s.lo, bounds[0]) >= 0
	case "<=":
		return above(bounds[0])
	case ">":
		return s.hasHi && d.cmpBound(s.hi, bounds[0]) <= 0
	case ">=":
		return below(bounds[0])
	case "between":
		return below(bounds[0]) || above(bounds[1])
	}
	return false
}

// pruneCompiler turns a WHERE tree into a prunePred.
type pruneCompiler struct {
	t       *storage.Table
	resolve columnResolver
	domains []pruneDomain
}

// pruneCompareOp maps DuckDB's comparison types to leaf operators.
func pruneCompareOp(typ string) (string, bool) {
	switch typ {
	case "COMPARE_EQUAL":
		return "=", true
	case "COMPARE_NOTEQUAL":
		return "<>", true
	case "COMPARE_LESSTHAN":
		return "<", true
	case "COMPARE_GREATERTHAN":
		return ">", true
	case "COMPARE_LESSTHANOREQUALTO":
		return "<=", true
	case "COMPARE_GREATERTHANOREQUALTO":
		return ">=", true
	}
	return "", false
}

// pruneFlipOp is the operator with its operands swapped (3 > x is x < 3).
func pruneFlipOp(op string) string {
	switch op {
	case "<":
		return ">"
	case ">":
		return "<"
	case "<=":
		return ">="
	case ">=":
		return "<="
	}
	return op
}

// compile returns nil for anything that cannot exclude rows.
func (c *pruneCompiler) compile(e any) *prunePred {
	n, ok := e.(node)
	if !ok {
		return nil
	}
	typ := str(n, "type")
	switch typ {
	case "CONJUNCTION_AND", "CONJUNCTION_OR":
		children, _ := n["children"].([]any)
		var kids []*prunePred
		for _, ch := range children {
			k := c.compile(ch)
			if k == nil {
				if typ == "CONJUNCTION_OR" {
					return nil // this branch may match anything
				}
				continue
			}
			kids = append(kids, k)
		}
		switch {
		case len(kids) == 0:
			return nil
		case len(kids) == 1:
			return kids[0]
		case typ == "CONJUNCTION_AND":
			return &prunePred{op: "and", kids: kids}
		default:
			return &prunePred{op: "or", kids: kids}
		}
	case "COLUMN_REF": // WHERE flag
		col, ok := c.column(n)
		if !ok || c.domains[col].kind != pruneBool {
			return nil
		}
		return &prunePred{op: "=", col: col, bounds: []pruneBound{{v: pruneValue{b: true}}}}
	case "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL":
		children, _ := n["children"].([]any)
		if len(children) != 1 {
			return nil
		}
		col, ok := c.column(children[0])
		if !ok {
			return nil
		}
		if typ == "OPERATOR_IS_NULL" {
			return &prunePred{op: "isnull", col: col}
		}
		return &prunePred{op: "notnull", col: col}
	case "COMPARE_BETWEEN":
		col, ok := c.column(n["input"])
		if !ok {
			return nil
		}
		lo, ok1 := c.bound(col, n["lower"])
		hi, ok2 := c.bound(col, n["upper"])
		if !ok1 || !ok2 {
			return nil
		}
		return &prunePred{op: "between", col: col, bounds: []pruneBound{lo, hi}}
	case "COMPARE_IN", "COMPARE_NOT_IN":
		children, _ := n["children"].([]any)
		if len(children) < 2 {
			return nil
		}
		col, ok := c.column(children[0])
		if !ok {
			return nil
		}
		var bounds []pruneBound
		for _, ch := range children[1:] {
			l, ok := pruneLiteral(ch)
			if !ok {
				return nil
			}
			if l.kind == pruneLitNull {
				if typ == "COMPARE_NOT_IN" {
					return nil // x NOT IN (.., NULL) is never true; keep it simple
				}
				continue // x IN (.., NULL, ..) is true only through the other values
			}
			b, ok := c.domains[col].bind(l)
			if !ok {
				return nil
			}
			bounds = append(bounds, b)
		}
		if len(bounds) == 0 {
			return nil
		}
		if typ == "COMPARE_IN" {
			return &prunePred{op: "in", col: col, bounds: bounds}
		}
		return &prunePred{op: "notin", col: col, bounds: bounds}
	}
	op, ok := pruneCompareOp(typ)
	if !ok {
		return nil
	}
	left, right := n["left"], n["right"]
	col, ok := c.column(left)
	if !ok {
		if col, ok = c.column(right); !ok {
			return nil
		}
		op, right = pruneFlipOp(op), left
	}
	b, ok := c.bound(col, right)
	if !ok {
		return nil
	}
	return &prunePred{op: op, col: col, bounds: []pruneBound{b}}
}

// column resolves a bare column reference to an index of t.Columns whose
// type we can prune on.
func (c *pruneCompiler) column(e any) (int, bool) {
	n, ok := e.(node)
	if !ok || str(n, "class") != "COLUMN_REF" || str(n, "type") != "COLUMN_REF" {
		return 0, false
	}
	raw, _ := n["column_names"].([]any)
	names := make([]string, 0, len(raw))
	for _, r := range raw {
		s, ok := r.(string)
		if !ok {
			return 0, false
		}
		names = append(names, s)
	}
	if len(names) == 0 {
		return 0, false
	}
	name, ok := c.resolve(names)
	if !ok {
		return 0, false
	}
	i := slices.IndexFunc(c.t.Columns, func(col storage.Column) bool { return col.Name == name })
	if i < 0 {
		var found []int
		for j, col := range c.t.Columns {
			if strings.EqualFold(col.Name, name) {
				found = append(found, j)
			}
		}
		if len(found) != 1 {
			return 0, false
		}
		i = found[0]
	}
	if c.domains[i].kind == pruneNone {
		return 0, false
	}
	return i, true
}

// bound converts a constant expression into column col's domain; a NULL
// constant matches nothing but is simply not used.
func (c *pruneCompiler) bound(col int, e any) (pruneBound, bool) {
	l, ok := pruneLiteral(e)
	if !ok || l.kind == pruneLitNull {
		return pruneBound{}, false
	}
	return c.domains[col].bind(l)
}

// pruneDomain is how the values of one column compare.
type pruneDomain struct {
	kind    pruneKind
	decimal bool  // pruneInt: unscaled decimal128 values
	scale   int32 // of a decimal
	float32 bool
	tempo   pruneTemporal // pruneInt: dates and timestamps
	unitNs  int64         // timestamps: nanoseconds per unit
	// maxBounds says a statistics max is an upper bound of the values.
	maxBounds bool
}

type pruneKind uint8

const (
	pruneNone pruneKind = iota
	// pruneInt holds integers, decimals (unscaled), dates (days since the
	// epoch) and timestamps (units since the epoch) as 128-bit integers.
	pruneInt
	pruneFloat
	pruneString
	pruneBool
)

type pruneTemporal uint8

const (
	pruneNotTemporal pruneTemporal = iota
	pruneDate
	pruneTimestamp
	pruneTimestampTZ
)

func newPruneDomain(t arrow.DataType) pruneDomain {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		return pruneDomain{kind: pruneInt, maxBounds: true}
	case *arrow.Decimal128Type:
		// Wider decimals may be compared as DOUBLE by DuckDB, whose
		// rounding our exact comparison would not reproduce.
		if t.Precision > 18 || t.Scale < 0 {
			return pruneDomain{}
		}
		return pruneDomain{kind: pruneInt, decimal: true, scale: t.Scale, maxBounds: true}
	case *arrow.Float32Type:
		return pruneDomain{kind: pruneFloat, float32: true}
	case *arrow.Float64Type:
		return pruneDomain{kind: pruneFloat}
	case *arrow.StringType, *arrow.LargeStringType:
		return pruneDomain{kind: pruneString}
	case *arrow.BooleanType:
		return pruneDomain{kind: pruneBool, maxBounds: true}
	case *arrow.Date32Type:
		return pruneDomain{kind: pruneInt, tempo: pruneDate, maxBounds: true}
	case *arrow.TimestampType:
		unit := map[arrow.TimeUnit]int64{arrow.Second: 1e9, arrow.Millisecond: 1e6, arrow.Microsecond: 1e3, arrow.Nanosecond: 1}[t.Unit]
		if t.TimeZone == "" {
			return pruneDomain{kind: pruneInt, tempo: pruneTimestamp, unitNs: unit, maxBounds: true}
		}
		if t.Unit != arrow.Microsecond && t.Unit != arrow.Millisecond {
			return pruneDomain{} // how DuckDB types these is not worth the risk
		}
		return pruneDomain{kind: pruneInt, tempo: pruneTimestampTZ, unitNs: unit, maxBounds: true}
	}
	return pruneDomain{}
}

// pruneValue is a value of a domain; only the field of its kind is used.
type pruneValue struct {
	n decimal128.Num
	f float64
	s string
	b bool
}

// pruneBound is a constant in a column's domain. For pruneInt a constant
// that is not an integer in the column's unit is its floor with
// exact=false: it lies strictly between n and n+1.
type pruneBound struct {
	v     pruneValue
	exact bool
}

func (d pruneDomain) cmp(a, b pruneValue) int {
	switch d.kind {
	case pruneInt:
		return a.n.Cmp(b.n)
	case pruneFloat:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	case pruneString:
		return strings.Compare(a.s, b.s)
	case pruneBool:
		switch {
		case a.b == b.b:
			return 0
		case b.b:
			return -1
		}
		return 1
	}
	return 0
}

// cmpBound is the sign of x - c for the constant c that b stands for.
func (d pruneDomain) cmpBound(x pruneValue, b pruneBound) int {
	if d.kind != pruneInt || b.exact {
		return d.cmp(x, b.v)
	}
	if x.n.LessEqual(b.v.n) {
		return -1
	}
	return 1
}

// fromStat converts a footer statistic (storage.ColumnStats' Go values).
func (d pruneDomain) fromStat(v any) (pruneValue, bool) {
	var out pruneValue
	switch d.kind {
	case pruneInt:
		switch {
		case d.decimal:
			n, ok := v.(decimal128.Num)
			out.n = n
			return out, ok
		case d.tempo == pruneDate:
			n, ok := v.(arrow.Date32)
			out.n = decimal128.FromI64(int64(n))
			return out, ok
		case d.tempo != pruneNotTemporal:
			n, ok := v.(arrow.Timestamp)
			out.n = decimal128.FromI64(int64(n))
			return out, ok
		}
		switch v := v.(type) {
		case int8:
			out.n = decimal128.FromI64(int64(v))
		case int16:
			out.n = decimal128.FromI64(int64(v))
		case int32:
			out.n = decimal128.FromI64(int64(v))
		case int64:
			out.n = decimal128.FromI64(v)
		case uint8:
			out.n = decimal128.FromU64(uint64(v))
		case uint16:
			out.n = decimal128.FromU64(uint64(v))
		case uint32:
			out.n = decimal128.FromU64(uint64(v))
		case uint64:
			out.n = decimal128.FromU64(v)
		default:
			return out, false
		}
		return out, true
	case pruneFloat:
		switch v := v.(type) {
		case float32:
			out.f = float64(v)
		case float64:
			out.f = v
		default:
			return out, false
		}
		return out, !math.IsNaN(out.f)
	case pruneString:
		s, ok := v.(string)
		out.s = s
		return out, ok
	case pruneBool:
		b, ok := v.(bool)
		out.b = b
		return out, ok
	}
	return out, false
}

// bind converts a literal into the domain the way DuckDB compares them, or
// reports false when that is not certain.
func (d pruneDomain) bind(l pruneLit) (pruneBound, bool) {
	switch d.kind {
	case pruneString:
		if l.kind == pruneLitString || l.kind == pruneLitVarchar {
			return pruneBound{v: pruneValue{s: l.s}, exact: true}, true
		}
	case pruneBool:
		b, ok := l.b, l.kind == pruneLitBool
		if l.kind == pruneLitString {
			b, ok = pruneParseBool(l.s)
		}
		return pruneBound{v: pruneValue{b: b}, exact: true}, ok
	case pruneFloat:
		return d.bindFloat(l)
	case pruneInt:
		switch d.tempo {
		case pruneNotTemporal:
			return d.bindNumber(l)
		case pruneDate:
			return pruneBindDate(l)
		default:
			return d.bindTimestamp(l)
		}
	}
	return pruneBound{}, false
}

// bindNumber: integer and decimal columns compare exactly with integer and
// decimal constants (DuckDB picks a common decimal type), and with doubles
// of magnitude below 2^53 (DuckDB compares in DOUBLE, whose rounding keeps
// the order against such constants).
func (d pruneDomain) bindNumber(l pruneLit) (pruneBound, bool) {
	var r *big.Rat
	switch l.kind {
	case pruneLitInt:
		if l.huge && d.decimal {
			return pruneBound{}, false
		}
		r = l.r
	case pruneLitDecimal:
		if l.width > 18 {
			return pruneBound{}, false
		}
		r = l.r
	case pruneLitDouble:
		if d.decimal || math.IsNaN(l.f) || math.Abs(l.f) >= 1<<53 {
			return pruneBound{}, false
		}
		r = new(big.Rat).SetFloat64(l.f)
	case pruneLitString:
		// DuckDB casts the literal to the column's integer type; for
		// decimal columns the cast would round, so those take none.
		if d.decimal {
			return pruneBound{}, false
		}
		i, ok := pruneParseInt(l.s)
		if !ok {
			return pruneBound{}, false
		}
		r = new(big.Rat).SetInt(i)
	default:
		return pruneBound{}, false
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(prunePow10(int(d.scale))))
	floor, exact := pruneFloor(scaled)
	if floor.BitLen() > 120 {
		return pruneBound{}, false
	}
	return pruneBound{v: pruneValue{n: decimal128.FromBigInt(floor)}, exact: exact}, true
}

// bindFloat: only constants the column's float type holds exactly, so it
// does not matter whether DuckDB compares in FLOAT or DOUBLE.
func (d pruneDomain) bindFloat(l pruneLit) (pruneBound, bool) {
	var f float64
	switch l.kind {
	case pruneLitInt, pruneLitDecimal:
		if d.float32 {
			f32, exact := l.r.Float32()
			if !exact {
				return pruneBound{}, false
			}
			f = float64(f32)
		} else {
			var exact bool
			if f, exact = l.r.Float64(); !exact {
				return pruneBound{}, false
			}
		}
	case pruneLitDouble:
		f = l.f
		if math.IsNaN(f) || (d.float32 && float64(float32(f)) != f) {
			return pruneBound{}, false
		}
	default:
		return pruneBound{}, false
	}
	return pruneBound{v: pruneValue{f: f}, exact: true}, true
}

const pruneNsPerDay = 86400 * 1e9

// pruneBindDate: DATE constants and date strings; a TIMESTAMP constant only at
// midnight (DuckDB compares the date as a timestamp).
func pruneBindDate(l pruneLit) (pruneBound, bool) {
	var days int64
	switch l.kind {
	case pruneLitDate:
		days = l.days
	case pruneLitString:
		var ok bool
		if days, ok = pruneParseDate(l.s); !ok {
			return pruneBound{}, false
		}
	case pruneLitTimestamp:
		if l.nsOnly {
			return pruneBound{}, false
		}
		q, m := new(big.Int).DivMod(l.ns, big.NewInt(pruneNsPerDay), new(big.Int))
		if m.Sign() != 0 || !q.IsInt64() {
			return pruneBound{}, false
		}
		days = q.Int64()
	default:
		return pruneBound{}, false
	}
	return pruneBound{v: pruneValue{n: decimal128.FromI64(days)}, exact: true}, true
}

// bindTimestamp: the constant must be a whole number of the column's units,
// so whichever common type DuckDB picks holds both sides exactly.
// Timestamps with a time zone take only constants with an explicit offset.
func (d pruneDomain) bindTimestamp(l pruneLit) (pruneBound, bool) {
	var ns *big.Int
	tz := d.tempo == pruneTimestampTZ
	switch l.kind {
	case pruneLitTimestamp:
		if tz || (l.nsOnly && d.unitNs != 1) {
			return pruneBound{}, false
		}
		ns = l.ns
	case pruneLitTimestampTZ:
		if !tz {
			return pruneBound{}, false
		}
		ns = l.ns
	case pruneLitDate:
		if tz {
			return pruneBound{}, false
		}
		ns = new(big.Int).Mul(big.NewInt(l.days), big.NewInt(pruneNsPerDay))
	case pruneLitString:
		ts, ok := pruneParseTimestamp(l.s)
		if !ok || ts.offset != tz {
			return pruneBound{}, false
		}
		ns = ts.ns
	default:
		return pruneBound{}, false
	}
	q, m := new(big.Int).DivMod(ns, big.NewInt(d.unitNs), new(big.Int))
	if m.Sign() != 0 || !q.IsInt64() {
		return pruneBound{}, false
	}
	return pruneBound{v: pruneValue{n: decimal128.FromI64(q.Int64())}, exact: true}, true
}

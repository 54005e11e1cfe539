package prune

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

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Footers returns a file's Parquet footer (cached by ETag);
// *storage.Warehouse is one.
type Footers interface {
	Footer(ctx context.Context, f storage.File) (*storage.Footer, error)
}

// Resolver maps a COLUMN_REF's column_names to the name of a column of
// the table being pruned, or ok=false when the reference is not to that
// table (another table of a join, an alias, an outer query) or is ambiguous.
type Resolver func(names []string) (column string, ok bool)

// Files returns the files of t that may contain rows satisfying where
// (nil where: all files), keeping t.Files' order. footers may be nil (then
// only partition values prune).
//
// where must filter t's rows themselves: a table on the NULL-supplying side
// of an outer join must not be pruned with predicates that NULL-extended
// rows can satisfy (IS NULL, OR with other tables), so the caller resolves
// no column of such a table, or does not prune it.
func Files(ctx context.Context, t *storage.Table, where ast.Node, resolve Resolver, footers Footers) ([]storage.File, error) {
	if where == nil || resolve == nil {
		return slices.Clone(t.Files), nil
	}
	c := compiler{t: t, resolve: resolve, domains: make([]domain, len(t.Columns))}
	for i, col := range t.Columns {
		c.domains[i] = newDomain(col.Type)
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

	stats := make([]colStats, len(t.Columns))
	kept := make([]storage.File, 0, len(t.Files))
	for _, f := range t.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clear(stats)
		for i := fileCols; i < len(t.Columns); i++ {
			stats[i] = partitionStats(c.domains[i], f.Partition, t.Columns[i].Name)
		}
		if p.excludes(stats, c.domains) {
			continue
		}
		if len(f.Buckets) > 0 && !mayHold(p, f, c.domains) {
			continue
		}
		if len(statCols) > 0 {
			ft, err := footers.Footer(ctx, f)
			if err != nil {
				return nil, fmt.Errorf("prune %s: read footer of %s: %w", t.Name, f.Key, err)
			}
			if footerExcludes(p, ft, t, statCols, stats, c.domains) {
				continue
			}
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// footerExcludes reports whether every row group of ft is excluded. stats
// holds the file's partition values; the statistics of statCols are filled
// in per row group.
func footerExcludes(p *pred, ft *storage.Footer, t *storage.Table, statCols []int, stats []colStats, domains []domain) bool {
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
			stats[i] = colStats{}
			if j := field[k]; j >= 0 && j < len(rg.Columns) {
				stats[i] = rowGroupStats(domains[i], rg.Columns[j], rg.Rows)
			}
		}
		if !p.excludes(stats, domains) {
			return false
		}
	}
	return true
}

// colStats is what is known of one column over a set of rows.
type colStats struct {
	known           bool
	lo, hi          value
	hasLo, hasHi    bool
	allNull, noNull bool
}

// partitionStats describes a partition column of a file: one value, or all
// NULL for the default partition. Values DuckDB might read differently (a
// '%' that did not unescape) are unknown.
func partitionStats(d domain, values map[string]string, key string) colStats {
	raw, ok := values[key]
	if !ok {
		return colStats{}
	}
	if raw == storage.HiveDefaultPartition {
		return colStats{known: true, allNull: true}
	}
	var v value
	switch {
	case d.kind == kindString:
		if strings.Contains(raw, "%") {
			return colStats{}
		}
		v.s = raw
	case d.kind == kindInt && d.tempo == kindNotTemporal && !d.decimal:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return colStats{}
		}
		v.n = decimal128.FromI64(n)
	case d.kind == kindInt && d.tempo == kindDate:
		days, ok := parseDate(raw)
		if !ok {
			return colStats{}
		}
		v.n = decimal128.FromI64(days)
	default:
		return colStats{}
	}
	return colStats{known: true, lo: v, hi: v, hasLo: true, hasHi: true, noNull: true}
}

// rowGroupStats describes a file column over one row group.
func rowGroupStats(d domain, cs storage.ColumnStats, rows int64) colStats {
	var s colStats
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

// pred is a compiled predicate: an AND or OR of children, or a leaf
// on one column with its constants already in the column's domain.
type pred struct {
	op     string // "and", "or", or a leaf operator (see leafExcludes)
	kids   []*pred
	col    int
	bounds []bound
}

func (p *pred) columns(out []int) []int {
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
func (p *pred) excludes(stats []colStats, domains []domain) bool {
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
	return leafExcludes(p.op, p.bounds, stats[p.col], domains[p.col])
}

// leafExcludes decides one leaf. NULLs satisfy only IS NULL; a known NULL
// count of zero excludes IS NULL, an all-NULL column excludes the rest.
func leafExcludes(op string, bounds []bound, s colStats, d domain) bool {
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
	above := func(b bound) bool { return s.hasLo && d.cmpBound(s.lo, b) > 0 }
	below := func(b bound) bool { return s.hasHi && d.cmpBound(s.hi, b) < 0 }
	single := func(b bound) bool {
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

// compiler turns a WHERE tree into a pred.
type compiler struct {
	t       *storage.Table
	resolve Resolver
	domains []domain
}

// compareOp maps DuckDB's comparison types to leaf operators.
func compareOp(typ string) (string, bool) {
	switch typ {
	case ast.ExprCompareEqual:
		return "=", true
	case ast.ExprCompareNotEqual:
		return "<>", true
	case ast.ExprCompareLess:
		return "<", true
	case ast.ExprCompareGreater:
		return ">", true
	case ast.ExprCompareLessEq:
		return "<=", true
	case ast.ExprCompareGreaterEq:
		return ">=", true
	}
	return "", false
}

// flipOp is the operator with its operands swapped (3 > x is x < 3).
func flipOp(op string) string {
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
func (c *compiler) compile(e any) *pred {
	n, ok := e.(ast.Node)
	if !ok {
		return nil
	}
	typ := n.Type()
	switch typ {
	case ast.ExprAnd, ast.ExprOr:
		children, _ := n[ast.FieldChildren].([]any)
		var kids []*pred
		for _, ch := range children {
			k := c.compile(ch)
			if k == nil {
				if typ == ast.ExprOr {
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
		case typ == ast.ExprAnd:
			return &pred{op: "and", kids: kids}
		default:
			return &pred{op: "or", kids: kids}
		}
	case ast.ExprColumnRef: // WHERE flag
		col, ok := c.column(n)
		if !ok || c.domains[col].kind != kindBool {
			return nil
		}
		return &pred{op: "=", col: col, bounds: []bound{{v: value{b: true}}}}
	case ast.ExprIsNull, ast.ExprIsNotNull:
		children, _ := n[ast.FieldChildren].([]any)
		if len(children) != 1 {
			return nil
		}
		col, ok := c.column(children[0])
		if !ok {
			return nil
		}
		if typ == ast.ExprIsNull {
			return &pred{op: "isnull", col: col}
		}
		return &pred{op: "notnull", col: col}
	case ast.ExprCompareBetween:
		col, ok := c.column(n["input"])
		if !ok {
			return nil
		}
		lo, ok1 := c.bound(col, n["lower"])
		hi, ok2 := c.bound(col, n["upper"])
		if !ok1 || !ok2 {
			return nil
		}
		return &pred{op: "between", col: col, bounds: []bound{lo, hi}}
	case ast.ExprCompareIn, ast.ExprCompareNotIn:
		children, _ := n[ast.FieldChildren].([]any)
		if len(children) < 2 {
			return nil
		}
		col, ok := c.column(children[0])
		if !ok {
			return nil
		}
		var bounds []bound
		for _, ch := range children[1:] {
			l, ok := literal(ch)
			if !ok {
				return nil
			}
			if l.kind == litNull {
				if typ == ast.ExprCompareNotIn {
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
		if typ == ast.ExprCompareIn {
			return &pred{op: "in", col: col, bounds: bounds}
		}
		return &pred{op: "notin", col: col, bounds: bounds}
	}
	op, ok := compareOp(typ)
	if !ok {
		return nil
	}
	left, right := n[ast.FieldLeft], n[ast.FieldRight]
	col, ok := c.column(left)
	if !ok {
		if col, ok = c.column(right); !ok {
			return nil
		}
		op, right = flipOp(op), left
	}
	b, ok := c.bound(col, right)
	if !ok {
		return nil
	}
	return &pred{op: op, col: col, bounds: []bound{b}}
}

// column resolves a bare column reference to an index of t.Columns whose
// type we can prune on.
func (c *compiler) column(e any) (int, bool) {
	n, ok := e.(ast.Node)
	if !ok || n.Class() != ast.ClassColumnRef || n.Type() != ast.ExprColumnRef {
		return 0, false
	}
	raw, _ := n[ast.FieldColumnNames].([]any)
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
	if c.domains[i].kind == kindNone {
		return 0, false
	}
	return i, true
}

// bound converts a constant expression into column col's domain; a NULL
// constant matches nothing but is simply not used.
func (c *compiler) bound(col int, e any) (bound, bool) {
	l, ok := literal(e)
	if !ok || l.kind == litNull {
		return bound{}, false
	}
	return c.domains[col].bind(l)
}

// domain is how the values of one column compare.
type domain struct {
	kind    domainKind
	decimal bool  // kindInt: unscaled decimal128 values
	scale   int32 // of a decimal
	float32 bool
	tempo   kindTemporal // kindInt: dates and timestamps
	unitNs  int64        // timestamps: nanoseconds per unit
	// maxBounds says a statistics max is an upper bound of the values.
	maxBounds bool
}

type domainKind uint8

const (
	kindNone domainKind = iota
	// kindInt holds integers, decimals (unscaled), dates (days since the
	// epoch) and timestamps (units since the epoch) as 128-bit integers.
	kindInt
	kindFloat
	kindString
	kindBool
)

type kindTemporal uint8

const (
	kindNotTemporal kindTemporal = iota
	kindDate
	kindTimestamp
	kindTimestampTZ
)

func newDomain(t arrow.DataType) domain {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		return domain{kind: kindInt, maxBounds: true}
	case *arrow.Decimal128Type:
		// Wider decimals may be compared as DOUBLE by DuckDB, whose
		// rounding our exact comparison would not reproduce.
		if t.Precision > 18 || t.Scale < 0 {
			return domain{}
		}
		return domain{kind: kindInt, decimal: true, scale: t.Scale, maxBounds: true}
	case *arrow.Float32Type:
		return domain{kind: kindFloat, float32: true}
	case *arrow.Float64Type:
		return domain{kind: kindFloat}
	case *arrow.StringType, *arrow.LargeStringType:
		return domain{kind: kindString}
	case *arrow.BooleanType:
		return domain{kind: kindBool, maxBounds: true}
	case *arrow.Date32Type:
		return domain{kind: kindInt, tempo: kindDate, maxBounds: true}
	case *arrow.TimestampType:
		unit := map[arrow.TimeUnit]int64{arrow.Second: 1e9, arrow.Millisecond: 1e6, arrow.Microsecond: 1e3, arrow.Nanosecond: 1}[t.Unit]
		if t.TimeZone == "" {
			return domain{kind: kindInt, tempo: kindTimestamp, unitNs: unit, maxBounds: true}
		}
		if t.Unit != arrow.Microsecond && t.Unit != arrow.Millisecond {
			return domain{} // how DuckDB types these is not worth the risk
		}
		return domain{kind: kindInt, tempo: kindTimestampTZ, unitNs: unit, maxBounds: true}
	}
	return domain{}
}

// value is a value of a domain; only the field of its kind is used.
type value struct {
	n decimal128.Num
	f float64
	s string
	b bool
}

// bound is a constant in a column's domain. For kindInt a constant
// that is not an integer in the column's unit is its floor with
// exact=false: it lies strictly between n and n+1.
type bound struct {
	v     value
	exact bool
}

func (d domain) cmp(a, b value) int {
	switch d.kind {
	case kindInt:
		return a.n.Cmp(b.n)
	case kindFloat:
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	case kindString:
		return strings.Compare(a.s, b.s)
	case kindBool:
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
func (d domain) cmpBound(x value, b bound) int {
	if d.kind != kindInt || b.exact {
		return d.cmp(x, b.v)
	}
	if x.n.LessEqual(b.v.n) {
		return -1
	}
	return 1
}

// fromStat converts a footer statistic (storage.ColumnStats' Go values).
func (d domain) fromStat(v any) (value, bool) {
	var out value
	switch d.kind {
	case kindInt:
		switch {
		case d.decimal:
			n, ok := v.(decimal128.Num)
			out.n = n
			return out, ok
		case d.tempo == kindDate:
			n, ok := v.(arrow.Date32)
			out.n = decimal128.FromI64(int64(n))
			return out, ok
		case d.tempo != kindNotTemporal:
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
	case kindFloat:
		switch v := v.(type) {
		case float32:
			out.f = float64(v)
		case float64:
			out.f = v
		default:
			return out, false
		}
		return out, !math.IsNaN(out.f)
	case kindString:
		s, ok := v.(string)
		out.s = s
		return out, ok
	case kindBool:
		b, ok := v.(bool)
		out.b = b
		return out, ok
	}
	return out, false
}

// bind converts a literal into the domain the way DuckDB compares them, or
// reports false when that is not certain.
func (d domain) bind(l lit) (bound, bool) {
	switch d.kind {
	case kindString:
		if l.kind == litString || l.kind == litVarchar {
			return bound{v: value{s: l.s}, exact: true}, true
		}
	case kindBool:
		b, ok := l.b, l.kind == litBool
		if l.kind == litString {
			b, ok = parseBool(l.s)
		}
		return bound{v: value{b: b}, exact: true}, ok
	case kindFloat:
		return d.bindFloat(l)
	case kindInt:
		switch d.tempo {
		case kindNotTemporal:
			return d.bindNumber(l)
		case kindDate:
			return bindDate(l)
		default:
			return d.bindTimestamp(l)
		}
	}
	return bound{}, false
}

// bindNumber: integer and decimal columns compare exactly with integer and
// decimal constants (DuckDB picks a common decimal type), and with doubles
// of magnitude below 2^53 (DuckDB compares in DOUBLE, whose rounding keeps
// the order against such constants).
func (d domain) bindNumber(l lit) (bound, bool) {
	var r *big.Rat
	switch l.kind {
	case litInt:
		if l.huge && d.decimal {
			return bound{}, false
		}
		r = l.r
	case litDecimal:
		if l.width > 18 {
			return bound{}, false
		}
		r = l.r
	case litDouble:
		if d.decimal || math.IsNaN(l.f) || math.Abs(l.f) >= 1<<53 {
			return bound{}, false
		}
		r = new(big.Rat).SetFloat64(l.f)
	case litString:
		// DuckDB casts the literal to the column's integer type; for
		// decimal columns the cast would round, so those take none.
		if d.decimal {
			return bound{}, false
		}
		i, ok := parseInt(l.s)
		if !ok {
			return bound{}, false
		}
		r = new(big.Rat).SetInt(i)
	default:
		return bound{}, false
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(int(d.scale))))
	floor, exact := floor(scaled)
	if floor.BitLen() > 120 {
		return bound{}, false
	}
	return bound{v: value{n: decimal128.FromBigInt(floor)}, exact: exact}, true
}

// bindFloat: only constants the column's float type holds exactly, so it
// does not matter whether DuckDB compares in FLOAT or DOUBLE.
func (d domain) bindFloat(l lit) (bound, bool) {
	var f float64
	switch l.kind {
	case litInt, litDecimal:
		if d.float32 {
			f32, exact := l.r.Float32()
			if !exact {
				return bound{}, false
			}
			f = float64(f32)
		} else {
			var exact bool
			if f, exact = l.r.Float64(); !exact {
				return bound{}, false
			}
		}
	case litDouble:
		f = l.f
		if math.IsNaN(f) || (d.float32 && float64(float32(f)) != f) {
			return bound{}, false
		}
	default:
		return bound{}, false
	}
	return bound{v: value{f: f}, exact: true}, true
}

const nsPerDay = 86400 * 1e9

// bindDate: DATE constants and date strings; a TIMESTAMP constant only at
// midnight (DuckDB compares the date as a timestamp).
func bindDate(l lit) (bound, bool) {
	var days int64
	switch l.kind {
	case litDate:
		days = l.days
	case litString:
		var ok bool
		if days, ok = parseDate(l.s); !ok {
			return bound{}, false
		}
	case litTimestamp:
		if l.nsOnly {
			return bound{}, false
		}
		q, m := new(big.Int).DivMod(l.ns, big.NewInt(nsPerDay), new(big.Int))
		if m.Sign() != 0 || !q.IsInt64() {
			return bound{}, false
		}
		days = q.Int64()
	default:
		return bound{}, false
	}
	return bound{v: value{n: decimal128.FromI64(days)}, exact: true}, true
}

// bindTimestamp: the constant must be a whole number of the column's units,
// so whichever common type DuckDB picks holds both sides exactly.
// Timestamps with a time zone take only constants with an explicit offset.
func (d domain) bindTimestamp(l lit) (bound, bool) {
	var ns *big.Int
	tz := d.tempo == kindTimestampTZ
	switch l.kind {
	case litTimestamp:
		if tz || (l.nsOnly && d.unitNs != 1) {
			return bound{}, false
		}
		ns = l.ns
	case litTimestampTZ:
		if !tz {
			return bound{}, false
		}
		ns = l.ns
	case litDate:
		if tz {
			return bound{}, false
		}
		ns = new(big.Int).Mul(big.NewInt(l.days), big.NewInt(nsPerDay))
	case litString:
		ts, ok := parseTimestamp(l.s)
		if !ok || ts.offset != tz {
			return bound{}, false
		}
		ns = ts.ns
	default:
		return bound{}, false
	}
	q, m := new(big.Int).DivMod(ns, big.NewInt(d.unitNs), new(big.Int))
	if m.Sign() != 0 || !q.IsInt64() {
		return bound{}, false
	}
	return bound{v: value{n: decimal128.FromI64(q.Int64())}, exact: true}, true
}

// mayHold asks a file that knows which values of some columns it can hold
// (an Iceberg file's bucket partitions) whether it can hold rows the
// predicate keeps: every top-level `col = c` or `col IN (…)` of an integer
// (not decimal, date or timestamp) or string column needs one of its
// values in the file. Anything else is left to the file's statistics.
func mayHold(p *pred, f storage.File, domains []domain) bool {
	leaves := []*pred{p}
	if p.op == "and" {
		leaves = p.kids
	}
	for _, l := range leaves {
		if l.op != "=" && l.op != "in" {
			continue
		}
		d := domains[l.col]
		var values []any
		for _, b := range l.bounds {
			switch {
			case !b.exact:
				values = nil // a fraction equals no integer: leave it to the bounds
			case d.kind == kindString:
				values = append(values, b.v.s)
				continue
			case d.kind == kindInt && d.tempo == kindNotTemporal && !d.decimal && b.v.n.FitsInPrecision(18):
				values = append(values, int64(b.v.n.LowBits()))
				continue
			}
			values = nil
			break
		}
		if len(values) == 0 {
			continue
		}
		if !slices.ContainsFunc(values, func(v any) bool { return f.MayHold(l.col, v) }) {
			return false
		}
	}
	return true
}

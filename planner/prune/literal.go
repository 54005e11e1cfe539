package prune

// Literals of the statement tree, as prune.go compares them: reading
// VALUE_CONSTANT nodes and casts of them, and the exact numeric, date and
// timestamp conversions that decide whether a constant can be compared with
// a column's statistics at all.

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/planner/ast"
)

// lit is a constant of the statement tree with the type DuckDB gives it.
type lit struct {
	kind   litKind
	r      *big.Rat // litInt, litDecimal: the exact value
	width  int      // litDecimal
	huge   bool     // litInt typed HUGEINT or UHUGEINT
	f      float64  // litDouble
	s      string   // litString, litVarchar
	b      bool     // litBool
	days   int64    // litDate
	ns     *big.Int // litTimestamp, litTimestampTZ: nanoseconds since the epoch (UTC for TZ)
	nsOnly bool     // litTimestamp typed TIMESTAMP_NS
}

type litKind uint8

const (
	litNull litKind = iota + 1
	litInt
	litDecimal
	litDouble
	litString  // a string literal: DuckDB casts it to the other side's type
	litVarchar // explicitly VARCHAR
	litBool
	litDate
	litTimestamp
	litTimestampTZ
)

// intRange is the range of DuckDB's integer type id.
func intRange(id string) (lo, hi *big.Int, ok bool) {
	one := big.NewInt(1)
	switch id {
	case "TINYINT":
		return big.NewInt(math.MinInt8), big.NewInt(math.MaxInt8), true
	case "SMALLINT":
		return big.NewInt(math.MinInt16), big.NewInt(math.MaxInt16), true
	case "INTEGER":
		return big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32), true
	case "BIGINT":
		return big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64), true
	case "UTINYINT":
		return big.NewInt(0), big.NewInt(math.MaxUint8), true
	case "USMALLINT":
		return big.NewInt(0), big.NewInt(math.MaxUint16), true
	case "UINTEGER":
		return big.NewInt(0), big.NewInt(math.MaxUint32), true
	case "UBIGINT":
		return big.NewInt(0), new(big.Int).SetUint64(math.MaxUint64), true
	case "HUGEINT":
		return new(big.Int).Neg(new(big.Int).Lsh(one, 127)), new(big.Int).Sub(new(big.Int).Lsh(one, 127), one), true
	case "UHUGEINT":
		return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(one, 128), one), true
	}
	return nil, nil, false
}

// literal reads a VALUE_CONSTANT, or a CAST of one to a type we can
// evaluate exactly, as DuckDB would.
func literal(e any) (lit, bool) {
	n, ok := e.(ast.Node)
	if !ok {
		return lit{}, false
	}
	switch n.Type() {
	case ast.ExprValueConstant:
		v, ok := n[ast.FieldValue].(ast.Node)
		if !ok {
			return lit{}, false
		}
		if isNull, _ := v["is_null"].(bool); isNull {
			return lit{kind: litNull}, true
		}
		typ, _ := v[ast.FieldType].(ast.Node)
		return constantLit(typ, v[ast.FieldValue])
	case ast.ExprCast:
		if try, _ := n["try_cast"].(bool); try {
			return lit{}, false
		}
		typ, ok := n[ast.FieldCastType].(ast.Node)
		if !ok {
			return lit{}, false
		}
		l, ok := literal(n[ast.FieldChild])
		if !ok {
			return lit{}, false
		}
		if l.kind == litNull {
			return l, true
		}
		return cast(l, typ)
	}
	return lit{}, false
}

func constantLit(typ ast.Node, value any) (lit, bool) {
	id := typ.Str("id")
	if _, _, ok := intRange(id); ok {
		i, ok := jsonInt(value)
		return lit{kind: litInt, r: new(big.Rat).SetInt(i), huge: strings.HasSuffix(id, "HUGEINT")}, ok
	}
	switch id {
	case "BOOLEAN":
		b, ok := value.(bool)
		return lit{kind: litBool, b: b}, ok
	case "VARCHAR":
		if typ["type_info"] != nil { // a collation
			return lit{}, false
		}
		s, ok := value.(string)
		return lit{kind: litString, s: s}, ok
	case "DOUBLE":
		num, ok := value.(fmt.Stringer)
		if !ok {
			return lit{}, false
		}
		f, err := strconv.ParseFloat(num.String(), 64)
		if err != nil || math.IsNaN(f) {
			return lit{}, false
		}
		return lit{kind: litDouble, f: f}, true
	case "DECIMAL":
		width, scale, ok := decimalInfo(typ)
		if !ok {
			return lit{}, false
		}
		i, ok := jsonInt(value)
		if !ok {
			return lit{}, false
		}
		return lit{kind: litDecimal, width: width, r: new(big.Rat).SetFrac(i, pow10(scale))}, true
	}
	return lit{}, false
}

// cast evaluates CAST(l AS typ) where the result is certain.
func cast(l lit, typ ast.Node) (lit, bool) {
	id := typ.Str("id")
	if lo, hi, ok := intRange(id); ok {
		var i *big.Int
		switch l.kind {
		case litInt:
			i = l.r.Num()
		case litString:
			var ok bool
			if i, ok = parseInt(l.s); !ok {
				return lit{}, false
			}
		default:
			return lit{}, false
		}
		if i.Cmp(lo) < 0 || i.Cmp(hi) > 0 {
			return lit{}, false
		}
		return lit{kind: litInt, r: new(big.Rat).SetInt(i), huge: strings.HasSuffix(id, "HUGEINT")}, true
	}
	switch id {
	case "VARCHAR":
		if (l.kind == litString || l.kind == litVarchar) && typ["type_info"] == nil {
			return lit{kind: litVarchar, s: l.s}, true
		}
	case "BOOLEAN":
		switch l.kind {
		case litBool:
			return l, true
		case litString:
			b, ok := parseBool(l.s)
			return lit{kind: litBool, b: b}, ok
		}
	case "DATE":
		switch l.kind {
		case litDate:
			return l, true
		case litString:
			days, ok := parseDate(l.s)
			return lit{kind: litDate, days: days}, ok
		}
	case "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE":
		if l.kind == litDate && id == "TIMESTAMP" {
			return lit{kind: litTimestamp, ns: new(big.Int).Mul(big.NewInt(l.days), big.NewInt(nsPerDay))}, true
		}
		if l.kind != litString {
			return lit{}, false
		}
		ts, ok := parseTimestamp(l.s)
		if !ok || ts.offset != (id == "TIMESTAMP WITH TIME ZONE") || (id != "TIMESTAMP_NS" && ts.digits > 6) {
			return lit{}, false
		}
		if ts.offset {
			return lit{kind: litTimestampTZ, ns: ts.ns}, true
		}
		return lit{kind: litTimestamp, ns: ts.ns, nsOnly: id == "TIMESTAMP_NS"}, true
	case "DECIMAL":
		width, scale, ok := decimalInfo(typ)
		if !ok || (l.kind != litInt && l.kind != litDecimal) {
			return lit{}, false
		}
		unscaled := new(big.Rat).Mul(l.r, new(big.Rat).SetInt(pow10(scale)))
		if !unscaled.IsInt() || unscaled.Num().CmpAbs(pow10(width)) >= 0 {
			return lit{}, false // DuckDB would round, or fail
		}
		return lit{kind: litDecimal, width: width, r: l.r}, true
	case "DOUBLE":
		switch l.kind {
		case litDouble:
			return l, true
		case litInt, litDecimal:
			f, exact := l.r.Float64()
			return lit{kind: litDouble, f: f}, exact
		}
	}
	return lit{}, false
}

func decimalInfo(typ ast.Node) (width, scale int, ok bool) {
	info, _ := typ["type_info"].(ast.Node)
	if info == nil {
		return 0, 0, false
	}
	w, ok1 := jsonInt(info["width"])
	s, ok2 := jsonInt(info["scale"])
	if !ok1 || !ok2 || !w.IsInt64() || !s.IsInt64() || s.Int64() < 0 || s.Int64() > 38 || w.Int64() > 38 {
		return 0, 0, false
	}
	return int(w.Int64()), int(s.Int64()), true
}

// jsonInt reads an integer decoded with UseNumber, or a 128-bit
// {"upper": hi, "lower": lo} as json_serialize_sql writes HUGEINT.
func jsonInt(v any) (*big.Int, bool) {
	switch v := v.(type) {
	case fmt.Stringer: // json.Number
		i, ok := new(big.Int).SetString(v.String(), 10)
		return i, ok
	case ast.Node:
		hi, ok1 := jsonInt(v["upper"])
		lo, ok2 := jsonInt(v["lower"])
		if !ok1 || !ok2 || lo.Sign() < 0 || lo.BitLen() > 64 {
			return nil, false
		}
		return hi.Lsh(hi, 64).Add(hi, lo), true
	}
	return nil, false
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// floor returns floor(r) and whether r is that integer.
func floor(r *big.Rat) (*big.Int, bool) {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: m >= 0
	return q, m.Sign() == 0
}

var (
	intRE       = regexp.MustCompile(`^[+-]?[0-9]+$`)
	timestampRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$`)
)

// parseInt accepts plain decimal digits with an optional sign, the
// text every DuckDB integer cast reads the same way.
func parseInt(s string) (*big.Int, bool) {
	if !intRE.MatchString(s) {
		return nil, false
	}
	return new(big.Int).SetString(s, 10)
}

// parseBool accepts the spellings DuckDB's parser itself uses for TRUE and
// FALSE.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "t", "true":
		return true, true
	case "f", "false":
		return false, true
	}
	return false, false
}

// parseDate reads exactly YYYY-MM-DD (year 1 to 9999) as days since the
// epoch.
func parseDate(s string) (int64, bool) {
	if len(s) != len(time.DateOnly) || s[:4] == "0000" {
		return 0, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return d.Unix() / 86400, true
}

type parsedTS struct {
	ns     *big.Int // since the epoch, UTC when offset
	digits int      // fractional second digits written
	offset bool     // an explicit UTC offset was given
}

// parseTimestamp reads 'YYYY-MM-DD[( |T)HH:MM:SS[.f{1,9}]][Z|±HH[[:]MM]]'
// with real calendar values; anything DuckDB might read otherwise (24:00,
// time zone names, five-digit years) is refused.
func parseTimestamp(s string) (parsedTS, bool) {
	m := timestampRE.FindStringSubmatch(s)
	if m == nil || m[1] == "0000" || (m[4] == "" && m[8] != "") {
		return parsedTS{}, false
	}
	atoi := func(x string) int {
		n, _ := strconv.Atoi(x)
		return n
	}
	y, mo, d := atoi(m[1]), atoi(m[2]), atoi(m[3])
	h, mi, sec := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return parsedTS{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return parsedTS{}, false // February 30th
	}
	secs := t.Unix()
	var out parsedTS
	if off := m[8]; off != "" {
		out.offset = true
		if off != "Z" {
			digits := strings.ReplaceAll(off[1:], ":", "")
			oh, om := atoi(digits[:2]), 0
			if len(digits) == 4 {
				om = atoi(digits[2:])
			}
			if oh > 15 || om > 59 {
				return parsedTS{}, false
			}
			shift := int64(oh*3600 + om*60)
			if off[0] == '+' {
				shift = -shift
			}
			secs += shift
		}
	}
	frac := m[7]
	out.digits = len(frac)
	nanos := int64(0)
	if frac != "" {
		nanos = int64(atoi(frac + strings.Repeat("0", 9-len(frac))))
	}
	out.ns = new(big.Int).Mul(big.NewInt(secs), big.NewInt(1e9))
	out.ns.Add(out.ns, big.NewInt(nanos))
	return out, true
}

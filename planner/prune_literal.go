package planner

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
)

// pruneLit is a constant of the statement tree with the type DuckDB gives it.
type pruneLit struct {
	kind   pruneLitKind
	r      *big.Rat // pruneLitInt, pruneLitDecimal: the exact value
	width  int      // pruneLitDecimal
	huge   bool     // pruneLitInt typed HUGEINT or UHUGEINT
	f      float64  // pruneLitDouble
	s      string   // pruneLitString, pruneLitVarchar
	b      bool     // pruneLitBool
	days   int64    // pruneLitDate
	ns     *big.Int // pruneLitTimestamp, pruneLitTimestampTZ: nanoseconds since the epoch (UTC for TZ)
	nsOnly bool     // pruneLitTimestamp typed TIMESTAMP_NS
}

type pruneLitKind uint8

const (
	pruneLitNull pruneLitKind = iota + 1
	pruneLitInt
	pruneLitDecimal
	pruneLitDouble
	pruneLitString  // a string literal: DuckDB casts it to the other side's type
	pruneLitVarchar // explicitly VARCHAR
	pruneLitBool
	pruneLitDate
	pruneLitTimestamp
	pruneLitTimestampTZ
)

// pruneIntRange is the range of DuckDB's integer type id.
func pruneIntRange(id string) (lo, hi *big.Int, ok bool) {
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

// pruneLiteral reads a VALUE_CONSTANT, or a CAST of one to a type we can
// evaluate exactly, as DuckDB would.
func pruneLiteral(e any) (pruneLit, bool) {
	n, ok := e.(node)
	if !ok {
		return pruneLit{}, false
	}
	switch str(n, "type") {
	case "VALUE_CONSTANT":
		v, ok := n["value"].(node)
		if !ok {
			return pruneLit{}, false
		}
		if isNull, _ := v["is_null"].(bool); isNull {
			return pruneLit{kind: pruneLitNull}, true
		}
		typ, _ := v["type"].(node)
		return pruneConstant(typ, v["value"])
	case "OPERATOR_CAST":
		if try, _ := n["try_cast"].(bool); try {
			return pruneLit{}, false
		}
		typ, ok := n["cast_type"].(node)
		if !ok {
			return pruneLit{}, false
		}
		l, ok := pruneLiteral(n["child"])
		if !ok {
			return pruneLit{}, false
		}
		if l.kind == pruneLitNull {
			return l, true
		}
		return pruneCast(l, typ)
	}
	return pruneLit{}, false
}

func pruneConstant(typ node, value any) (pruneLit, bool) {
	id := str(typ, "id")
	if _, _, ok := pruneIntRange(id); ok {
		i, ok := pruneJSONInt(value)
		return pruneLit{kind: pruneLitInt, r: new(big.Rat).SetInt(i), huge: strings.HasSuffix(id, "HUGEINT")}, ok
	}
	switch id {
	case "BOOLEAN":
		b, ok := value.(bool)
		return pruneLit{kind: pruneLitBool, b: b}, ok
	case "VARCHAR":
		if typ["type_info"] != nil { // a collation
			return pruneLit{}, false
		}
		s, ok := value.(string)
		return pruneLit{kind: pruneLitString, s: s}, ok
	case "DOUBLE":
		num, ok := value.(fmt.Stringer)
		if !ok {
			return pruneLit{}, false
		}
		f, err := strconv.ParseFloat(num.String(), 64)
		if err != nil || math.IsNaN(f) {
			return pruneLit{}, false
		}
		return pruneLit{kind: pruneLitDouble, f: f}, true
	case "DECIMAL":
		width, scale, ok := pruneDecimalInfo(typ)
		if !ok {
			return pruneLit{}, false
		}
		i, ok := pruneJSONInt(value)
		if !ok {
			return pruneLit{}, false
		}
		return pruneLit{kind: pruneLitDecimal, width: width, r: new(big.Rat).SetFrac(i, prunePow10(scale))}, true
	}
	return pruneLit{}, false
}

// pruneCast evaluates CAST(l AS typ) where the result is certain.
func pruneCast(l pruneLit, typ node) (pruneLit, bool) {
	id := str(typ, "id")
	if lo, hi, ok := pruneIntRange(id); ok {
		var i *big.Int
		switch l.kind {
		case pruneLitInt:
			i = l.r.Num()
		case pruneLitString:
			var ok bool
			if i, ok = pruneParseInt(l.s); !ok {
				return pruneLit{}, false
			}
		default:
			return pruneLit{}, false
		}
		if i.Cmp(lo) < 0 || i.Cmp(hi) > 0 {
			return pruneLit{}, false
		}
		return pruneLit{kind: pruneLitInt, r: new(big.Rat).SetInt(i), huge: strings.HasSuffix(id, "HUGEINT")}, true
	}
	switch id {
	case "VARCHAR":
		if (l.kind == pruneLitString || l.kind == pruneLitVarchar) && typ["type_info"] == nil {
			return pruneLit{kind: pruneLitVarchar, s: l.s}, true
		}
	case "BOOLEAN":
		switch l.kind {
		case pruneLitBool:
			return l, true
		case pruneLitString:
			b, ok := pruneParseBool(l.s)
			return pruneLit{kind: pruneLitBool, b: b}, ok
		}
	case "DATE":
		switch l.kind {
		case pruneLitDate:
			return l, true
		case pruneLitString:
			days, ok := pruneParseDate(l.s)
			return pruneLit{kind: pruneLitDate, days: days}, ok
		}
	case "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE":
		if l.kind == pruneLitDate && id == "TIMESTAMP" {
			return pruneLit{kind: pruneLitTimestamp, ns: new(big.Int).Mul(big.NewInt(l.days), big.NewInt(pruneNsPerDay))}, true
		}
		if l.kind != pruneLitString {
			return pruneLit{}, false
		}
		ts, ok := pruneParseTimestamp(l.s)
		if !ok || ts.offset != (id == "TIMESTAMP WITH TIME ZONE") || (id != "TIMESTAMP_NS" && ts.digits > 6) {
			return pruneLit{}, false
		}
		if ts.offset {
			return pruneLit{kind: pruneLitTimestampTZ, ns: ts.ns}, true
		}
		return pruneLit{kind: pruneLitTimestamp, ns: ts.ns, nsOnly: id == "TIMESTAMP_NS"}, true
	case "DECIMAL":
		width, scale, ok := pruneDecimalInfo(typ)
		if !ok || (l.kind != pruneLitInt && l.kind != pruneLitDecimal) {
			return pruneLit{}, false
		}
		unscaled := new(big.Rat).Mul(l.r, new(big.Rat).SetInt(prunePow10(scale)))
		if !unscaled.IsInt() || unscaled.Num().CmpAbs(prunePow10(width)) >= 0 {
			return pruneLit{}, false // DuckDB would round, or fail
		}
		return pruneLit{kind: pruneLitDecimal, width: width, r: l.r}, true
	case "DOUBLE":
		switch l.kind {
		case pruneLitDouble:
			return l, true
		case pruneLitInt, pruneLitDecimal:
			f, exact := l.r.Float64()
			return pruneLit{kind: pruneLitDouble, f: f}, exact
		}
	}
	return pruneLit{}, false
}

func pruneDecimalInfo(typ node) (width, scale int, ok bool) {
	info, _ := typ["type_info"].(node)
	if info == nil {
		return 0, 0, false
	}
	w, ok1 := pruneJSONInt(info["width"])
	s, ok2 := pruneJSONInt(info["scale"])
	if !ok1 || !ok2 || !w.IsInt64() || !s.IsInt64() || s.Int64() < 0 || s.Int64() > 38 || w.Int64() > 38 {
		return 0, 0, false
	}
	return int(w.Int64()), int(s.Int64()), true
}

// pruneJSONInt reads an integer decoded with UseNumber, or a 128-bit
// {"upper": hi, "lower": lo} as json_serialize_sql writes HUGEINT.
func pruneJSONInt(v any) (*big.Int, bool) {
	switch v := v.(type) {
	case fmt.Stringer: // json.Number
		i, ok := new(big.Int).SetString(v.String(), 10)
		return i, ok
	case node:
		hi, ok1 := pruneJSONInt(v["upper"])
		lo, ok2 := pruneJSONInt(v["lower"])
		if !ok1 || !ok2 || lo.Sign() < 0 || lo.BitLen() > 64 {
			return nil, false
		}
		return hi.Lsh(hi, 64).Add(hi, lo), true
	}
	return nil, false
}

func prunePow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// pruneFloor returns floor(r) and whether r is that integer.
func pruneFloor(r *big.Rat) (*big.Int, bool) {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: m >= 0
	return q, m.Sign() == 0
}

var (
	pruneIntRE       = regexp.MustCompile(`^[+-]?[0-9]+$`)
	pruneTimestampRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$`)
)

// pruneParseInt accepts plain decimal digits with an optional sign, the
// text every DuckDB integer cast reads the same way.
func pruneParseInt(s string) (*big.Int, bool) {
	if !pruneIntRE.MatchString(s) {
		return nil, false
	}
	return new(big.Int).SetString(s, 10)
}

// pruneParseBool accepts the spellings DuckDB's parser itself uses for TRUE and
// FALSE.
func pruneParseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "t", "true":
		return true, true
	case "f", "false":
		return false, true
	}
	return false, false
}

// pruneParseDate reads exactly YYYY-MM-DD (year 1 to 9999) as days since the
// epoch.
func pruneParseDate(s string) (int64, bool) {
	if len(s) != len(time.DateOnly) || s[:4] == "0000" {
		return 0, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return d.Unix() / 86400, true
}

type pruneParsedTS struct {
	ns     *big.Int // since the epoch, UTC when offset
	digits int      // fractional second digits written
	offset bool     // an explicit UTC offset was given
}

// pruneParseTimestamp reads 'YYYY-MM-DD[( |T)HH:MM:SS[.f{1,9}]][Z|±HH[[:]MM]]'
// with real calendar values; anything DuckDB might read otherwise (24:00,
// time zone names, five-digit years) is refused.
func pruneParseTimestamp(s string) (pruneParsedTS, bool) {
	m := pruneTimestampRE.FindStringSubmatch(s)
	if m == nil || m[1] == "0000" || (m[4] == "" && m[8] != "") {
		return pruneParsedTS{}, false
	}
	atoi := func(x string) int {
		n, _ := strconv.Atoi(x)
		return n
	}
	y, mo, d := atoi(m[1]), atoi(m[2]), atoi(m[3])
	h, mi, sec := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return pruneParsedTS{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return pruneParsedTS{}, false // February 30th
	}
	secs := t.Unix()
	var out pruneParsedTS
	if off := m[8]; off != "" {
		out.offset = true
		if off != "Z" {
			digits := strings.ReplaceAll(off[1:], ":", "")
			oh, om := atoi(digits[:2]), 0
			if len(digits) == 4 {
				om = atoi(digits[2:])
			}
			if oh > 15 || om > 59 {
				return pruneParsedTS{}, false
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

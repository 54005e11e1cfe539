package detect

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// gen makes values of one kind (or a decoy) from r.
type gen func(r *rand.Rand) string

func num(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func word(r *rand.Rand) string {
	words := []string{"river", "stone", "maple", "quiet", "orbit", "lumen", "cedar", "delta", "ember", "flint"}
	return words[r.IntN(len(words))]
}

// withLuhn appends the check digit that makes d pass Luhn.
func withLuhn(d string) string {
	for c := range 10 {
		if s := d + string(rune('0'+c)); luhn(s) {
			return s
		}
	}
	panic("unreachable")
}

func ibanOf(country, bban string) string {
	var b strings.Builder
	for _, r := range bban + country + "00" {
		if r >= 'A' && r <= 'Z' {
			b.WriteString(fmt.Sprint(int(r-'A') + 10))
		} else {
			b.WriteRune(r)
		}
	}
	n, _ := new(big.Int).SetString(b.String(), 10)
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%s%02d%s", country, check, bban)
}

var kinds = map[string]gen{
	Email: func(r *rand.Rand) string {
		return fmt.Sprintf("%s.%s%d@%s.%s", word(r), word(r), r.IntN(100), word(r), []string{"com", "org", "co.uk", "io"}[r.IntN(4)])
	},
	Phone: func(r *rand.Rand) string {
		switch r.IntN(4) {
		case 0:
			return "+1" + num(r, 10)
		case 1:
			return fmt.Sprintf("+33 6 %s %s %s %s", num(r, 2), num(r, 2), num(r, 2), num(r, 2))
		case 2:
			return fmt.Sprintf("(%s) %s-%s", num(r, 3), num(r, 3), num(r, 4))
		}
		return fmt.Sprintf("020 %s %s", num(r, 4), num(r, 4))
	},
	Card: func(r *rand.Rand) string {
		var d string
		switch r.IntN(3) {
		case 0:
			d = withLuhn("4" + num(r, 14))
		case 1:
			d = withLuhn(fmt.Sprint(51+r.IntN(5)) + num(r, 13))
		default:
			d = withLuhn([]string{"34", "37"}[r.IntN(2)] + num(r, 12))
		}
		if r.IntN(2) == 0 && len(d) == 16 {
			return d[:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:]
		}
		return d
	},
	IBAN: func(r *rand.Rand) string {
		if r.IntN(2) == 0 {
			return ibanOf("DE", num(r, 18))
		}
		s := ibanOf("FR", num(r, 23))
		return s[:4] + " " + s[4:8] + " " + s[8:]
	},
	NationalID: func(r *rand.Rand) string {
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("%03d-%02d-%04d", 1+r.IntN(665), 1+r.IntN(99), 1+r.IntN(9999))
		case 1:
			return fmt.Sprintf("%c%c%s%c", "ACEHJLMPRSW"[r.IntN(11)], "ABCEHJLMPRSW"[r.IntN(12)], num(r, 6), "ABCD"[r.IntN(4)])
		case 2:
			n := num(r, 8)
			return n + string("TRWAGMYFPDXBNJZSQVHLCKE"[atoi(n)%23])
		}
		body := fmt.Sprint(1+r.IntN(2)) + num(r, 12)
		n, _ := new(big.Int).SetString(body, 10)
		return fmt.Sprintf("%s%02d", body, 97-new(big.Int).Mod(n, big.NewInt(97)).Int64())
	},
	IP: func(r *rand.Rand) string {
		if r.IntN(3) == 0 {
			return fmt.Sprintf("2001:db8:%x:%x::%x", r.IntN(65536), r.IntN(65536), r.IntN(65536))
		}
		return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	},
}

// decoys look like personal data to a careless eye and are not.
var decoys = map[string]gen{
	"digits failing Luhn": func(r *rand.Rand) string {
		d := "4" + num(r, 15)
		if luhn(d) {
			d = d[:15] + string(rune('0'+(int(d[15]-'0')+1)%10))
		}
		return d
	},
	"free text, emails at 2%": func(r *rand.Rand) string {
		s := fmt.Sprintf("the %s %s was %s", word(r), word(r), word(r))
		if r.IntN(50) == 0 {
			s += " — write to " + kinds[Email](r)
		}
		return s
	},
	"ids": func(r *rand.Rand) string { return fmt.Sprint(r.Int64N(1e12)) },
	"uuids": func(r *rand.Rand) string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48))
	},
	"dates":   func(r *rand.Rand) string { return fmt.Sprintf("2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)) },
	"amounts": func(r *rand.Rand) string { return fmt.Sprintf("%d.%02d", r.IntN(10000), r.IntN(100)) },
	"skus":    func(r *rand.Rand) string { return "SKU-" + num(r, 4) + "-" + num(r, 4) },
	"words":   func(r *rand.Rand) string { return word(r) + " " + word(r) },
	"half emails, half words": func(r *rand.Rand) string {
		if r.IntN(2) == 0 {
			return kinds[Email](r)
		}
		return word(r)
	},
}

func column(r *rand.Rand, g gen, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = g(r)
	}
	return out
}

// TestRecallAndPrecision generates 20 columns of each kind and 20 of
// each decoy, 200 values each, under neutral names, and asserts every
// recognizer's recall and precision.
func TestRecallAndPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 19))
	type col struct {
		truth  string // "" for a decoy
		what   string
		values []string
	}
	var cols []col
	for kind, g := range kinds {
		for range 20 {
			cols = append(cols, col{kind, kind, column(r, g, 200)})
		}
	}
	for name, g := range decoys {
		for range 20 {
			cols = append(cols, col{"", name, column(r, g, 200)})
		}
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	for i, c := range cols {
		f, ok := Column(fmt.Sprintf("c%d", i), c.values)
		switch {
		case ok && f.Kind == c.truth:
			tp[c.truth]++
		case ok:
			fp[f.Kind]++
			if c.truth != "" {
				fn[c.truth]++
			}
			t.Logf("%s column found as %s (%d of %d)", c.what, f.Kind, f.Matched, f.Sampled)
		case c.truth != "":
			fn[c.truth]++
			t.Logf("%s column not found", c.what)
		}
		if ok {
			require.Equal(t, len(c.values), f.Sampled)
			require.Equal(t, "values", f.Method)
		}
	}
	for kind := range kinds {
		recall := float64(tp[kind]) / float64(tp[kind]+fn[kind])
		precision := float64(tp[kind]) / float64(max(1, tp[kind]+fp[kind]))
		t.Logf("%-13s recall %.2f precision %.2f", kind, recall, precision)
		require.GreaterOrEqual(t, recall, 0.95, kind)
		require.GreaterOrEqual(t, precision, 0.95, kind)
	}
}

func TestCheckDigits(t *testing.T) {
	require.True(t, isCard("4111 1111 1111 1111"))
	require.False(t, isCard("4111 1111 1111 1112"), "Luhn")
	require.False(t, isCard("9111111111111111"), "no issuer starts with 9")
	require.True(t, isIBAN("GB82 WEST 1234 5698 7654 32"))
	require.False(t, isIBAN("GB82 WEST 1234 5698 7654 33"), "mod 97")
	require.False(t, isIBAN("GB82 WEST 1234 5698 7654"), "GB's length")
	require.True(t, isNationalID("123-45-6789"))
	require.False(t, isNationalID("666-45-6789"), "area 666 is never assigned")
	require.False(t, isNationalID("123-00-6789"))
	require.True(t, isNationalID("AB123456C"))
	require.False(t, isNationalID("GB123456C"), "GB is not a NINO prefix")
	require.True(t, isNationalID("12345678Z"))
	require.False(t, isNationalID("12345678A"), "DNI letter")
	require.True(t, isEmail("ann.lee@example.co.uk"))
	require.False(t, isEmail("write to ann@example.com"))
	require.True(t, isIP("10.0.0.1"))
	require.True(t, isIP("2001:db8::1"))
	require.False(t, isIP("1.2.3"))
	require.True(t, isPhone("+14155552671"))
	require.False(t, isPhone("4155552671"), "bare digits are ids as often")
}

// TestNameHints: a name alone suggests kinds no value pattern shows; for
// the others it lowers the share of values needed.
func TestNameHints(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f, ok := Column("customer_first_name", column(r, decoys["words"], 50))
	require.True(t, ok)
	require.Equal(t, Finding{Kind: PersonName, Confidence: 0.5, Sampled: 50, Method: "name"}, f)
	_, ok = Column("notes", column(r, decoys["words"], 50))
	require.False(t, ok)

	half := column(r, decoys["half emails, half words"], 100)
	_, ok = Column("contact", half)
	require.False(t, ok, "half the values are not enough for a neutral name")
	f, ok = Column("Contact-Email", half)
	require.True(t, ok)
	require.Equal(t, Email, f.Kind)
	require.Equal(t, "values+name", f.Method)
	require.Equal(t, hint("date_of_birth"), BirthDate)
	require.Equal(t, hint("emailed"), "", "whole words only")
}

package detect

import (
	"math/big"
	"net/netip"
	"regexp"
	"strings"
)

// Kinds of personal data the recognizers find; a finding accepted
// becomes the column's tag "pii:<kind>".
const (
	Email      = "email"
	Phone      = "phone"
	Card       = "payment_card"
	IBAN       = "iban"
	NationalID = "national_id"
	IP         = "ip_address"
	// Hinted only by a column's name: no value pattern tells them apart.
	PersonName = "person_name"
	BirthDate  = "birth_date"
	Address    = "address"
)

// Recognizer decides whether one value is of its kind.
type Recognizer struct {
	Kind  string
	Match func(v string) bool
}

// Recognizers are the value recognizers, in the order ties are broken.
var Recognizers = []Recognizer{
	{Card, isCard},
	{IBAN, isIBAN},
	{NationalID, isNationalID},
	{Email, isEmail},
	{IP, isIP},
	{Phone, isPhone},
}

var emailRE = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}$`)

// isEmail: a whole value that is an address (RFC 5321's lengths), not
// text that contains one.
func isEmail(v string) bool {
	if len(v) > 254 || !emailRE.MatchString(v) {
		return false
	}
	local, _, _ := strings.Cut(v, "@")
	return len(local) <= 64 && !strings.HasPrefix(local, ".") && !strings.Contains(local, "..")
}

var phoneRE = regexp.MustCompile(`^(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,4}){1,4}$`)

var dateLikeRE = regexp.MustCompile(`^\d{4}[.-]\d{2}[.-]\d{2}$|^\d{2}[.-]\d{2}[.-]\d{4}$`)

// isPhone: E.164 (+ and 8 to 15 digits), or 9 to 15 digits in groups
// with separators — an area code and a number; a bare run of digits is
// an id as often as a phone, and a date has 8.
func isPhone(v string) bool {
	d := digits(v)
	if len(d) < 8 || len(d) > 15 {
		return false
	}
	if strings.HasPrefix(v, "+") && len(d)+1 == len(v) {
		return true
	}
	return len(d) >= 9 && phoneRE.MatchString(v) && strings.ContainsAny(v, " .-()") && !dateLikeRE.MatchString(v)
}

// isCard: 13 to 19 digits (spaces or dashes between groups), a known
// issuer prefix, and a valid Luhn check digit.
func isCard(v string) bool {
	for _, r := range v {
		if (r < '0' || r > '9') && r != ' ' && r != '-' {
			return false
		}
	}
	d := digits(v)
	if len(d) < 13 || len(d) > 19 || !issuer(d) {
		return false
	}
	return luhn(d)
}

// issuer reports whether a card number starts like Visa, Mastercard,
// American Express, Discover, JCB, Diners or UnionPay numbers do.
func issuer(d string) bool {
	p2, p4 := atoi(d[:2]), atoi(d[:4])
	switch {
	case d[0] == '4':
		return true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return len(d) == 16
	case p2 == 34 || p2 == 37: // Amex
		return len(d) == 15
	case p4 == 6011 || p2 == 65 || d[:2] == "62": // Discover, UnionPay
		return true
	case p4 >= 3528 && p4 <= 3589, p2 == 36, p2 == 38: // JCB, Diners
		return true
	}
	return false
}

// luhn checks the Luhn (mod 10) check digit of a string of digits.
func luhn(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// ibanLengths are the IBAN lengths of the SEPA countries and a few more.
var ibanLengths = map[string]int{
	"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
	"FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21,
	"LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24,
	"SI": 19, "SK": 24, "SM": 27, "VA": 22, "AE": 23, "BR": 29, "IL": 23, "SA": 24, "TR": 26,
}

// isIBAN: a country's IBAN length and ISO 13616's mod-97 check.
func isIBAN(v string) bool {
	s := strings.ToUpper(strings.ReplaceAll(v, " ", ""))
	if len(s) < 15 || ibanLengths[s[:min(2, len(s))]] != len(s) || s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	var b strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteString(itoa(int(r-'A') + 10))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

var (
	ssnRE  = regexp.MustCompile(`^(\d{3})-(\d{2})-(\d{4})$`)
	ninoRE = regexp.MustCompile(`^([A-CEGHJ-PR-TW-Z]{2}) ?\d{2} ?\d{2} ?\d{2} ?[A-D]$`)
	dniRE  = regexp.MustCompile(`^(\d{8})-?([A-Z])$`)
	nirRE  = regexp.MustCompile(`^([12]\d{12}) ?(\d{2})$`)
)

// isNationalID: a US Social Security number (the SSA's unassigned areas,
// groups and serials excluded), a UK National Insurance number (its
// disallowed prefixes excluded), a Spanish DNI (check letter) or a
// French NIR (mod-97 key).
func isNationalID(v string) bool {
	if m := ssnRE.FindStringSubmatch(v); m != nil {
		area := atoi(m[1])
		return area != 0 && area != 666 && area < 900 && m[2] != "00" && m[3] != "0000"
	}
	if m := ninoRE.FindStringSubmatch(strings.ToUpper(v)); m != nil {
		switch m[1] {
		case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
			return false
		}
		return m[1][1] != 'O'
	}
	if m := dniRE.FindStringSubmatch(strings.ToUpper(v)); m != nil {
		return "TRWAGMYFPDXBNJZSQVHLCKE"[atoi(m[1])%23] == m[2][0]
	}
	if m := nirRE.FindStringSubmatch(v); m != nil {
		n, _ := new(big.Int).SetString(m[1], 10)
		return 97-new(big.Int).Mod(n, big.NewInt(97)).Int64() == int64(atoi(m[2]))
	}
	return false
}

// isIP: an IPv4 address in dotted quads or an IPv6 address.
func isIP(v string) bool {
	a, err := netip.ParseAddr(v)
	return err == nil && (a.Is4() && strings.Count(v, ".") == 3 || a.Is6())
}

func digits(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// nameHints are column-name words that suggest a kind.
var nameHints = map[string][]string{
	Email:      {"email", "e_mail", "mail"},
	Phone:      {"phone", "telephone", "tel", "mobile", "msisdn", "fax"},
	Card:       {"card_number", "cc_number", "credit_card", "pan", "card"},
	IBAN:       {"iban", "bank_account"},
	NationalID: {"ssn", "social_security", "nino", "national_id", "dni", "nir", "tax_id", "passport"},
	IP:         {"ip", "ip_address", "ipaddr", "client_ip", "remote_addr"},
	PersonName: {"first_name", "last_name", "full_name", "given_name", "family_name", "surname", "firstname", "lastname", "fullname"},
	BirthDate:  {"birth_date", "date_of_birth", "dob", "birthday", "birthdate"},
	Address:    {"street", "address", "postcode", "zip_code", "postal_code", "zipcode"},
}

// hint is the kind a column's name suggests, if any: the name, split at
// its underscores, contains a hint as whole words.
func hint(column string) string {
	name := "_" + strings.ToLower(strings.NewReplacer("-", "_", " ", "_", ".", "_").Replace(column)) + "_"
	best, bestLen := "", 0
	for kind, words := range nameHints {
		for _, w := range words {
			if strings.Contains(name, "_"+w+"_") && len(w) > bestLen {
				best, bestLen = kind, len(w)
			}
		}
	}
	return best
}

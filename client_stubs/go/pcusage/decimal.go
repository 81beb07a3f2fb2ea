package pcusage

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"
	decimalpb "google.golang.org/genproto/googleapis/type/decimal"
)

// ErrUnset is returned by [ToDecimal] for a google.type.Decimal field that is
// not set (Partner Center sent no value). Use [ToNullDecimal] to keep that
// presence instead.
var ErrUnset = errors.New("pcusage: decimal field is unset")

// ToDecimal returns the exact value of d, a google.type.Decimal as pcusage
// sends it (e.g. record.GetTotalCost()). It fails with [ErrUnset] when d is nil
// and with a parse error when its text is not a decimal.
func ToDecimal(d *decimalpb.Decimal) (decimal.Decimal, error) {
	if d == nil {
		return decimal.Decimal{}, ErrUnset
	}
	return ParseDecimal(d.GetValue())
}

// ToNullDecimal is [ToDecimal] that keeps presence: an unset d gives a
// NullDecimal whose Valid is false, so that "no value" is never read as zero.
func ToNullDecimal(d *decimalpb.Decimal) (decimal.NullDecimal, error) {
	if d == nil {
		return decimal.NullDecimal{}, nil
	}
	v, err := ParseDecimal(d.GetValue())
	if err != nil {
		return decimal.NullDecimal{}, err
	}
	return decimal.NullDecimal{Decimal: v, Valid: true}, nil
}

// FromDecimal returns d as a google.type.Decimal in plain notation (no
// exponent), for building messages.
func FromDecimal(d decimal.Decimal) *decimalpb.Decimal {
	return &decimalpb.Decimal{Value: d.String()}
}

// ParseDecimal parses the text of a google.type.Decimal exactly: an optional
// sign, digits with an optional fraction, and an optional exponent ("e" or "E",
// optionally signed), e.g. "-0.0", ".5", "2.5E+8". The empty string is zero, as
// google.type.Decimal specifies. Anything else, including "NaN", "Infinity" and
// thousand separators, is an error.
func ParseDecimal(s string) (decimal.Decimal, error) {
	fail := func(why string) (decimal.Decimal, error) {
		return decimal.Decimal{}, fmt.Errorf("pcusage: invalid decimal %q: %s", s, why)
	}
	if s == "" {
		return decimal.Zero, nil
	}
	i := 0
	negative := false
	if s[i] == '+' || s[i] == '-' {
		negative = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	integer := s[start:i]
	fraction := ""
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fraction = s[start:i]
	}
	if integer == "" && fraction == "" {
		return fail("no digits")
	}
	exponent := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start = i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		var err error
		if exponent, err = strconv.ParseInt(s[start:i], 10, 32); err != nil {
			return fail("bad exponent")
		}
	}
	if i != len(s) {
		return fail(fmt.Sprintf("unexpected %q at offset %d", s[i], i))
	}
	exponent -= int64(len(fraction))
	if exponent < math.MinInt32 {
		return fail("exponent out of range")
	}
	significand, ok := new(big.Int).SetString(integer+fraction, 10)
	if !ok {
		return fail("bad digits")
	}
	if negative {
		significand.Neg(significand)
	}
	return decimal.NewFromBigInt(significand, int32(exponent)), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

package pcusage_test

import (
	"errors"
	"math/big"
	"testing"

	decimalpb "google.golang.org/genproto/googleapis/type/decimal"

	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0"},
		{"", "0"},
		{"-0.0", "0"},
		{"+2.5", "2.5"},
		{".5", "0.5"},
		{"5.", "5"},
		{"1.50", "1.5"},
		{"2.5E+1", "25"},
		{"1.5e+2", "150"},
		{"2.5e-3", "0.0025"},
		{"2.5E0", "2.5"},
		{"1E+2", "100"},
		{"-3.75", "-3.75"},
		{"120.5682999999995904716", "120.5682999999995904716"},
		{"79228162514264337593543950335", "79228162514264337593543950335"},
		{"0.0000000000000000000000000001", "0.0000000000000000000000000001"},
		{"-7922816251426433759354395033.5", "-7922816251426433759354395033.5"},
		{"123456789012345678901234567890.123456789e-40", "0.0000000000123456789012345678901234567890123456789"},
	} {
		got, err := pcusage.ParseDecimal(tc.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tc.in, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", tc.in, got.String(), tc.want)
		}
		// Exact: the same rational number as math/big reads from the text.
		if want, ok := new(big.Rat).SetString(tc.in); ok && got.Rat().Cmp(want) != 0 {
			t.Errorf("ParseDecimal(%q) = %s, not exactly %s", tc.in, got.Rat(), want)
		}
	}
}

func TestParseDecimalRejects(t *testing.T) {
	for _, in := range []string{
		"-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "1 000", " 1", "1 ", "NaN", "Infinity", "-Inf", "0x10",
		"1e99999999999", "--1", "1E+-2", "١",
	} {
		if got, err := pcusage.ParseDecimal(in); err == nil {
			t.Errorf("ParseDecimal(%q) = %s, want an error", in, got)
		}
	}
}

func TestToDecimalKeepsPresence(t *testing.T) {
	if _, err := pcusage.ToDecimal(nil); !errors.Is(err, pcusage.ErrUnset) {
		t.Errorf("ToDecimal(nil) error = %v, want ErrUnset", err)
	}
	unset, err := pcusage.ToNullDecimal(nil)
	if err != nil || unset.Valid {
		t.Errorf("ToNullDecimal(nil) = %+v, %v; want invalid, nil", unset, err)
	}
	zero, err := pcusage.ToNullDecimal(&decimalpb.Decimal{Value: "0"})
	if err != nil || !zero.Valid || !zero.Decimal.IsZero() {
		t.Errorf("ToNullDecimal(0) = %+v, %v; want a valid zero", zero, err)
	}
	if _, err := pcusage.ToNullDecimal(&decimalpb.Decimal{Value: "abc"}); err == nil {
		t.Error("ToNullDecimal(abc) succeeded, want an error")
	}
}

func TestFromDecimalRoundTrips(t *testing.T) {
	for _, in := range []string{"0", "-3.75", "120.5682999999995904716", "1E+2"} {
		d, err := pcusage.ParseDecimal(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := pcusage.ToDecimal(pcusage.FromDecimal(d))
		if err != nil || !back.Equal(d) {
			t.Errorf("FromDecimal(%s) round trip = %s, %v", in, back, err)
		}
	}
}

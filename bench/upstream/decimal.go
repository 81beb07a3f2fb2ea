package main

import (
	"fmt"
	"math/big"
	"strings"
)

// exactSum adds plain decimal texts ("120.5682999999995904716", "-3.75",
// "42") without rounding: the value is unscaled / 10^scale.
type exactSum struct {
	unscaled big.Int
	scale    int
}

// add adds the decimal text s (optional '-', digits, optional fraction).
func (e *exactSum) add(s string) error {
	unscaled, scale, err := parsePlainDecimal(s)
	if err != nil {
		return err
	}
	for e.scale < scale {
		e.unscaled.Mul(&e.unscaled, big.NewInt(10))
		e.scale++
	}
	for scale < e.scale {
		unscaled.Mul(unscaled, big.NewInt(10))
		scale++
	}
	e.unscaled.Add(&e.unscaled, unscaled)
	return nil
}

// String writes the sum in plain notation without trailing fractional
// zeros: "26.5", "0", "-3.75".
func (e *exactSum) String() string {
	digits := new(big.Int).Abs(&e.unscaled).String()
	sign := ""
	if e.unscaled.Sign() < 0 {
		sign = "-"
	}
	if e.scale == 0 {
		return sign + digits
	}
	if len(digits) <= e.scale {
		digits = strings.Repeat("0", e.scale-len(digits)+1) + digits
	}
	point := len(digits) - e.scale
	fraction := strings.TrimRight(digits[point:], "0")
	if fraction == "" {
		return sign + digits[:point]
	}
	return sign + digits[:point] + "." + fraction
}

// parsePlainDecimal reads "[-]digits[.digits]" as unscaled / 10^scale.
func parsePlainDecimal(s string) (*big.Int, int, error) {
	text, negative := strings.CutPrefix(s, "-")
	integer, fraction, _ := strings.Cut(text, ".")
	if integer == "" || !allDigits(integer) || !allDigits(fraction) {
		return nil, 0, fmt.Errorf("not a plain decimal: %q", s)
	}
	unscaled, ok := new(big.Int).SetString(integer+fraction, 10)
	if !ok {
		return nil, 0, fmt.Errorf("not a plain decimal: %q", s)
	}
	if negative {
		unscaled.Neg(unscaled)
	}
	return unscaled, len(fraction), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pcusage/pcusage/client_stubs/go/internal/stacktest"
)

// expectedTotals computes the program's output from the emulator's raw JSON,
// independently of pcusage and shopspring/decimal: math/big's exact rationals
// read the JSON number text.
func expectedTotals(t *testing.T, raw []map[string]any) string {
	t.Helper()
	type group struct {
		records int
		total   *big.Rat
	}
	groups := map[string]*group{}
	for i, record := range raw {
		key := "unknown"
		if code, _ := record["currencyCode"].(string); code != "" {
			key = code
		} else if locale, _ := record["currencyLocale"].(string); locale != "" {
			key = "locale:" + locale
		}
		g := groups[key]
		if g == nil {
			g = &group{total: new(big.Rat)}
			groups[key] = g
		}
		g.records++
		if cost, ok := record["totalCost"].(json.Number); ok {
			value, ok := new(big.Rat).SetString(cost.String())
			if !ok {
				t.Fatalf("raw record %d: totalCost %q is not a number", i, cost)
			}
			g.total.Add(g.total, value)
		}
	}
	keys := make([]string, 0, len(groups))
	for key := range groups {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var out strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&out, "%s\t%d\t%s\n", key, groups[key].records, plainDecimal(t, groups[key].total))
	}
	return out.String()
}

// plainDecimal writes a rational with a terminating decimal expansion exactly,
// without exponent or trailing fractional zeros.
func plainDecimal(t *testing.T, r *big.Rat) string {
	t.Helper()
	const places = 100
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(places), nil)))
	if !scaled.IsInt() {
		t.Fatalf("%s has more than %d decimal places", r, places)
	}
	text := r.FloatString(places)
	if strings.Contains(text, ".") {
		text = strings.TrimRight(strings.TrimRight(text, "0"), ".")
	}
	if text == "-0" {
		text = "0"
	}
	return text
}

// runProgram runs the program in-process with args and PCUSAGE_ACCESS_TOKEN
// set to token.
func runProgram(t *testing.T, token string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("PCUSAGE_ACCESS_TOKEN", token)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTotalsMatchEmulator(t *testing.T) {
	stack := stacktest.FromEnv(t)
	want := expectedTotals(t, stack.RawRecords(t))
	// The server address comes from --server, and by default from PCUSAGE_SERVER.
	for _, args := range [][]string{{"--server", stack.Server, "--page-size", "9"}, {}} {
		name := "defaults"
		if len(args) > 0 {
			name = "flags"
		}
		t.Run(name, func(t *testing.T) {
			t.Setenv("PCUSAGE_SERVER", stack.Server)
			code, got, stderr := runProgram(t, stack.Token, args...)
			if code != 0 {
				t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
			}
			if got != want {
				t.Errorf("output:\n%s\nwant (from the emulator's pages):\n%s", got, want)
			}
		})
	}
}

func TestPlainDecimalFormat(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.50", "1.5"}, {"26.5", "26.5"}, {"-0.0", "0"}, {"0", "0"}, {"-3.75", "-3.75"}, {"1.5e+2", "150"},
		{"1e-28", "0.0000000000000000000000000001"},
	} {
		r, _ := new(big.Rat).SetString(tc.in)
		if got := plainDecimal(t, r); got != tc.want {
			t.Errorf("plainDecimal(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWrongTokenFails(t *testing.T) {
	stack := stacktest.FromEnv(t)
	code, stdout, stderr := runProgram(t, "wrong-token", "--server", stack.Server, "--timeout", "30s")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	for _, want := range []string{"UNAUTHENTICATED", "PARTNER_CENTER_UNAUTHENTICATED", "correlation id: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "wrong-token") {
		t.Errorf("stderr quotes the token:\n%s", stderr)
	}
}

func TestThrottledFailsWithRetryDelay(t *testing.T) {
	stack := stacktest.FromEnv(t)
	stack.SetFaults(t, `[{"page": 0, "times": -1, "fault": "throttle", "retry_after": "600"}]`)
	code, _, stderr := runProgram(t, stack.Token, "--server", stack.Server, "--timeout", "30s")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{"RESOURCE_EXHAUSTED", "PARTNER_CENTER_RATE_LIMITED", "retry after: 10m0s"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestBadArguments(t *testing.T) {
	if code, _, _ := runProgram(t, "", "--no-such-flag"); code != 2 {
		t.Errorf("exit status %d for an unknown flag, want 2", code)
	}
	if code, _, _ := runProgram(t, "", "extra"); code != 2 {
		t.Errorf("exit status %d for an extra argument, want 2", code)
	}
}

// Over mTLS with an API key: --ca-file trusts the test's CA, --cert-file and
// --key-file show the client certificate the listener requires, and
// $PCUSAGE_API_KEY authenticates the caller.
func TestTotalsOverMutualTLSWithAPIKey(t *testing.T) {
	stack := stacktest.FromEnv(t)
	want := expectedTotals(t, stack.RawRecords(t))
	serverCA := stacktest.NewCA(t, "totals-server-ca")
	cert, key := serverCA.IssueServer(t)
	clientCA := stacktest.NewCA(t, "totals-client-ca")
	clientCert, clientKey := clientCA.IssueClient(t, "totals")
	const apiKey = "totals-key-0123456789"
	server := stack.StartServer(t, "--tls_cert_file="+cert, "--tls_key_file="+key,
		"--tls_client_ca_file="+clientCA.CertFile,
		"--api_keys_file="+stacktest.APIKeysFile(t, map[string]string{"totals": apiKey}))
	args := []string{"--server=" + server, "--ca-file=" + serverCA.CertFile,
		"--cert-file=" + clientCert, "--key-file=" + clientKey}

	t.Run("with the key", func(t *testing.T) {
		t.Setenv("PCUSAGE_API_KEY", apiKey)
		code, got, stderr := runProgram(t, stack.Token, args...)
		if code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
		if got != want {
			t.Errorf("output:\n%s\nwant (from the emulator's pages):\n%s", got, want)
		}
	})
	t.Run("without the key", func(t *testing.T) {
		t.Setenv("PCUSAGE_API_KEY", "")
		code, stdout, stderr := runProgram(t, stack.Token, args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "CALLER_UNAUTHENTICATED") {
			t.Errorf("exit status %d, stdout %q, stderr:\n%s\nwant 1, nothing, CALLER_UNAUTHENTICATED", code, stdout, stderr)
		}
	})
	t.Run("API key in plaintext off loopback", func(t *testing.T) {
		t.Setenv("PCUSAGE_API_KEY", apiKey)
		code, _, stderr := runProgram(t, stack.Token, "--server=pcusage.example.com:443")
		if code != 1 || !strings.Contains(stderr, "loopback") || strings.Contains(stderr, apiKey) {
			t.Errorf("exit status %d, stderr:\n%s\nwant 1 and a refusal that does not quote the key", code, stderr)
		}
	})
}

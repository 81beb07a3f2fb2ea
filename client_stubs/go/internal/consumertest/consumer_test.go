package consumertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcusage/pcusage/client_stubs/go/internal/stacktest"
)

// modulePath is the module's path, and moduleVersion the release the
// consumer requires (the repository's VERSION; a release tags
// client_stubs/go/v<VERSION>).
const (
	modulePath    = "github.com/pcusage/pcusage/client_stubs/go"
	moduleVersion = "v0.2.0"
)

// hangGuard bounds each go command and the example's run; no assertion is
// made on time.
const hangGuard = 5 * time.Minute

// The version the consumer requires is the repository's version.
func TestModuleVersionIsTheRepositoryVersion(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(stacktest.RepoRoot(t), "VERSION"))
	if err != nil {
		t.Fatalf("the repository's VERSION file: %v", err)
	}
	if got := "v" + strings.TrimSpace(string(text)); got != moduleVersion {
		t.Errorf("VERSION says %s, the Go module's documented release is %s", got, moduleVersion)
	}
}

// A fresh module outside the repository requires the client module (replaced
// by this checkout), resolves its dependencies with go mod tidy, builds the
// consumer example, and lists every record through a TLS server with its API
// key.
func TestFreshModuleBuildsAndRuns(t *testing.T) {
	stack := stacktest.FromEnv(t)
	raw := stack.RawRecords(t)
	moduleDir := filepath.Join(stacktest.RepoRoot(t), "client_stubs", "go")

	dir := t.TempDir()
	if strings.HasPrefix(dir, stacktest.RepoRoot(t)+string(filepath.Separator)) {
		t.Fatalf("the temporary directory %s is inside the repository", dir)
	}
	example, err := os.ReadFile(filepath.Join(moduleDir, "testdata", "consumer", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	// What the README tells a user to run.
	goCmd(t, dir, "mod", "init", "example.com/usage-report")
	goCmd(t, dir, "mod", "edit", "-require="+modulePath+"@"+moduleVersion, "-replace="+modulePath+"="+moduleDir)
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "build", "-o", "usage-report", ".")
	goMod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(goMod), modulePath+" "+moduleVersion) {
		t.Errorf("go.mod does not require %s %s:\n%s", modulePath, moduleVersion, goMod)
	}

	ca := stacktest.NewCA(t, "consumer-test-ca")
	cert, key := ca.IssueServer(t)
	const apiKey = "consumer-key-0123456789"
	server := stack.StartServer(t, "--tls_cert_file="+cert, "--tls_key_file="+key,
		"--api_keys_file="+stacktest.APIKeysFile(t, map[string]string{"consumer": apiKey}))

	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	run := exec.CommandContext(ctx, filepath.Join(dir, "usage-report"), "--server="+server, "--ca-file="+ca.CertFile)
	run.Env = append(os.Environ(), "PCUSAGE_ACCESS_TOKEN="+stack.Token, "PCUSAGE_API_KEY="+apiKey)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("usage-report: %v; stderr:\n%s", err, stderr.String())
	}
	// The count and the exact USD sum, computed from the emulator's JSON text with math/big.
	usd := new(big.Rat)
	for i, record := range raw {
		if cost, ok := record["usdTotalCost"].(json.Number); ok {
			value, ok := new(big.Rat).SetString(cost.String())
			if !ok {
				t.Fatalf("raw record %d: usdTotalCost %q is not a number", i, cost)
			}
			usd.Add(usd, value)
		}
	}
	var records int
	var total string
	if _, err := fmt.Sscanf(stdout.String(), "records\t%d\nusd_total_cost\t%s\n", &records, &total); err != nil {
		t.Fatalf("usage-report printed %q: %v", stdout.String(), err)
	}
	if records != len(raw) {
		t.Errorf("usage-report counted %d records, the emulator serves %d", records, len(raw))
	}
	if got, ok := new(big.Rat).SetString(total); !ok || got.Cmp(usd) != 0 {
		t.Errorf("usage-report's USD total is %s, the emulator's pages add up to %s", total, usd.FloatString(30))
	}
}

// goCmd runs the go command of this toolchain (go test puts it first on PATH)
// in dir, failing the test on error.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

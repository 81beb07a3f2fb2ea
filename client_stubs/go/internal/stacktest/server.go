package stacktest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// startGuard bounds how long a server may take to write its port file; it
// only keeps a broken start from hanging the suite.
const startGuard = 60 * time.Second

// RepoRoot returns the repository's root directory (this file is
// client_stubs/go/internal/stacktest/server.go in it).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the stacktest source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

// binary returns the path of a Bazel-built binary under bazel-bin, failing the
// test when it is missing (tools/with_stack builds pcusage_server;
// pcusage_api_key is built beside it by bazel build //server:all).
func binary(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "bazel-bin", "server", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built (bazel build //server:%s): %v", path, name, err)
	}
	return path
}

// StartServer starts a pcusage_server of its own on a free loopback port,
// reading from the stack's emulator, with the extra flags args (TLS, API keys,
// ...). It returns the server's host:port and stops the server when the test
// ends. The server passes callers' bearer tokens through and shares no
// snapshots, like the one of tools/with_stack.
func (s *Stack) StartServer(t testing.TB, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child holds its own descriptor
	log := func() string {
		text, _ := os.ReadFile(logFile.Name())
		return tail(string(text), 4000)
	}
	cmd := exec.Command(binary(t, "pcusage_server"), append([]string{
		"--listen=127.0.0.1:0",
		"--port_file=" + portFile,
		"--partner_center_url=http://" + s.Emulator,
		"--snapshot_max_staleness=0",
		"--max_attempts=2",
		"--initial_backoff=10ms",
	}, args...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pcusage_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("pcusage_server %s log:\n%s", strings.Join(args, " "), log())
		}
	})

	deadline := time.Now().Add(startGuard)
	for {
		if port, err := os.ReadFile(portFile); err == nil && len(bytes.TrimSpace(port)) > 0 {
			return "127.0.0.1:" + string(bytes.TrimSpace(port))
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("pcusage_server %s exited before serving (%v); its log:\n%s", strings.Join(args, " "), err, log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcusage_server did not write its port file within %s; its log:\n%s", startGuard, log())
		}
	}
}

// APIKeysFile writes an --api_keys_file holding one line per name → key, each
// made by pcusage_api_key (salted hashes; the keys themselves are not in it),
// and returns its path.
func APIKeysFile(t testing.TB, keys map[string]string) string {
	t.Helper()
	var lines strings.Builder
	for name, key := range keys {
		cmd := exec.Command(binary(t, "pcusage_api_key"), name)
		cmd.Stdin = strings.NewReader(key + "\n")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		line, err := cmd.Output()
		if err != nil {
			t.Fatalf("pcusage_api_key %s: %v: %s", name, err, stderr.String())
		}
		lines.Write(line)
	}
	path := filepath.Join(t.TempDir(), "api_keys")
	if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteFile writes content to a new file name in a temporary directory and
// returns its path.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...%s", s[len(s)-n:])
}

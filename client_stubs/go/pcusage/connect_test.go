package pcusage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// An API key goes in plaintext only to loopback, unless TLS is on or the
// caller says InsecureAPIKey.
func TestAPIKeyNeedsTLSOffLoopback(t *testing.T) {
	key := "k-0123456789abcdef"
	for _, target := range []string{"127.0.0.1:50051", "localhost:50051", "LocalHost", "[::1]:50051",
		"dns:///localhost:50051", "passthrough:///127.0.0.2:1", "unix:///run/pcusage.sock"} {
		if _, err := (pcusage.ConnectOptions{APIKey: key}).DialOptions(target); err != nil {
			t.Errorf("plaintext API key to %s: %v, want allowed (loopback)", target, err)
		}
	}
	for _, target := range []string{"pcusage.example.com:443", "10.0.0.8:50051", "[2001:db8::1]:50051",
		"dns:///pcusage.example.com:443", "localhost.example.com:1"} {
		_, err := (pcusage.ConnectOptions{APIKey: key}).DialOptions(target)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("plaintext API key to %s: %v, want refused", target, err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("the error quotes the key: %v", err)
		}
		if _, err := (pcusage.ConnectOptions{APIKey: key, TLS: true}).DialOptions(target); err != nil {
			t.Errorf("API key over TLS to %s: %v", target, err)
		}
		if _, err := (pcusage.ConnectOptions{APIKey: key, InsecureAPIKey: true}).DialOptions(target); err != nil {
			t.Errorf("API key with InsecureAPIKey to %s: %v", target, err)
		}
	}
	if _, err := (pcusage.ConnectOptions{APIKey: "k\r\nx-other: 1"}).DialOptions("127.0.0.1:1"); err == nil {
		t.Error("an API key with a line break was accepted")
	}
}

// The PEM files are read when the options are turned into dial options, so a
// wrong path or file fails there, not at the first call.
func TestTLSFilesAreChecked(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]pcusage.ConnectOptions{
		"missing CA file":      {CAFile: filepath.Join(dir, "missing.pem")},
		"CA file without PEM":  {CAFile: notPEM},
		"certificate only":     {CertFile: notPEM},
		"key only":             {KeyFile: notPEM},
		"unreadable key pair":  {CertFile: notPEM, KeyFile: notPEM},
		"missing client files": {CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")},
	} {
		if _, err := opts.DialOptions("127.0.0.1:1"); err == nil {
			t.Errorf("%s: DialOptions succeeded", name)
		}
	}
	if _, err := (pcusage.ConnectOptions{TLS: true}).DialOptions("pcusage.example.com:443"); err != nil {
		t.Errorf("TLS with the system's roots: %v", err)
	}
}

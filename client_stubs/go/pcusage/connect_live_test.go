package pcusage_test

// ConnectOptions against pcusage servers of the test's own (API keys, TLS,
// mTLS), each reading from the emulator of tools/with_stack.

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/pcusage/pcusage/client_stubs/go/internal/stacktest"
	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

const testAPIKey = "go-client-key-0123456789"

// connect returns a client of target set up by opts, closed when the test
// ends, and a context with the emulator's token and the hang guard.
func connect(t *testing.T, stack *stacktest.Stack, target string, opts pcusage.ConnectOptions) (context.Context, usagev1.UsageRecordsServiceClient) {
	t.Helper()
	conn, err := pcusage.NewClient(target, opts)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", target, err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(t.Context(), stack.Token), hangGuard)
	t.Cleanup(cancel)
	return ctx, usagev1.NewUsageRecordsServiceClient(conn)
}

// requireFullListing lists every record through target and compares the ids
// with the emulator's pages.
func requireFullListing(t *testing.T, stack *stacktest.Stack, want []string, target string, opts pcusage.ConnectOptions) {
	t.Helper()
	ctx, client := connect(t, stack, target, opts)
	requireSameIDs(t, listAll(ctx, t, &pcusage.Lister{Client: client, PageSize: 50}), want)
}

// requireRefused fails unless a call through target fails with code (and
// reason, when not empty).
func requireRefused(t *testing.T, stack *stacktest.Stack, target string, opts pcusage.ConnectOptions, code codes.Code, reason string) error {
	t.Helper()
	ctx, client := connect(t, stack, target, opts)
	err := firstError(ctx, client, &usagev1.ListUsageRecordsRequest{})
	requireStatus(t, err, code, reason)
	return err
}

// A server with --api_keys_file lets in the caller whose x-api-key matches,
// and refuses a wrong or missing key, over plaintext on loopback.
func TestAPIKey(t *testing.T) {
	stack := stacktest.FromEnv(t)
	want := rawIDs(stack.RawRecords(t))
	server := stack.StartServer(t, "--api_keys_file="+stacktest.APIKeysFile(t, map[string]string{"go-client": testAPIKey}))

	t.Run("right key", func(t *testing.T) {
		requireFullListing(t, stack, want, server, pcusage.ConnectOptions{APIKey: testAPIKey})
	})
	t.Run("localhost target", func(t *testing.T) {
		target := strings.Replace(server, "127.0.0.1", "localhost", 1)
		requireFullListing(t, stack, want, target, pcusage.ConnectOptions{APIKey: testAPIKey})
	})
	t.Run("wrong key", func(t *testing.T) {
		err := requireRefused(t, stack, server, pcusage.ConnectOptions{APIKey: "not-" + testAPIKey},
			codes.Unauthenticated, pcusage.ReasonCallerUnauthenticated)
		if strings.Contains(err.Error(), testAPIKey) {
			t.Errorf("the error quotes the key: %v", err)
		}
	})
	t.Run("no key", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{}, codes.Unauthenticated, pcusage.ReasonCallerUnauthenticated)
	})
}

// A TLS listener: the client trusts the test's CA from CAFile, checks the
// certificate's name (ServerName when given), and sends its API key inside
// TLS.
func TestTLS(t *testing.T) {
	stack := stacktest.FromEnv(t)
	want := rawIDs(stack.RawRecords(t))
	ca := stacktest.NewCA(t, "pcusage-test-ca")
	cert, key := ca.IssueServer(t, "pcusage.test")
	server := stack.StartServer(t, "--tls_cert_file="+cert, "--tls_key_file="+key,
		"--api_keys_file="+stacktest.APIKeysFile(t, map[string]string{"go-client": testAPIKey}))

	t.Run("CA file and API key", func(t *testing.T) {
		requireFullListing(t, stack, want, server, pcusage.ConnectOptions{CAFile: ca.CertFile, APIKey: testAPIKey})
	})
	t.Run("server name", func(t *testing.T) {
		requireFullListing(t, stack, want, server,
			pcusage.ConnectOptions{CAFile: ca.CertFile, ServerName: "pcusage.test", APIKey: testAPIKey})
	})
	t.Run("wrong server name", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: ca.CertFile, ServerName: "other.test", APIKey: testAPIKey},
			codes.Unavailable, "")
	})
	t.Run("system roots do not know the test CA", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{TLS: true, APIKey: testAPIKey}, codes.Unavailable, "")
	})
	t.Run("another CA", func(t *testing.T) {
		other := stacktest.NewCA(t, "another-ca")
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: other.CertFile, APIKey: testAPIKey}, codes.Unavailable, "")
	})
	t.Run("plaintext to a TLS listener", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{APIKey: testAPIKey}, codes.Unavailable, "")
	})
	t.Run("no API key", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: ca.CertFile},
			codes.Unauthenticated, pcusage.ReasonCallerUnauthenticated)
	})
}

// An mTLS listener with an allow list: a client certificate from the client
// CA naming an allowed identity is let in; one naming another identity is
// refused by pcusage (CALLER_UNAUTHENTICATED); no certificate, or one from
// another CA, fails the handshake.
func TestMutualTLS(t *testing.T) {
	stack := stacktest.FromEnv(t)
	want := rawIDs(stack.RawRecords(t))
	serverCA := stacktest.NewCA(t, "pcusage-server-ca")
	cert, key := serverCA.IssueServer(t)
	clientCA := stacktest.NewCA(t, "pcusage-client-ca")
	server := stack.StartServer(t, "--tls_cert_file="+cert, "--tls_key_file="+key,
		"--tls_client_ca_file="+clientCA.CertFile,
		"--client_allow_list_file="+stacktest.WriteFile(t, "allow", "go-client\n"))

	t.Run("allowed certificate", func(t *testing.T) {
		certFile, keyFile := clientCA.IssueClient(t, "go-client")
		requireFullListing(t, stack, want, server,
			pcusage.ConnectOptions{CAFile: serverCA.CertFile, CertFile: certFile, KeyFile: keyFile})
	})
	t.Run("certificate not on the allow list", func(t *testing.T) {
		certFile, keyFile := clientCA.IssueClient(t, "stranger")
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: serverCA.CertFile, CertFile: certFile, KeyFile: keyFile},
			codes.Unauthenticated, pcusage.ReasonCallerUnauthenticated)
	})
	t.Run("no certificate", func(t *testing.T) {
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: serverCA.CertFile}, codes.Unavailable, "")
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		certFile, keyFile := stacktest.NewCA(t, "another-ca").IssueClient(t, "go-client")
		requireRefused(t, stack, server, pcusage.ConnectOptions{CAFile: serverCA.CertFile, CertFile: certFile, KeyFile: keyFile},
			codes.Unavailable, "")
	})
}

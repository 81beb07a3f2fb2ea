package pcusage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// APIKeyKey is the metadata key that carries a caller's API key; the server
// checks it against its --api_keys_file (docs/security.md).
const APIKeyKey = "x-api-key"

// ConnectOptions say how a client reaches a pcusage server: whether the
// connection speaks TLS, whom it trusts, the client certificate it shows
// (mTLS), and the API key it sends. The zero value is plaintext without a key,
// as for a server on loopback.
type ConnectOptions struct {
	// TLS turns TLS on. It is implied by CAFile, CertFile and ServerName.
	TLS bool

	// CAFile is a PEM file of the CA certificates that may sign the server's
	// certificate. Empty means the system's roots.
	CAFile string

	// CertFile and KeyFile are the client's certificate chain and private key
	// (PEM), shown to a server that requires client certificates
	// (--tls_client_ca_file). Both or neither.
	CertFile, KeyFile string

	// ServerName is the name the server's certificate must carry, when it is
	// not the host of the target (e.g. connecting by IP address).
	ServerName string

	// APIKey, when set, is sent as "x-api-key" metadata on every call. Without
	// TLS it is sent only to a loopback address, unless InsecureAPIKey is set.
	APIKey string

	// InsecureAPIKey allows sending APIKey over plaintext to an address that
	// is not loopback, where anyone on the path can read it.
	InsecureAPIKey bool
}

// tlsEnabled reports whether the options ask for TLS.
func (o ConnectOptions) tlsEnabled() bool {
	return o.TLS || o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.ServerName != ""
}

// DialOptions returns the grpc.DialOptions that carry out o for a client of
// target (the host:port or gRPC target name passed to grpc.NewClient). It
// reads the PEM files now, so a missing or malformed file is an error here.
func (o ConnectOptions) DialOptions(target string) ([]grpc.DialOption, error) {
	secure := o.tlsEnabled()
	var opts []grpc.DialOption
	if secure {
		config, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(config)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if o.APIKey != "" {
		if strings.ContainsAny(o.APIKey, "\r\n") {
			return nil, errors.New("pcusage: the API key contains a line break")
		}
		if !secure && !o.InsecureAPIKey && !isLoopbackTarget(target) {
			return nil, fmt.Errorf("pcusage: an API key is sent in plaintext only to a loopback address, not to %q: use TLS (or set InsecureAPIKey)", target)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(apiKeyCredentials{key: o.APIKey, requireTLS: secure}))
	}
	return opts, nil
}

// NewClient returns a gRPC client connection to target set up by o, with
// extra dial options after those of o. Close it when done.
func NewClient(target string, o ConnectOptions, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts, err := o.DialOptions(target)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(target, append(opts, extra...)...)
}

// tlsConfig builds the client's TLS configuration from the PEM files.
func (o ConnectOptions) tlsConfig() (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("pcusage: CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pcusage: CA file %s holds no PEM certificate", o.CAFile)
		}
		config.RootCAs = roots
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("pcusage: a client certificate needs both CertFile and KeyFile")
	}
	if o.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("pcusage: client certificate: %w", err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return config, nil
}

// isLoopbackTarget reports whether a gRPC target names a loopback address:
// "localhost" or a loopback IP, with or without a port and a "dns:///" or
// "passthrough:///" scheme; "unix:" targets are local too.
func isLoopbackTarget(target string) bool {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return true
	}
	for _, scheme := range []string{"dns:///", "passthrough:///", "dns:", "passthrough:"} {
		if rest, ok := strings.CutPrefix(target, scheme); ok {
			target = rest
			break
		}
	}
	host := target
	if h, _, err := net.SplitHostPort(target); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// apiKeyCredentials sends the caller's API key as x-api-key metadata.
type apiKeyCredentials struct {
	key        string
	requireTLS bool
}

func (c apiKeyCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{APIKeyKey: c.key}, nil
}

func (c apiKeyCredentials) RequireTransportSecurity() bool { return c.requireTLS }

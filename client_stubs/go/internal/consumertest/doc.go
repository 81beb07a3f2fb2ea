// Package consumertest holds the test that uses the module as an application
// outside this repository would: a fresh Go module in a temporary directory
// that requires github.com/pcusage/pcusage/client_stubs/go (with a replace
// directive pointing at this checkout), builds the consumer example of
// testdata/consumer there, and runs it against a live pcusage server over TLS
// with an API key.
package consumertest

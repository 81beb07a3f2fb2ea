// Command pcusage-totals lists every usage record through a pcusage server and
// prints, per currency, the number of records and the exact sum of their
// total_cost:
//
//	<currency>\t<records>\t<total>
//
// one line per currency, sorted by key. The key is the record's currency_code,
// else "locale:<currency_locale>", else "unknown". Totals are exact decimals
// in plain notation ("26.5", "0", "-3.75"); a record without total_cost is
// counted but adds nothing.
//
// Usage:
//
//	PCUSAGE_ACCESS_TOKEN=... [PCUSAGE_API_KEY=...] pcusage-totals [--server=host:port] [--timeout=60s] [--page-size=N]
//	    [--tls] [--ca-file=ca.pem] [--cert-file=client.pem --key-file=client.key] [--server-name=name]
//
// The server defaults to $PCUSAGE_SERVER, else 127.0.0.1:50051. The Partner
// Center token in $PCUSAGE_ACCESS_TOKEN is sent as "authorization: Bearer"
// metadata (a server with its own token needs none), and the caller's API key
// in $PCUSAGE_API_KEY as "x-api-key" (in plaintext only to loopback). The
// connection speaks TLS with --tls or any other TLS flag: --ca-file trusts
// those CAs instead of the system's, --cert-file and --key-file show a client
// certificate (mTLS). On failure it prints the gRPC code, message, ErrorInfo
// reason and correlation id to stderr and exits 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the program: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("pcusage-totals", flag.ContinueOnError)
	flags.SetOutput(stderr)
	server := flags.String("server", defaultServer(), "pcusage server address `host:port`")
	timeout := flags.Duration("timeout", 60*time.Second, "deadline of the whole listing")
	pageSize := flags.Int("page-size", 0, "records per response message (0: the server's default)")
	var connect pcusage.ConnectOptions
	flags.BoolVar(&connect.TLS, "tls", false, "speak TLS, trusting the system's CAs (implied by the flags below)")
	flags.StringVar(&connect.CAFile, "ca-file", "", "PEM `file` of the CAs that sign the server's certificate")
	flags.StringVar(&connect.CertFile, "cert-file", "", "client certificate chain (PEM `file`) for mTLS")
	flags.StringVar(&connect.KeyFile, "key-file", "", "private key (PEM `file`) of --cert-file")
	flags.StringVar(&connect.ServerName, "server-name", "", "`name` to verify in the server's certificate (default: the host of --server)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "pcusage-totals: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	connect.APIKey = os.Getenv("PCUSAGE_API_KEY")

	conn, err := pcusage.NewClient(*server, connect)
	if err != nil {
		fmt.Fprintf(stderr, "pcusage-totals: %v\n", err)
		return 1
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if token := os.Getenv("PCUSAGE_ACCESS_TOKEN"); token != "" {
		ctx = pcusage.WithAccessToken(ctx, token)
	}
	var header metadata.MD
	lister := &pcusage.Lister{
		Client:      usagev1.NewUsageRecordsServiceClient(conn),
		PageSize:    int32(*pageSize),
		MaxResumes:  3,
		CallOptions: []grpc.CallOption{grpc.Header(&header)},
	}
	totals, err := sumTotalCosts(lister.Records(ctx))
	if err != nil {
		reportError(stderr, err, header)
		return 1
	}
	for _, key := range slices.Sorted(maps.Keys(totals)) {
		fmt.Fprintf(stdout, "%s\t%d\t%s\n", key, totals[key].records, totals[key].total.String())
	}
	return 0
}

func defaultServer() string {
	if server := os.Getenv("PCUSAGE_SERVER"); server != "" {
		return server
	}
	return "127.0.0.1:50051"
}

// group is one output line: a currency's record count and exact total.
type group struct {
	records int
	total   decimal.Decimal
}

// sumTotalCosts groups the records by currency and sums their total_cost.
func sumTotalCosts(records iter.Seq2[*usagev1.CustomerMonthlyUsageRecord, error]) (map[string]*group, error) {
	totals := map[string]*group{}
	for record, err := range records {
		if err != nil {
			return nil, err
		}
		key := currencyKey(record)
		g := totals[key]
		if g == nil {
			g = &group{}
			totals[key] = g
		}
		g.records++
		cost, err := pcusage.ToNullDecimal(record.GetTotalCost())
		if err != nil {
			return nil, fmt.Errorf("record %s: total_cost: %w", record.GetId(), err)
		}
		if cost.Valid {
			g.total = g.total.Add(cost.Decimal)
		}
	}
	return totals, nil
}

// currencyKey is the group of a record: its currency code, else its currency
// locale, else "unknown".
func currencyKey(record *usagev1.CustomerMonthlyUsageRecord) string {
	switch {
	case record.GetCurrencyCode() != "":
		return record.GetCurrencyCode()
	case record.GetCurrencyLocale() != "":
		return "locale:" + record.GetCurrencyLocale()
	default:
		return "unknown"
	}
}

// reportError prints a failed listing's status, details and correlation id.
func reportError(w io.Writer, err error, header metadata.MD) {
	st, ok := status.FromError(err)
	if !ok {
		fmt.Fprintf(w, "pcusage-totals: %v\n", err)
		return
	}
	fmt.Fprintf(w, "pcusage-totals: %s: %s\n", code.Code(st.Code()), st.Message())
	if reason := pcusage.Reason(err); reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", reason)
	}
	if delay, ok := pcusage.RetryDelay(err); ok {
		fmt.Fprintf(w, "  retry after: %s\n", delay)
	}
	if ids := header.Get(pcusage.CorrelationIDKey); len(ids) > 0 {
		fmt.Fprintf(w, "  correlation id: %s\n", ids[0])
	}
}

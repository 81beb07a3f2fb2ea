// Command usage-report is the consumer example: a program in a Go module of
// its own that depends on github.com/pcusage/pcusage/client_stubs/go, as an
// application outside this repository would. It lists every usage record
// through a pcusage server (TLS and an API key when asked) and prints how many
// there are and the exact sum of their usd_total_cost.
//
// internal/consumertest copies it into a fresh module outside the repository,
// builds it there and runs it against a live server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/shopspring/decimal"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

func main() {
	server := flag.String("server", "127.0.0.1:50051", "pcusage server host:port")
	caFile := flag.String("ca-file", "", "PEM CAs of the server's certificate (turns TLS on)")
	certFile := flag.String("cert-file", "", "client certificate (PEM) for mTLS")
	keyFile := flag.String("key-file", "", "client key (PEM) for mTLS")
	flag.Parse()

	conn, err := pcusage.NewClient(*server, pcusage.ConnectOptions{
		CAFile:   *caFile,
		CertFile: *certFile,
		KeyFile:  *keyFile,
		APIKey:   os.Getenv("PCUSAGE_API_KEY"), // sent as x-api-key
	})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if token := os.Getenv("PCUSAGE_ACCESS_TOKEN"); token != "" {
		ctx = pcusage.WithAccessToken(ctx, token)
	}
	lister := &pcusage.Lister{Client: usagev1.NewUsageRecordsServiceClient(conn), MaxResumes: 3}
	records, usd := 0, decimal.Zero
	for record, err := range lister.Records(ctx) {
		if err != nil {
			log.Fatalf("after %d records: %v (reason %s)", records, err, pcusage.Reason(err))
		}
		records++
		cost, err := pcusage.ToNullDecimal(record.GetUsdTotalCost())
		if err != nil {
			log.Fatal(err)
		}
		if cost.Valid {
			usd = usd.Add(cost.Decimal)
		}
	}
	fmt.Printf("records\t%d\nusd_total_cost\t%s\n", records, usd.String())
}

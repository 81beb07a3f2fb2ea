// Command goclient is bench/compare's "pcusage + Go client" contender: it
// calls ListUsageRecords through the repo's Go client module (client_stubs/go),
// counts the records and sums total_cost exactly per currency group
// (currency_code, else "locale:<currency_locale>", else "unknown"), and
// reports its time to first record, measured from just before the call (the
// connection is made lazily, so that time includes it).
//
//	goclient --server=127.0.0.1:PORT [--page_size=1000] [--timeout=2h] [--count_only]
//
// Prints one JSON line: {"records": N, "counts": {...}, "totals": {...},
// "ttfr_s": S}; totals are exact decimals in plain notation. With
// --count_only it only counts (counts and totals stay empty).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"iter"
	"os"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

type result struct {
	Records int               `json:"records"`
	Counts  map[string]int    `json:"counts"`
	Totals  map[string]string `json:"totals"`
	TTFR    float64           `json:"ttfr_s"`
}

func main() {
	server := flag.String("server", "127.0.0.1:50051", "pcusage server `host:port`")
	pageSize := flag.Int("page_size", 1000, "records per response message")
	countOnly := flag.Bool("count_only", false, "only count the records (no sums): the \"Go client that counts\" of issue 10's goal")
	timeout := flag.Duration("timeout", 2*time.Hour, "deadline of the listing")
	flag.Parse()
	res, err := run(*server, int32(*pageSize), *timeout, *countOnly)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goclient: %v\n", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func run(server string, pageSize int32, timeout time.Duration, countOnly bool) (result, error) {
	conn, err := grpc.NewClient(server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lister := &pcusage.Lister{Client: usagev1.NewUsageRecordsServiceClient(conn), PageSize: pageSize}
	if countOnly {
		return count(time.Now(), lister.Records(ctx))
	}
	return sum(time.Now(), lister.Records(ctx))
}

// count counts the records.
func count(start time.Time, records iter.Seq2[*usagev1.CustomerMonthlyUsageRecord, error]) (result, error) {
	var res result
	for _, err := range records {
		if err != nil {
			return res, err
		}
		if res.Records == 0 {
			res.TTFR = time.Since(start).Seconds()
		}
		res.Records++
	}
	return res, nil
}

// sum counts the records and adds up their total_cost per currency group.
func sum(start time.Time, records iter.Seq2[*usagev1.CustomerMonthlyUsageRecord, error]) (result, error) {
	res := result{Counts: map[string]int{}, Totals: map[string]string{}}
	totals := map[string]decimal.Decimal{}
	for record, err := range records {
		if err != nil {
			return res, err
		}
		if res.Records == 0 {
			res.TTFR = time.Since(start).Seconds()
		}
		res.Records++
		key := currencyKey(record)
		res.Counts[key]++
		cost, err := pcusage.ToNullDecimal(record.GetTotalCost())
		if err != nil {
			return res, fmt.Errorf("record %s: total_cost: %w", record.GetId(), err)
		}
		if cost.Valid {
			totals[key] = totals[key].Add(cost.Decimal)
		}
	}
	for key, total := range totals {
		res.Totals[key] = total.String()
	}
	return res, nil
}

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

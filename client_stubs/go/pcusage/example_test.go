package pcusage_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// Lists every record under a deadline, continuing after transient failures,
// and sums the costs exactly.
func ExampleLister() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	// The deadline bounds the whole stream, Partner Center's pages included.
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(context.Background(), "<token>"), time.Minute)
	defer cancel()

	lister := &pcusage.Lister{Client: usagev1.NewUsageRecordsServiceClient(conn), MaxResumes: 3}
	for record, err := range lister.Records(ctx) {
		if err != nil {
			log.Fatalf("%v (reason %s); continue later with resume token %q", err, pcusage.Reason(err), lister.ResumeToken)
		}
		cost, err := pcusage.ToNullDecimal(record.GetTotalCost())
		if err != nil {
			log.Fatal(err)
		}
		if cost.Valid {
			fmt.Println(record.GetResourceName(), cost.Decimal, record.GetCurrencyCode())
		} else {
			fmt.Println(record.GetResourceName(), "no cost reported")
		}
	}
}

// Connects over mTLS with an API key, as a server with --tls_client_ca_file
// and --api_keys_file asks.
func ExampleNewClient() {
	conn, err := pcusage.NewClient("pcusage.example.com:443", pcusage.ConnectOptions{
		CAFile:   "/etc/pcusage/ca.pem", // trusted for the server's certificate; TLS is on
		CertFile: "/etc/pcusage/client.pem",
		KeyFile:  "/etc/pcusage/client.key",
		APIKey:   "<key>", // sent as x-api-key metadata
	})
	if err != nil {
		log.Fatal(err) // e.g. a PEM file that cannot be read
	}
	defer conn.Close()
	lister := &pcusage.Lister{Client: usagev1.NewUsageRecordsServiceClient(conn)}
	for record, err := range lister.Records(pcusage.WithAccessToken(context.Background(), "<token>")) {
		if pcusage.Reason(err) == pcusage.ReasonCallerUnauthenticated {
			log.Fatal("the server knows neither this API key nor this client certificate")
		} else if err != nil {
			log.Fatal(err)
		}
		fmt.Println(record.GetId())
	}
}

// Stops after the first message and continues from its resume token later,
// e.g. in another process: no record is lost or received twice.
func ExampleLister_resume() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := usagev1.NewUsageRecordsServiceClient(conn)
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(context.Background(), "<token>"), time.Minute)
	defer cancel()

	first := &pcusage.Lister{Client: client}
	for resp, err := range first.Responses(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(resp.GetUsageRecords()), "records; Partner Center's totalCount:", resp.GetPartnerCenterTotalCount())
		break // Breaking cancels the stream on the server.
	}

	rest := &pcusage.Lister{Client: client, ResumeToken: first.ResumeToken}
	for record, err := range rest.Records(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(record.GetId())
	}
}

// Reads the error details of a failed call with the generated client and
// grpc's status package.
func ExampleRetryDelay() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(context.Background(), "<token>"), 30*time.Second)
	defer cancel()

	var header metadata.MD // the initial metadata: the correlation id
	stream, err := usagev1.NewUsageRecordsServiceClient(conn).ListUsageRecords(ctx,
		&usagev1.ListUsageRecordsRequest{PageSize: 500}, grpc.Header(&header))
	if err != nil {
		log.Fatal(err)
	}
	for {
		_, err = stream.Recv()
		if err != nil {
			break
		}
	}
	if status.Code(err) == codes.ResourceExhausted {
		delay, _ := pcusage.RetryDelay(err)
		fmt.Printf("throttled (%s): retry in %s; correlation id %v\n",
			pcusage.Reason(err), delay, header.Get(pcusage.CorrelationIDKey))
	}
}

// Lists only the records of two customers in euros that have used at least
// 80 percent of a budget they have set. The server filters the list it shares
// with unfiltered calls, so this asks no more of Partner Center than listing
// everything.
func ExampleLister_filters() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(context.Background(), "<token>"), time.Minute)
	defer cancel()

	lister := &pcusage.Lister{
		Client:         usagev1.NewUsageRecordsServiceClient(conn),
		CustomerIDs:    []string{"b1b1b1b1-cccc-dddd-eeee-f2f2f2f2f2f2", "00000000-c0de-4000-8000-000000000000"},
		CurrencyCodes:  []string{"EUR"},
		MinPercentUsed: "80", // exact: 79.99999999999999999999 does not pass
		OnlyWithBudget: true,
		MaxResumes:     3, // a resume keeps the filters
	}
	for record, err := range lister.Records(ctx) {
		if err != nil {
			log.Fatalf("%v (reason %s)", err, pcusage.Reason(err)) // INVALID_ARGUMENT names a bad field
		}
		fmt.Println(record.GetResourceId(), record.GetPercentUsed().GetValue())
	}
}

// Watches customers against 80 % and 100 % of their budget: the level first,
// then the crossings, reconnecting by itself when the server drains. A
// reconnect starts with the level again, so the handler is idempotent and a
// new level replaces what was known.
func ExampleWatcher() {
	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(context.Background(), "<token>"), 24*time.Hour)
	defer cancel()

	w := &pcusage.Watcher{
		Client:        usagev1.NewUsageRecordsServiceClient(conn),
		Thresholds:    []string{"80", "100"},
		PollInterval:  15 * time.Minute,
		MaxReconnects: 5,
	}
	over := map[string]bool{} // customer/threshold pairs at or above
	reconnects := 0
	for resp, err := range w.Events(ctx) {
		if err != nil {
			log.Fatalf("%v (reason %s, correlation id %s)", err, pcusage.Reason(err), w.CorrelationID)
		}
		if w.Reconnects != reconnects { // a new stream: its level replaces what was known
			reconnects = w.Reconnects
			clear(over)
		}
		switch {
		case resp.GetBudgetEvent() != nil:
			e := resp.GetBudgetEvent()
			key := e.GetRecord().GetResourceId() + "/" + e.GetThreshold().GetValue()
			switch e.GetKind() {
			case usagev1.BudgetEvent_KIND_LEVEL:
				over[key] = true
			case usagev1.BudgetEvent_KIND_CROSSED_UP:
				over[key] = true
				fmt.Printf("%s passed %s%% (was %s)\n", e.GetRecord().GetResourceName(),
					e.GetThreshold().GetValue(), e.GetPreviousPercentUsed().GetValue())
			case usagev1.BudgetEvent_KIND_CROSSED_DOWN, usagev1.BudgetEvent_KIND_GONE:
				delete(over, key)
			}
		case resp.GetInitialStateComplete() != nil:
			fmt.Println(len(over), "customer/threshold pairs at or above")
		case resp.GetPollFailed() != nil:
			log.Printf("poll failed, retried in %s: %s", resp.GetPollFailed().GetRetryIn().AsDuration(), resp.GetPollFailed().GetReason())
		}
	}
}

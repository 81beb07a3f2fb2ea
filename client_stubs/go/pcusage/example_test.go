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

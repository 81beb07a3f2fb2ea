// Package pcusage holds typed helpers for callers of the pcusage gRPC API
// (package [usagev1], generated from partnercenter/usage/v1/usage_records.proto):
//
//   - connecting: [NewClient] with [ConnectOptions] speaks TLS (a CA file, a
//     client certificate for mTLS) and sends the caller's API key;
//   - exact decimals: [ToDecimal] and [ToNullDecimal] turn a google.type.Decimal
//     into a [decimal.Decimal] without passing through a binary float;
//   - error details: [ErrorInfo], [Reason] and [RetryDelay] read the
//     google.rpc.ErrorInfo and google.rpc.RetryInfo that every failed call
//     carries;
//   - streaming: a [Lister] ranges over the ListUsageRecords stream under the
//     caller's context (deadline, cancellation), narrowed by the server's
//     filters (customers, currencies, an exact minimum percent of budget,
//     budgets set), and continues a stream that failed midway from its last
//     resume token;
//   - budget watch: a [Watcher] ranges over the WatchBudgets stream (the
//     level, then threshold crossings) and opens it again after UNAVAILABLE,
//     the level coming again;
//   - request metadata: [WithAccessToken] and [WithCorrelationID].
//
// A minimal listing:
//
//	conn, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
//	...
//	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(ctx, token), time.Minute)
//	defer cancel()
//	lister := &pcusage.Lister{Client: usagev1.NewUsageRecordsServiceClient(conn), MaxResumes: 3}
//	for record, err := range lister.Records(ctx) {
//		if err != nil {
//			log.Fatalf("listing failed (%s), continue later from %q", pcusage.Reason(err), lister.ResumeToken)
//		}
//		cost, _ := pcusage.ToNullDecimal(record.GetTotalCost())
//		...
//	}
package pcusage

package pcusage

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// CorrelationIDKey is the metadata key of the call's correlation id (a GUID):
// sent to Partner Center as MS-CorrelationId and returned in the initial
// response metadata. Read it with grpc.Header; quote it to Microsoft support.
const CorrelationIDKey = "x-ms-correlation-id"

// WithAccessToken returns a context whose outgoing calls carry the Partner
// Center App+User token as "authorization: Bearer <token>" metadata. The server
// uses it when it holds no token of its own.
func WithAccessToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// WithCorrelationID returns a context whose outgoing calls carry id (a GUID)
// as their correlation id instead of one the server generates.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, CorrelationIDKey, id)
}

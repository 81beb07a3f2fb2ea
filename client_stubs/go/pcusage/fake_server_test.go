package pcusage_test

// An in-process fake of the pcusage service, over a bufconn listener: unit
// tests script what each call answers and look at what each call received.

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// unitGuard bounds every unit test's context; no test waits on it.
const unitGuard = 20 * time.Second

// A fakeService answers ListUsageRecords and WatchBudgets with the scripts a
// test sets; call counts from 0. It records every call's request and
// incoming metadata, and closes cancelled when a call's context ends before
// the script returns (the client went away).
type fakeService struct {
	usagev1.UnimplementedUsageRecordsServiceServer

	list  func(call int, req *usagev1.ListUsageRecordsRequest, stream grpc.ServerStreamingServer[usagev1.ListUsageRecordsResponse]) error
	watch func(call int, req *usagev1.WatchBudgetsRequest, stream grpc.ServerStreamingServer[usagev1.WatchBudgetsResponse]) error

	mu         sync.Mutex
	listReqs   []*usagev1.ListUsageRecordsRequest
	watchReqs  []*usagev1.WatchBudgetsRequest
	md         []metadata.MD
	cancelled  chan struct{}
	cancelOnce sync.Once
}

func (f *fakeService) ListUsageRecords(req *usagev1.ListUsageRecordsRequest, stream grpc.ServerStreamingServer[usagev1.ListUsageRecordsResponse]) error {
	f.mu.Lock()
	call := len(f.listReqs)
	f.listReqs = append(f.listReqs, req)
	md, _ := metadata.FromIncomingContext(stream.Context())
	f.md = append(f.md, md)
	f.mu.Unlock()
	if f.list == nil {
		return status.Error(codes.Unimplemented, "no list script")
	}
	return f.list(call, req, stream)
}

func (f *fakeService) WatchBudgets(req *usagev1.WatchBudgetsRequest, stream grpc.ServerStreamingServer[usagev1.WatchBudgetsResponse]) error {
	f.mu.Lock()
	call := len(f.watchReqs)
	f.watchReqs = append(f.watchReqs, req)
	md, _ := metadata.FromIncomingContext(stream.Context())
	f.md = append(f.md, md)
	f.mu.Unlock()
	if f.watch == nil {
		return status.Error(codes.Unimplemented, "no watch script")
	}
	err := f.watch(call, req, stream)
	if stream.Context().Err() != nil {
		f.cancelOnce.Do(func() { close(f.cancelled) })
	}
	return err
}

// watchCalls returns the requests of the WatchBudgets calls so far.
func (f *fakeService) watchCalls() []*usagev1.WatchBudgetsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*usagev1.WatchBudgetsRequest(nil), f.watchReqs...)
}

func (f *fakeService) listCalls() []*usagev1.ListUsageRecordsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*usagev1.ListUsageRecordsRequest(nil), f.listReqs...)
}

// startFake serves f in-process and returns a client of it; both stop when
// the test ends.
func startFake(t *testing.T, f *fakeService) usagev1.UsageRecordsServiceClient {
	t.Helper()
	f.cancelled = make(chan struct{})
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer()
	usagev1.RegisterUsageRecordsServiceServer(server, f)
	go server.Serve(listener)
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		server.Stop()
	})
	return usagev1.NewUsageRecordsServiceClient(conn)
}

// pcusageError is a status as pcusage sends it: code, message and an
// ErrorInfo with reason in the pcusage domain.
func pcusageError(t *testing.T, code codes.Code, reason string) error {
	t.Helper()
	st, err := status.New(code, reason+" (fake)").WithDetails(&errdetails.ErrorInfo{
		Domain:   pcusage.ErrorDomain,
		Reason:   reason,
		Metadata: map[string]string{"ms_correlation_id": "00000000-0000-4000-8000-00000000fake"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// waitClosed fails the test unless ch closes within a few seconds.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not happen within 5s", what)
	}
}

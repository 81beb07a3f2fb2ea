package pcusage_test

// Unit tests of the Watcher against the in-process fake (fake_server_test.go).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	decimalpb "google.golang.org/genproto/googleapis/type/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

type watchStream = grpc.ServerStreamingServer[usagev1.WatchBudgetsResponse]

func budgetEvent(kind usagev1.BudgetEvent_Kind, customer, threshold string) *usagev1.WatchBudgetsResponse {
	return &usagev1.WatchBudgetsResponse{Event: &usagev1.WatchBudgetsResponse_BudgetEvent{BudgetEvent: &usagev1.BudgetEvent{
		Kind:      kind,
		Threshold: &decimalpb.Decimal{Value: threshold},
		Record:    &usagev1.CustomerMonthlyUsageRecord{ResourceId: customer},
	}}}
}

func levelComplete(n int64) *usagev1.WatchBudgetsResponse {
	return &usagev1.WatchBudgetsResponse{Event: &usagev1.WatchBudgetsResponse_InitialStateComplete{
		InitialStateComplete: &usagev1.InitialStateComplete{MatchingCustomers: n}}}
}

func pollFailed(failures int32) *usagev1.WatchBudgetsResponse {
	return &usagev1.WatchBudgetsResponse{Event: &usagev1.WatchBudgetsResponse_PollFailed{PollFailed: &usagev1.PollFailed{
		Code: int32(codes.Unavailable), Reason: pcusage.ReasonPartnerCenterUnavailable, FailuresInARow: failures}}}
}

// describe names an event briefly, for comparing sequences.
func describe(resp *usagev1.WatchBudgetsResponse) string {
	switch {
	case resp.GetBudgetEvent() != nil:
		e := resp.GetBudgetEvent()
		return fmt.Sprintf("%s %s@%s", strings.TrimPrefix(e.GetKind().String(), "KIND_"), e.GetRecord().GetResourceId(), e.GetThreshold().GetValue())
	case resp.GetInitialStateComplete() != nil:
		return fmt.Sprintf("COMPLETE %d", resp.GetInitialStateComplete().GetMatchingCustomers())
	case resp.GetPollFailed() != nil:
		return fmt.Sprintf("POLL_FAILED %d", resp.GetPollFailed().GetFailuresInARow())
	}
	return "?"
}

// send sends each message, failing the stream's script on a send error.
func send(stream watchStream, msgs ...*usagev1.WatchBudgetsResponse) error {
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// hold keeps a stream open until the client goes away, as a watch with
// nothing to say does.
func hold(stream watchStream) error {
	<-stream.Context().Done()
	return status.FromContextError(stream.Context().Err()).Err()
}

// collect ranges over the watch until want events arrived (then breaks) or it
// ends; it returns the events and the error yielded, if any.
func collect(ctx context.Context, w *pcusage.Watcher, want int) ([]string, error) {
	var got []string
	for resp, err := range w.Events(ctx) {
		if err != nil {
			return got, err
		}
		got = append(got, describe(resp))
		if len(got) == want {
			break
		}
	}
	return got, nil
}

func requireEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("events:\ngot:  %v\nwant: %v", got, want)
	}
}

// The events arrive in the server's order, the request carries the options
// (thresholds as written), the context's metadata reaches the server, and
// breaking out of the loop cancels the stream on the server.
func TestWatcherOrderRequestAndBreak(t *testing.T) {
	fake := &fakeService{watch: func(_ int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		if err := stream.SendHeader(metadata.Pairs(pcusage.CorrelationIDKey, md.Get(pcusage.CorrelationIDKey)[0])); err != nil {
			return err
		}
		if err := send(stream,
			budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "a", "80"),
			budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "a", "1E+2"),
			levelComplete(3),
			pollFailed(1),
			budgetEvent(usagev1.BudgetEvent_KIND_CROSSED_UP, "b", "80"),
			budgetEvent(usagev1.BudgetEvent_KIND_CROSSED_DOWN, "a", "1E+2"),
			budgetEvent(usagev1.BudgetEvent_KIND_GONE, "a", "80"),
		); err != nil {
			return err
		}
		return hold(stream)
	}}
	client := startFake(t, fake)
	ctx, cancel := context.WithTimeout(pcusage.WithCorrelationID(pcusage.WithAccessToken(t.Context(), "tok"), "0f0f0f0f-0000-4000-8000-000000000001"), unitGuard)
	defer cancel()
	w := &pcusage.Watcher{
		Client:        client,
		Thresholds:    []string{"80", "1E+2"},
		CustomerIDs:   []string{"B1B1B1B1-cccc-dddd-eeee-f2f2f2f2f2f2"},
		CurrencyCodes: []string{"usd"},
		PollInterval:  300 * time.Millisecond,
		MaxReconnects: 3,
	}
	got, err := collect(ctx, w, 7)
	if err != nil {
		t.Fatal(err)
	}
	requireEvents(t, got, "LEVEL a@80", "LEVEL a@1E+2", "COMPLETE 3", "POLL_FAILED 1", "CROSSED_UP b@80", "CROSSED_DOWN a@1E+2", "GONE a@80")
	waitClosed(t, fake.cancelled, "the server seeing the stream cancelled after the break")

	reqs := fake.watchCalls()
	if len(reqs) != 1 {
		t.Fatalf("%d calls, want 1", len(reqs))
	}
	req := reqs[0]
	var thresholds []string
	for _, d := range req.GetThresholds() {
		thresholds = append(thresholds, d.GetValue())
	}
	if fmt.Sprint(thresholds) != "[80 1E+2]" || fmt.Sprint(req.GetCustomerIds()) != "[B1B1B1B1-cccc-dddd-eeee-f2f2f2f2f2f2]" ||
		fmt.Sprint(req.GetCurrencyCodes()) != "[usd]" || req.GetPollInterval().AsDuration() != 300*time.Millisecond {
		t.Errorf("request = %v", req)
	}
	md := fake.md[0]
	if got := md.Get("authorization"); fmt.Sprint(got) != "[Bearer tok]" {
		t.Errorf("authorization = %v", got)
	}
	if got := md.Get(pcusage.CorrelationIDKey); fmt.Sprint(got) != "[0f0f0f0f-0000-4000-8000-000000000001]" {
		t.Errorf("correlation id = %v", got)
	}
	if w.Reconnects != 0 {
		t.Errorf("Reconnects = %d, want 0", w.Reconnects)
	}
	if w.CorrelationID != "0f0f0f0f-0000-4000-8000-000000000001" {
		t.Errorf("CorrelationID = %q, want the stream's", w.CorrelationID)
	}
}

// Unset options send nothing: the server's defaults apply.
func TestWatcherDefaults(t *testing.T) {
	fake := &fakeService{watch: func(_ int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		return send(stream, levelComplete(0)) // then ends without error
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	got, err := collect(ctx, &pcusage.Watcher{Client: startFake(t, fake)}, 10)
	if err != nil {
		t.Fatalf("a stream the server ended without error yielded %v", err)
	}
	requireEvents(t, got, "COMPLETE 0")
	req := fake.watchCalls()[0]
	if len(req.GetThresholds()) != 0 || len(req.GetCustomerIds()) != 0 || len(req.GetCurrencyCodes()) != 0 || req.GetPollInterval() != nil {
		t.Errorf("request = %v, want empty", req)
	}
}

// A permanent error is yielded as the server's status, ErrorInfo included,
// after the events before it, and is not retried.
func TestWatcherYieldsPermanentError(t *testing.T) {
	for _, code := range []codes.Code{codes.FailedPrecondition, codes.Unauthenticated, codes.InvalidArgument, codes.PermissionDenied} {
		t.Run(code.String(), func(t *testing.T) {
			fake := &fakeService{watch: func(_ int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
				if err := send(stream, levelComplete(0)); err != nil {
					return err
				}
				return pcusageError(t, code, pcusage.ReasonRefreshTokenInvalid)
			}}
			ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
			defer cancel()
			w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 5}
			got, err := collect(ctx, w, 10)
			requireEvents(t, got, "COMPLETE 0")
			if status.Code(err) != code || pcusage.Reason(err) != pcusage.ReasonRefreshTokenInvalid {
				t.Fatalf("error = %v (reason %q), want %s %s", err, pcusage.Reason(err), code, pcusage.ReasonRefreshTokenInvalid)
			}
			if pcusage.ErrorInfo(err).GetMetadata()["ms_correlation_id"] == "" {
				t.Errorf("the ErrorInfo's metadata was lost: %v", pcusage.ErrorInfo(err))
			}
			if n := len(fake.watchCalls()); n != 1 || w.Reconnects != 0 {
				t.Errorf("%d calls, %d reconnects; want 1 and 0", n, w.Reconnects)
			}
		})
	}
}

// UNAVAILABLE (the server drains) and the server's DEADLINE_EXCEEDED (its
// --max_watch_duration) open a new stream, which starts with the level again.
func TestWatcherReconnects(t *testing.T) {
	fake := &fakeService{watch: func(call int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		if err := stream.SendHeader(metadata.Pairs(pcusage.CorrelationIDKey, fmt.Sprint("stream-", call))); err != nil {
			return err
		}
		switch call {
		case 0:
			if err := send(stream, budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "a", "80"), levelComplete(2),
				budgetEvent(usagev1.BudgetEvent_KIND_CROSSED_UP, "b", "80")); err != nil {
				return err
			}
			return pcusageError(t, codes.Unavailable, "SERVER_DRAINING")
		case 1:
			return status.Error(codes.Unavailable, "connection refused")
		case 2:
			if err := send(stream, budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "a", "80"), budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "b", "80"), levelComplete(2)); err != nil {
				return err
			}
			return pcusageError(t, codes.DeadlineExceeded, pcusage.ReasonCallDeadlineExceeded)
		default:
			if err := send(stream, budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "b", "80"), levelComplete(2)); err != nil {
				return err
			}
			return hold(stream)
		}
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 2}
	var got []string // each event after the value of Reconnects when it arrived
	for resp, err := range w.Events(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(w.Reconnects, " ", describe(resp)))
		if len(got) == 8 {
			break
		}
	}
	requireEvents(t, got, "0 LEVEL a@80", "0 COMPLETE 2", "0 CROSSED_UP b@80", "2 LEVEL a@80", "2 LEVEL b@80", "2 COMPLETE 2", "3 LEVEL b@80", "3 COMPLETE 2")
	if n := len(fake.watchCalls()); n != 4 || w.Reconnects != 3 {
		t.Errorf("%d calls, %d reconnects; want 4 and 3", n, w.Reconnects)
	}
	if w.CorrelationID != "stream-3" {
		t.Errorf("CorrelationID = %q, want the latest stream's", w.CorrelationID)
	}
}

// Reconnecting is bounded: MaxReconnects failures in a row without a level,
// then the last status is yielded; 0 never reconnects.
func TestWatcherReconnectsAreBounded(t *testing.T) {
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprint("MaxReconnects=", limit), func(t *testing.T) {
			fake := &fakeService{watch: func(call int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
				return pcusageError(t, codes.Unavailable, fmt.Sprint("DOWN_", call))
			}}
			ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
			defer cancel()
			w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: limit}
			got, err := collect(ctx, w, 10)
			requireEvents(t, got)
			if want := fmt.Sprint("DOWN_", limit); status.Code(err) != codes.Unavailable || pcusage.Reason(err) != want {
				t.Fatalf("error = %v, want UNAVAILABLE %s", err, want)
			}
			if n := len(fake.watchCalls()); n != limit+1 || w.Reconnects != limit {
				t.Errorf("%d calls, %d reconnects; want %d and %d", n, w.Reconnects, limit+1, limit)
			}
		})
	}
}

// Only a stream whose level was complete ends a row of failures: streams that
// each send some of the level and then fail count as failures in a row, so
// they are not opened again for ever.
func TestWatcherReconnectsBoundedBeforeLevelComplete(t *testing.T) {
	fake := &fakeService{watch: func(call int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		if err := send(stream, budgetEvent(usagev1.BudgetEvent_KIND_LEVEL, "a", "80")); err != nil {
			return err
		}
		return pcusageError(t, codes.Unavailable, fmt.Sprint("DOWN_", call))
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 2}
	got, err := collect(ctx, w, 10)
	requireEvents(t, got, "LEVEL a@80", "LEVEL a@80", "LEVEL a@80")
	if status.Code(err) != codes.Unavailable || pcusage.Reason(err) != "DOWN_2" {
		t.Fatalf("error = %v, want UNAVAILABLE DOWN_2", err)
	}
	if n := len(fake.watchCalls()); n != 3 || w.Reconnects != 2 {
		t.Errorf("%d calls, %d reconnects; want 3 and 2", n, w.Reconnects)
	}
}

// RESOURCE_EXHAUSTED is tried again after its RetryInfo delay, and yielded
// when it carries none.
func TestWatcherResourceExhausted(t *testing.T) {
	throttled := func(t *testing.T, delay time.Duration) error {
		st := status.New(codes.ResourceExhausted, "too many streams")
		if delay > 0 {
			var err error
			if st, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err != nil {
				t.Fatal(err)
			}
		}
		return st.Err()
	}
	fake := &fakeService{watch: func(call int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		switch call {
		case 0:
			return throttled(t, 50*time.Millisecond)
		case 1:
			if err := send(stream, levelComplete(0)); err != nil {
				return err
			}
			return throttled(t, 0)
		}
		return send(stream, levelComplete(9))
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 3}
	got, err := collect(ctx, w, 10)
	requireEvents(t, got, "COMPLETE 0")
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("error = %v, want RESOURCE_EXHAUSTED", err)
	}
	if n := len(fake.watchCalls()); n != 2 || w.Reconnects != 1 {
		t.Errorf("%d calls, %d reconnects; want 2 and 1", n, w.Reconnects)
	}
}

// Cancelling the context ends the watch promptly with codes.Canceled, and the
// server sees its stream cancelled; no reconnect follows.
func TestWatcherCancel(t *testing.T) {
	fake := &fakeService{watch: func(_ int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error {
		if err := send(stream, levelComplete(0)); err != nil {
			return err
		}
		return hold(stream)
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 5}
	var got []string
	var err error
	start := time.Now()
	for resp, e := range w.Events(ctx) {
		if e != nil {
			err = e
			break
		}
		got = append(got, describe(resp))
		cancel() // the caller is done: no break, the iterator must end by itself
	}
	requireEvents(t, got, "COMPLETE 0")
	if status.Code(err) != codes.Canceled {
		t.Fatalf("error = %v, want CANCELLED", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("cancel took %s", elapsed)
	}
	waitClosed(t, fake.cancelled, "the server seeing the stream cancelled")
	if n := len(fake.watchCalls()); n != 1 {
		t.Errorf("%d calls after a cancel, want 1", n)
	}
}

// The context's deadline ends the watch with codes.DeadlineExceeded and is
// not a reason to reconnect.
func TestWatcherDeadline(t *testing.T) {
	fake := &fakeService{watch: func(_ int, _ *usagev1.WatchBudgetsRequest, stream watchStream) error { return hold(stream) }}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	w := &pcusage.Watcher{Client: startFake(t, fake), MaxReconnects: 5}
	got, err := collect(ctx, w, 10)
	requireEvents(t, got)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("error = %v, want DEADLINE_EXCEEDED", err)
	}
	if n := len(fake.watchCalls()); n != 1 || w.Reconnects != 0 {
		t.Errorf("%d calls, %d reconnects after the caller's deadline; want 1 and 0", n, w.Reconnects)
	}
}

// A threshold that is not a decimal fails before any call, naming it.
func TestWatcherRefusesBadThreshold(t *testing.T) {
	fake := &fakeService{}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	client := startFake(t, fake)
	for _, bad := range []string{"eighty", "80%", "1,5", "NaN", "1e"} {
		w := &pcusage.Watcher{Client: client, Thresholds: []string{"80", bad}}
		_, err := collect(ctx, w, 10)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "Thresholds[1]") {
			t.Errorf("threshold %q: error = %v, want INVALID_ARGUMENT naming Thresholds[1]", bad, err)
		}
		if pcusage.ErrorInfo(err) != nil {
			t.Errorf("threshold %q: a client-side error carries an ErrorInfo", bad)
		}
	}
	if n := len(fake.watchCalls()); n != 0 {
		t.Errorf("%d calls made with a bad threshold", n)
	}
}

package pcusage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
)

// A Watcher ranges over the WatchBudgets stream: customers' percent_used
// against budget thresholds (docs/api.md, "Budget watch"). Each stream starts
// with the level, a BudgetEvent of KIND_LEVEL for every matching customer and
// every threshold it reaches, then an InitialStateComplete; after that come
// the edges (KIND_CROSSED_UP, KIND_CROSSED_DOWN, KIND_GONE) of each later poll
// against the one before, and a PollFailed for a poll that failed (the stream
// goes on, and the poll is tried again).
//
// Delivery: edges are exactly once within a stream and at least once across
// reconnects. A new stream, whether the caller opens it or the Watcher does
// (MaxReconnects), starts with the level again: the caller may see a state it
// already acted on as KIND_LEVEL events, and learns of a crossing that
// happened in between only as the new level, never as an edge (a customer
// that fell below a threshold meanwhile is simply absent from it). So key
// handlers on customer and threshold, make them idempotent, and take a new
// stream's level as replacing what the caller knew: Reconnects changes before
// the first message of a stream the Watcher opened again.
//
// The context passed to [Watcher.Events] bounds the watch: its deadline is
// every stream's deadline, and cancelling it (or breaking out of the range
// loop) cancels the stream on the server. Metadata comes from the context as
// for a [Lister]: [WithAccessToken] (the bearer token the server uses for
// every poll in passthrough mode) and [WithCorrelationID] (the same id for
// every stream the Watcher opens). In passthrough mode, a stream whose token
// expired ends with UNAUTHENTICATED, which the Watcher does not retry: call
// Events again with a context that holds a fresh token.
//
// A Watcher is not safe for concurrent use.
type Watcher struct {
	// Client is the generated client to call.
	Client usagev1.UsageRecordsServiceClient

	// Thresholds are percentages of budget as decimal text, compared exactly
	// with each record's percent_used ("80" is reached by 80 and 80.0, not by
	// 79.99999999999999999999) and sent as written: events carry the
	// threshold as spelled here. Empty: the server's default, 80 and 100. At
	// most 16. Text that [ParseDecimal] refuses fails the watch before any
	// call, with codes.InvalidArgument.
	Thresholds []string

	// CustomerIDs and CurrencyCodes are the same filters as a Lister's: only
	// these customers (GUIDs, any case), only records in these currencies.
	// Empty: all. A customer that stops passing them counts as gone.
	CustomerIDs   []string
	CurrencyCodes []string

	// PollInterval is how often the server looks at the list (a poll reads a
	// shared snapshot no older than this). 0: the server's default (15
	// minutes). Shorter than the server's --min_watch_poll_interval (5
	// minutes by default) fails with INVALID_ARGUMENT.
	PollInterval time.Duration

	// MaxReconnects is how many times in a row a stream that failed with a
	// retryable status is opened again, a row being ended only by a stream
	// that delivered its InitialStateComplete (a stream that fails during its
	// level, however many events it sent, counts as a failure in the row):
	// UNAVAILABLE (e.g. the server drains, SERVER_DRAINING) and
	// DEADLINE_EXCEEDED from the server (its --max_watch_duration) after a
	// jittered backoff doubling from 250 ms to 10 s, RESOURCE_EXHAUSTED after
	// its RetryInfo delay; never once the context is done, nor when the wait
	// would pass its deadline. The new stream starts with the level again. 0
	// never reconnects: the stream's error is yielded.
	MaxReconnects int

	// Reconnects counts the streams the Watcher opened again after a failure,
	// across calls to Events. It changes before the new stream's first
	// message, so a caller that keeps state clears it when Reconnects changes
	// (the level follows).
	Reconnects int

	// CorrelationID is the correlation id of the latest stream (its
	// x-ms-correlation-id initial metadata: the one [WithCorrelationID] set,
	// else the server's), set when the stream's first message arrives. A
	// failed stream's error carries it too, in its ErrorInfo metadata
	// (ms_correlation_id).
	CorrelationID string

	// CallOptions are passed to every call. Note that grpc.Header and
	// grpc.Trailer fill their metadata only when a stream ends; read
	// CorrelationID during a watch.
	CallOptions []grpc.CallOption
}

// Events yields the messages of the watch, one event each, in the server's
// order: a BudgetEvent, an InitialStateComplete or a PollFailed. It runs until
// the stream ends: on failure (including the context's cancellation or
// deadline, codes.Canceled or codes.DeadlineExceeded) it yields one (nil,
// err), err being the call's gRPC status error (read it with [Reason],
// [RetryDelay] or status.FromError), and stops; a stream the server ends
// without error ends the loop. Breaking out of the loop cancels the stream.
func (w *Watcher) Events(ctx context.Context) iter.Seq2[*usagev1.WatchBudgetsResponse, error] {
	return func(yield func(*usagev1.WatchBudgetsResponse, error) bool) {
		req, err := w.request()
		if err != nil {
			yield(nil, err)
			return
		}
		failures := 0
		for {
			completed, stopped, err := w.call(ctx, req, yield)
			if err == nil || stopped {
				return
			}
			if completed {
				failures = 0
			}
			failures++
			if failures > w.MaxReconnects {
				yield(nil, err)
				return
			}
			wait, ok := resumeDelay(ctx, err, failures)
			if !ok {
				yield(nil, err)
				return
			}
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				yield(nil, err)
				return
			case <-timer.C:
			}
			w.Reconnects++
		}
	}
}

// call runs one stream, yielding its messages. It reports whether the
// stream's level was complete (its InitialStateComplete arrived), whether the
// consumer stopped the watch, and the status that ended the stream (nil when
// the server ended it without error).
func (w *Watcher) call(ctx context.Context, req *usagev1.WatchBudgetsRequest, yield func(*usagev1.WatchBudgetsResponse, error) bool) (completed, stopped bool, err error) {
	// Cancels the stream when the consumer stops or the stream fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.Client.WatchBudgets(ctx, req, w.CallOptions...)
	if err != nil {
		return false, false, err
	}
	first := true
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return completed, false, nil
		}
		if err != nil {
			return completed, false, err
		}
		if resp.GetInitialStateComplete() != nil {
			completed = true
		}
		if first {
			first = false
			// The initial metadata came before the first message.
			if header, err := stream.Header(); err == nil {
				if ids := header.Get(CorrelationIDKey); len(ids) > 0 {
					w.CorrelationID = ids[0]
				}
			}
		}
		if !yield(resp, nil) {
			return completed, true, nil
		}
	}
}

// request returns the request the Watcher's fields ask for, or a
// codes.InvalidArgument error when a threshold is not a decimal.
func (w *Watcher) request() (*usagev1.WatchBudgetsRequest, error) {
	req := &usagev1.WatchBudgetsRequest{
		CustomerIds:   w.CustomerIDs,
		CurrencyCodes: w.CurrencyCodes,
	}
	for i, text := range w.Thresholds {
		d, err := decimalText(fmt.Sprintf("Watcher.Thresholds[%d]", i), text)
		if err != nil {
			return nil, err
		}
		req.Thresholds = append(req.Thresholds, d)
	}
	if w.PollInterval != 0 {
		req.PollInterval = durationpb.New(w.PollInterval)
	}
	return req, nil
}

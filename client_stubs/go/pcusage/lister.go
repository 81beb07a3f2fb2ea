package pcusage

import (
	"context"
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"time"

	decimalpb "google.golang.org/genproto/googleapis/type/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
)

// Backoff between automatic resumes after UNAVAILABLE or DEADLINE_EXCEEDED:
// full jitter, doubling from initialBackoff up to maxBackoff.
const (
	initialBackoff = 250 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

// A Lister ranges over the records of ListUsageRecords and keeps the stream's
// position, so that a listing that failed or was stopped can go on from where
// it ended without receiving a record twice. It can also continue a failed
// stream by itself (MaxResumes).
//
// The context passed to [Lister.Records] or [Lister.Responses] bounds every
// call: its deadline is the call's deadline, and cancelling it (or breaking out
// of the range loop) cancels the stream on the server, which stops fetching
// pages from Partner Center.
//
// The filters (CustomerIDs, CurrencyCodes, MinPercentUsed, OnlyWithBudget) are
// applied by the server to the list it shares with unfiltered calls: the
// stream carries only the records that pass every filter set (a list passes
// when any entry matches), in Partner Center's order, and asks no more of
// Partner Center than an unfiltered listing (docs/api.md, "Filters"). A
// resume token is a position in the whole list, not bound to filters: continue
// a filtered listing with the same filters, as the same Lister does. Invalid
// values fail with the server's INVALID_ARGUMENT, whose BadRequest names the
// field (e.g. customer_ids[2]).
//
// A Lister is not safe for concurrent use.
type Lister struct {
	// Client is the generated client to call.
	Client usagev1.UsageRecordsServiceClient

	// PageSize is the most records one response message carries; 0 means the
	// server's default (100).
	PageSize int32

	// MaxStaleness, when set, is how old a list the server fetched for another
	// call may be and still serve this one (the request's max_staleness): zero
	// asks for a fresh walk of Partner Center. Nil lets the server choose.
	MaxStaleness *time.Duration

	// ResumeToken is where the next call starts: empty for the first record.
	// Once all of a message has been consumed, it is set to that message's
	// resume token, so after a listing ends early it says where to go on.
	ResumeToken string

	// CustomerIDs, when not empty, keeps only the records of these customers:
	// Partner Center's resourceId, a GUID, compared without regard to case.
	CustomerIDs []string

	// CurrencyCodes, when not empty, keeps only the records in these ISO 4217
	// currencies (e.g. "EUR", any case). A record without a currency code
	// (legacy offers) passes no currency filter.
	CurrencyCodes []string

	// MinPercentUsed, when not empty, keeps only the records whose
	// percent_used is at least this decimal number, compared exactly digit by
	// digit: "80" passes 80, 80.0 and 602.84, not 79.99999999999999999999. It
	// is sent as written (e.g. "8E+1"); write "0" for a floor of zero. Records
	// without percent_used do not pass. Text that [ParseDecimal] refuses fails
	// the listing before any call, with codes.InvalidArgument.
	MinPercentUsed string

	// OnlyWithBudget keeps only the records whose budget has an amount.
	OnlyWithBudget bool

	// MaxResumes is how many times in a row, without a message in between, a
	// stream that failed with a retryable status is continued from
	// ResumeToken: UNAVAILABLE and DEADLINE_EXCEEDED after a backoff, and
	// RESOURCE_EXHAUSTED after its RetryInfo delay (unless that delay passes
	// the context's deadline). 0 never continues.
	MaxResumes int

	// CallOptions are passed to every call, e.g. grpc.Header to read the
	// correlation id.
	CallOptions []grpc.CallOption
}

// Records yields each record in Partner Center's order, exactly once. On
// failure it yields one (nil, err), err being the call's gRPC status error
// (read it with [Reason], [RetryDelay] or status.FromError), and stops; a
// MinPercentUsed the client cannot read gives codes.InvalidArgument without
// ErrorInfo before any call.
//
// ResumeToken moves past a message only once all its records were yielded: if
// the loop breaks in the middle of a message, resuming delivers that message's
// records again.
func (l *Lister) Records(ctx context.Context) iter.Seq2[*usagev1.CustomerMonthlyUsageRecord, error] {
	return func(yield func(*usagev1.CustomerMonthlyUsageRecord, error) bool) {
		err := l.run(ctx, func(resp *usagev1.ListUsageRecordsResponse) bool {
			for _, record := range resp.GetUsageRecords() {
				if !yield(record, nil) {
					return false
				}
			}
			return true
		})
		if err != nil {
			yield(nil, err)
		}
	}
}

// Responses yields the stream's messages: batches of records, the first of a
// call also carrying partner_center_total_count. On failure it yields one
// (nil, err) and stops. ResumeToken moves past each message once it has been
// yielded, also when the loop breaks on it.
func (l *Lister) Responses(ctx context.Context) iter.Seq2[*usagev1.ListUsageRecordsResponse, error] {
	return func(yield func(*usagev1.ListUsageRecordsResponse, error) bool) {
		err := l.run(ctx, func(resp *usagev1.ListUsageRecordsResponse) bool {
			if !yield(resp, nil) {
				l.ResumeToken = resp.GetResumeToken()
				return false
			}
			return true
		})
		if err != nil {
			yield(nil, err)
		}
	}
}

// run calls ListUsageRecords from ResumeToken, continuing failed streams as
// MaxResumes allows, and hands each message to consume. consume returns false
// to stop; when it returns true the message is consumed and ResumeToken moves
// past it. run returns the error that ended the listing, nil when it completed
// or consume stopped it.
func (l *Lister) run(ctx context.Context, consume func(*usagev1.ListUsageRecordsResponse) bool) error {
	req, err := l.request()
	if err != nil {
		return err
	}
	failures := 0
	for {
		progressed, stopped, err := l.call(ctx, req, consume)
		if err == nil || stopped {
			return err
		}
		if progressed {
			failures = 0
		}
		failures++
		if failures > l.MaxResumes {
			return err
		}
		wait, ok := resumeDelay(ctx, err, failures)
		if !ok {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// call runs one stream. It reports whether any message arrived, whether
// consume stopped the listing, and the status that ended the stream (nil at its
// end).
func (l *Lister) call(ctx context.Context, req *usagev1.ListUsageRecordsRequest, consume func(*usagev1.ListUsageRecordsResponse) bool) (progressed, stopped bool, err error) {
	// Cancels the stream when the consumer stops early or the stream fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req.ResumeToken = l.ResumeToken
	stream, err := l.Client.ListUsageRecords(ctx, req, l.CallOptions...)
	if err != nil {
		return false, false, err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return progressed, false, nil
		}
		if err != nil {
			return progressed, false, err
		}
		progressed = true
		if !consume(resp) {
			return true, true, nil
		}
		l.ResumeToken = resp.GetResumeToken()
	}
}

// request returns the request the Lister's fields ask for, without a resume
// token, or a codes.InvalidArgument error when MinPercentUsed is not a decimal.
func (l *Lister) request() (*usagev1.ListUsageRecordsRequest, error) {
	req := &usagev1.ListUsageRecordsRequest{
		PageSize:       l.PageSize,
		CustomerIds:    l.CustomerIDs,
		CurrencyCodes:  l.CurrencyCodes,
		OnlyWithBudget: l.OnlyWithBudget,
	}
	if l.MaxStaleness != nil {
		req.MaxStaleness = durationpb.New(*l.MaxStaleness)
	}
	if l.MinPercentUsed != "" {
		d, err := decimalText("Lister.MinPercentUsed", l.MinPercentUsed)
		if err != nil {
			return nil, err
		}
		req.MinPercentUsed = d
	}
	return req, nil
}

// decimalText checks that text is a decimal number and returns it, as
// written, as a google.type.Decimal; field names the option in the error, a
// codes.InvalidArgument status without ErrorInfo (the server was not asked).
func decimalText(field, text string) (*decimalpb.Decimal, error) {
	if _, err := ParseDecimal(text); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: %v", field, err)
	}
	return &decimalpb.Decimal{Value: text}, nil
}

// resumeDelay says whether a stream that ended with err is worth continuing
// within ctx, and after how long; attempt counts the failures in a row.
func resumeDelay(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	var wait time.Duration
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		ceiling := initialBackoff << min(attempt-1, 10)
		wait = rand.N(min(ceiling, maxBackoff) + 1)
	case codes.ResourceExhausted:
		delay, ok := RetryDelay(err)
		if !ok {
			return 0, false
		}
		wait = delay
	default:
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

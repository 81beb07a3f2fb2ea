package pcusage_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

func TestErrorDetails(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "throttled").WithDetails(
		&errdetails.ErrorInfo{Domain: pcusage.ErrorDomain, Reason: pcusage.ReasonPartnerCenterRateLimited,
			Metadata: map[string]string{"page": "0"}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(90 * time.Second)},
	)
	if err != nil {
		t.Fatal(err)
	}
	// Wrapped errors are read too, as status.FromError unwraps them.
	callErr := fmt.Errorf("listing: %w", st.Err())
	if got := pcusage.Reason(callErr); got != pcusage.ReasonPartnerCenterRateLimited {
		t.Errorf("Reason = %q", got)
	}
	if got := pcusage.ErrorInfo(callErr).GetMetadata()["page"]; got != "0" {
		t.Errorf("ErrorInfo metadata page = %q", got)
	}
	if delay, ok := pcusage.RetryDelay(callErr); !ok || delay != 90*time.Second {
		t.Errorf("RetryDelay = %v, %v; want 1m30s, true", delay, ok)
	}
}

func TestErrorDetailsAbsent(t *testing.T) {
	for _, err := range []error{nil, errors.New("plain"), status.Error(codes.DeadlineExceeded, "no details")} {
		if info := pcusage.ErrorInfo(err); info != nil {
			t.Errorf("ErrorInfo(%v) = %v, want nil", err, info)
		}
		if reason := pcusage.Reason(err); reason != "" {
			t.Errorf("Reason(%v) = %q, want empty", err, reason)
		}
		if _, ok := pcusage.RetryDelay(err); ok {
			t.Errorf("RetryDelay(%v) found a delay", err)
		}
	}
}

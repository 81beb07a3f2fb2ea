package pcusage_test

// Unit tests of the Lister's filters against the in-process fake
// (fake_server_test.go).

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

type listStream = grpc.ServerStreamingServer[usagev1.ListUsageRecordsResponse]

// The filters go into the request as set (the minimum as written, not
// normalized), and a resumed call carries them again with the resume token.
func TestListerSendsFilters(t *testing.T) {
	fake := &fakeService{list: func(call int, _ *usagev1.ListUsageRecordsRequest, stream listStream) error {
		if call == 0 {
			if err := stream.Send(&usagev1.ListUsageRecordsResponse{
				UsageRecords: []*usagev1.CustomerMonthlyUsageRecord{{Id: "r1"}},
				ResumeToken:  "after-r1",
			}); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "connection reset")
		}
		return stream.Send(&usagev1.ListUsageRecordsResponse{
			UsageRecords: []*usagev1.CustomerMonthlyUsageRecord{{Id: "r2"}},
			ResumeToken:  "after-r2",
		})
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	lister := &pcusage.Lister{
		Client:         startFake(t, fake),
		PageSize:       7,
		CustomerIDs:    []string{"B1B1B1B1-cccc-dddd-eeee-f2f2f2f2f2f2", "00000000-c0de-4000-8000-000000000000"},
		CurrencyCodes:  []string{"eur", "USD"},
		MinPercentUsed: "8E+1",
		OnlyWithBudget: true,
		MaxResumes:     1,
	}
	records := listAll(ctx, t, lister)
	if got := strings.Join(ids(records), ","); got != "r1,r2" {
		t.Fatalf("records %s, want r1,r2", got)
	}
	reqs := fake.listCalls()
	if len(reqs) != 2 {
		t.Fatalf("%d calls, want 2 (one resume)", len(reqs))
	}
	for i, req := range reqs {
		if fmt.Sprint(req.GetCustomerIds()) != "[B1B1B1B1-cccc-dddd-eeee-f2f2f2f2f2f2 00000000-c0de-4000-8000-000000000000]" ||
			fmt.Sprint(req.GetCurrencyCodes()) != "[eur USD]" || req.GetMinPercentUsed().GetValue() != "8E+1" ||
			!req.GetOnlyWithBudget() || req.GetPageSize() != 7 {
			t.Errorf("call %d: request = %v", i, req)
		}
	}
	if reqs[0].GetResumeToken() != "" || reqs[1].GetResumeToken() != "after-r1" {
		t.Errorf("resume tokens %q, %q; want \"\", \"after-r1\"", reqs[0].GetResumeToken(), reqs[1].GetResumeToken())
	}
}

// Unset filters send nothing: no min_percent_used at all (an empty
// google.type.Decimal would mean 0), no lists, only_with_budget false.
func TestListerWithoutFilters(t *testing.T) {
	fake := &fakeService{list: func(_ int, _ *usagev1.ListUsageRecordsRequest, stream listStream) error {
		return stream.Send(&usagev1.ListUsageRecordsResponse{})
	}}
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	listAll(ctx, t, &pcusage.Lister{Client: startFake(t, fake)})
	req := fake.listCalls()[0]
	if req.GetMinPercentUsed() != nil || req.GetCustomerIds() != nil || req.GetCurrencyCodes() != nil || req.GetOnlyWithBudget() {
		t.Errorf("request = %v, want no filter", req)
	}
}

// A MinPercentUsed that is not a decimal fails before any call, with
// INVALID_ARGUMENT naming the field and no ErrorInfo (the server was not
// asked); "0" and exponents are decimals.
func TestListerRefusesBadMinPercentUsed(t *testing.T) {
	fake := &fakeService{list: func(_ int, _ *usagev1.ListUsageRecordsRequest, stream listStream) error {
		return stream.Send(&usagev1.ListUsageRecordsResponse{})
	}}
	client := startFake(t, fake)
	ctx, cancel := context.WithTimeout(t.Context(), unitGuard)
	defer cancel()
	for _, bad := range []string{"80%", "eighty", "8,5", "Infinity", " 80", "1e"} {
		for _, err := range (&pcusage.Lister{Client: client, MinPercentUsed: bad}).Records(ctx) {
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "MinPercentUsed") {
				t.Errorf("MinPercentUsed %q: error = %v, want INVALID_ARGUMENT naming MinPercentUsed", bad, err)
			}
			if pcusage.ErrorInfo(err) != nil {
				t.Errorf("MinPercentUsed %q: a client-side error carries an ErrorInfo", bad)
			}
		}
	}
	if n := len(fake.listCalls()); n != 0 {
		t.Fatalf("%d calls made with a bad MinPercentUsed", n)
	}
	for _, good := range []string{"0", "-1", "79.99999999999999999999", "8E+1", ".5"} {
		listAll(ctx, t, &pcusage.Lister{Client: client, MinPercentUsed: good})
	}
	if n := len(fake.listCalls()); n != 5 {
		t.Fatalf("%d calls for 5 valid minimums", n)
	}
}

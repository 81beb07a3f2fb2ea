package pcusage_test

// Tests against the live stack of tools/with_stack (a pcusage server reading
// from the Partner Center emulator). They share one emulator, so none runs in
// parallel, and each that arms a fault clears it when it ends.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	decimalpb "google.golang.org/genproto/googleapis/type/decimal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pcusage/pcusage/client_stubs/go/internal/stacktest"
	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// hangGuard bounds every call that could hang; no test asserts on timing
// below it.
const hangGuard = 60 * time.Second

// setUp returns the stack, a context with the emulator's token and a hang
// guard, and a client.
func setUp(t *testing.T) (*stacktest.Stack, context.Context, usagev1.UsageRecordsServiceClient) {
	t.Helper()
	stack := stacktest.FromEnv(t)
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(t.Context(), stack.Token), hangGuard)
	t.Cleanup(cancel)
	return stack, ctx, stack.Client(t)
}

// listAll lists every record through a Lister, failing the test on error.
func listAll(ctx context.Context, t *testing.T, lister *pcusage.Lister) []*usagev1.CustomerMonthlyUsageRecord {
	t.Helper()
	var records []*usagev1.CustomerMonthlyUsageRecord
	for record, err := range lister.Records(ctx) {
		if err != nil {
			t.Fatalf("listing after %d records: %v (reason %q)", len(records), err, pcusage.Reason(err))
		}
		records = append(records, record)
	}
	return records
}

func ids(records []*usagev1.CustomerMonthlyUsageRecord) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.GetId()
	}
	return out
}

// requireSameIDs fails unless got lists exactly the records of want, in order.
func requireSameIDs(t *testing.T, got []*usagev1.CustomerMonthlyUsageRecord, want []string) {
	t.Helper()
	gotIDs := ids(got)
	if strings.Join(gotIDs, ",") != strings.Join(want, ",") {
		t.Fatalf("got %d records, want %d (in order, each once)\ngot:  %v\nwant: %v", len(gotIDs), len(want), gotIDs, want)
	}
}

func rawIDs(raw []map[string]any) []string {
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i], _ = r["id"].(string)
	}
	return out
}

// requireStatus fails unless err is a gRPC status with code and, when reason
// is not empty, an ErrorInfo with that reason in the pcusage domain.
func requireStatus(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %s", code)
	}
	if got := status.Code(err); got != code {
		t.Fatalf("code = %s, want %s; error: %v", got, code, err)
	}
	if reason == "" {
		return
	}
	info := pcusage.ErrorInfo(err)
	if info == nil {
		t.Fatalf("no ErrorInfo in %v", err)
	}
	if info.GetReason() != reason || info.GetDomain() != pcusage.ErrorDomain {
		t.Fatalf("ErrorInfo = %s/%s, want %s/%s", info.GetDomain(), info.GetReason(), pcusage.ErrorDomain, reason)
	}
	if info.GetMetadata()["ms_correlation_id"] == "" {
		t.Errorf("ErrorInfo metadata lacks ms_correlation_id: %v", info.GetMetadata())
	}
}

// firstError runs one ListUsageRecords call to its end and returns its error.
func firstError(ctx context.Context, client usagev1.UsageRecordsServiceClient, req *usagev1.ListUsageRecordsRequest) error {
	stream, err := client.ListUsageRecords(ctx, req)
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// normalizedDecimal is the text pcusage sends for a JSON number: the
// google.type.Decimal normalization of the exponent ("1.5e+2" -> "1.5E+2",
// "e0" dropped), every digit kept.
func normalizedDecimal(number string) string {
	mantissa, exponent, found := strings.Cut(strings.ReplaceAll(number, "e", "E"), "E")
	if !found {
		return mantissa
	}
	sign := "+"
	if exponent[0] == '+' || exponent[0] == '-' {
		sign, exponent = exponent[:1], exponent[1:]
	}
	if strings.Trim(exponent, "0") == "" {
		return mantissa
	}
	return mantissa + "E" + sign + exponent
}

// checkDecimal compares a decimal field with its raw JSON value: unset for
// absent or null, else the same digits and exactly the same value.
func checkDecimal(t *testing.T, where string, raw any, got *decimalpb.Decimal) {
	t.Helper()
	if raw == nil {
		if got != nil {
			t.Errorf("%s = %q, want unset", where, got.GetValue())
		}
		return
	}
	number, ok := raw.(json.Number)
	if !ok {
		t.Fatalf("%s: raw JSON %#v is not a number", where, raw)
	}
	if got == nil {
		t.Errorf("%s unset, want %s", where, number)
		return
	}
	if want := normalizedDecimal(number.String()); got.GetValue() != want {
		t.Errorf("%s = %q, want %q", where, got.GetValue(), want)
	}
	value, err := pcusage.ToDecimal(got)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	want, _ := new(big.Rat).SetString(number.String())
	if value.Rat().Cmp(want) != 0 {
		t.Errorf("%s = %s, not exactly %s", where, value, number)
	}
}

func checkBudget(t *testing.T, where string, raw any, got *usagev1.SpendingBudget) {
	t.Helper()
	if raw == nil {
		if got != nil {
			t.Errorf("%s set, want unset", where)
		}
		return
	}
	object := raw.(map[string]any)
	if got == nil {
		t.Errorf("%s unset, want %v", where, object)
		return
	}
	checkDecimal(t, where+".amount", object["amount"], got.GetAmount())
	if want := object["attributes"].(map[string]any)["objectType"]; got.GetObjectType() != want {
		t.Errorf("%s.object_type = %q, want %q", where, got.GetObjectType(), want)
	}
}

func checkString(t *testing.T, where string, raw any, got string) {
	t.Helper()
	want, _ := raw.(string) // absent and null are ""
	if got != want {
		t.Errorf("%s = %q, want %q", where, got, want)
	}
}

// checkRecord compares a record field by field with the emulator's JSON item.
func checkRecord(t *testing.T, i int, raw map[string]any, got *usagev1.CustomerMonthlyUsageRecord) {
	t.Helper()
	where := fmt.Sprintf("record %d (%v)", i, raw["id"])
	checkString(t, where+".id", raw["id"], got.GetId())
	checkString(t, where+".name", raw["name"], got.GetName())
	checkString(t, where+".resource_id", raw["resourceId"], got.GetResourceId())
	checkString(t, where+".resource_name", raw["resourceName"], got.GetResourceName())
	checkString(t, where+".currency_locale", raw["currencyLocale"], got.GetCurrencyLocale())
	checkString(t, where+".currency_code", raw["currencyCode"], got.GetCurrencyCode())
	checkString(t, where+".currency_symbol", raw["currencySymbol"], got.GetCurrencySymbol())
	checkString(t, where+".object_type", raw["attributes"].(map[string]any)["objectType"], got.GetObjectType())
	checkBudget(t, where+".budget", raw["budget"], got.GetBudget())
	checkBudget(t, where+".customer_spending_budget", raw["customerSpendingBudget"], got.GetCustomerSpendingBudget())
	checkBudget(t, where+".usage_spending_budget", raw["usageSpendingBudget"], got.GetUsageSpendingBudget())
	checkDecimal(t, where+".percent_used", raw["percentUsed"], got.GetPercentUsed())
	checkDecimal(t, where+".total_cost", raw["totalCost"], got.GetTotalCost())
	checkDecimal(t, where+".usd_total_cost", raw["usdTotalCost"], got.GetUsdTotalCost())

	switch want := raw["isUpgraded"].(type) {
	case nil:
		if got.IsUpgraded != nil {
			t.Errorf("%s.is_upgraded = %v, want unset", where, got.GetIsUpgraded())
		}
	case bool:
		if got.IsUpgraded == nil || *got.IsUpgraded != want {
			t.Errorf("%s.is_upgraded = %v, want %v", where, got.IsUpgraded, want)
		}
	}

	switch text := raw["lastModifiedDate"].(type) {
	case nil:
		if got.GetLastModifiedTime() != nil {
			t.Errorf("%s.last_modified_time = %v, want unset", where, got.GetLastModifiedTime().AsTime())
		}
	case string:
		want, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			t.Fatalf("%s: raw lastModifiedDate: %v", where, err)
		}
		if got.GetLastModifiedTime() == nil || !got.GetLastModifiedTime().AsTime().Equal(want) {
			t.Errorf("%s.last_modified_time = %v, want %v (%s)", where, got.GetLastModifiedTime().AsTime(), want, text)
		}
	}
}

// Every record arrives once, in order, equal field by field to the emulator's
// JSON, with decimals digit for digit.
func TestRecordsMatchEmulator(t *testing.T) {
	stack, ctx, client := setUp(t)
	raw := stack.RawRecords(t)
	if len(raw) < 12 {
		t.Fatalf("the emulator serves %d records; the generated data set needs at least 12 to cover every case", len(raw))
	}
	records := listAll(ctx, t, &pcusage.Lister{Client: client})
	requireSameIDs(t, records, rawIDs(raw))
	for i := range raw {
		checkRecord(t, i, raw[i], records[i])
	}
}

// A value of more than 20 significant digits (and .NET decimal's extremes)
// reaches the caller exactly, never through a float.
func TestDecimalsAreExact(t *testing.T) {
	_, ctx, client := setUp(t)
	seen := map[string]bool{}
	for _, record := range listAll(ctx, t, &pcusage.Lister{Client: client}) {
		for _, d := range []*decimalpb.Decimal{record.GetTotalCost(), record.GetUsdTotalCost(), record.GetPercentUsed()} {
			if d == nil {
				continue
			}
			value, err := pcusage.ToDecimal(d)
			if err != nil {
				t.Fatalf("record %s: %v", record.GetId(), err)
			}
			seen[value.String()] = true
		}
	}
	for _, want := range []string{
		"120.5682999999995904716",         // 22 significant digits
		"79228162514264337593543950335",   // decimal.MaxValue
		"0.0000000000000000000000000001",  // the smallest .NET decimal step
		"-7922816251426433759354395033.5", // 29 digits, negative
		"150",                             // sent as 1.5e+2
	} {
		if !seen[want] {
			t.Errorf("no decimal equal to %s among the records", want)
		}
	}
}

// No budget, a budget without an amount, and a budget with an amount stay
// three different things.
func TestPresenceIsKept(t *testing.T) {
	stack, ctx, client := setUp(t)
	raw := stack.RawRecords(t)
	records := listAll(ctx, t, &pcusage.Lister{Client: client})
	requireSameIDs(t, records, rawIDs(raw))
	var noBudget, noAmount, withAmount, noTotal, zeroTotal int
	for i, record := range records {
		switch budget := record.GetBudget(); {
		case budget == nil:
			noBudget++
			if raw[i]["budget"] != nil {
				t.Errorf("record %d: budget unset, raw %v", i, raw[i]["budget"])
			}
		case budget.GetAmount() == nil:
			noAmount++
			if b, _ := raw[i]["budget"].(map[string]any); b == nil || b["amount"] != nil {
				t.Errorf("record %d: budget without amount, raw %v", i, raw[i]["budget"])
			}
		default:
			withAmount++
		}
		cost, err := pcusage.ToNullDecimal(record.GetTotalCost())
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !cost.Valid:
			noTotal++
		case cost.Decimal.IsZero():
			zeroTotal++
		}
	}
	if noBudget == 0 || noAmount == 0 || withAmount == 0 || noTotal == 0 || zeroTotal == 0 {
		t.Errorf("want every case: no budget %d, budget without amount %d, with amount %d, no total_cost %d, zero total_cost %d",
			noBudget, noAmount, withAmount, noTotal, zeroTotal)
	}
}

// page_size shapes the messages; the first carries Partner Center's totalCount.
func TestPageSizeAndTotalCount(t *testing.T) {
	stack, ctx, client := setUp(t)
	raw := stack.RawRecords(t)
	lister := &pcusage.Lister{Client: client, PageSize: 7}
	var records []*usagev1.CustomerMonthlyUsageRecord
	messages := 0
	for resp, err := range lister.Responses(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.GetUsageRecords()); n > 7 {
			t.Errorf("message %d has %d records, want at most 7", messages, n)
		}
		if (messages == 0) != (resp.PartnerCenterTotalCount != nil) {
			t.Errorf("message %d: partner_center_total_count set = %v", messages, resp.PartnerCenterTotalCount != nil)
		}
		if resp.GetResumeToken() == "" {
			t.Errorf("message %d has no resume_token", messages)
		}
		messages++
		records = append(records, resp.GetUsageRecords()...)
	}
	requireSameIDs(t, records, rawIDs(raw))
	if messages <= len(raw)/7 {
		t.Errorf("%d messages for %d records of at most 7", messages, len(raw))
	}
}

// A deadline bounds the call: a Partner Center page slower than the deadline
// ends it with DEADLINE_EXCEEDED.
func TestDeadlineBoundsTheCall(t *testing.T) {
	stack, ctx, client := setUp(t)
	stack.SetFaults(t, `[{"page": 0, "fault": "slow_first_byte", "delay_ms": 8000}]`)
	deadlineCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var err error
	for _, err = range (&pcusage.Lister{Client: client, MaxResumes: 3}).Records(deadlineCtx) {
		if err == nil {
			t.Fatal("got a record before the deadline; want none")
		}
	}
	requireStatus(t, err, codes.DeadlineExceeded, "")
	if ctx.Err() != nil {
		t.Fatalf("the call outlived the %s hang guard", hangGuard)
	}
}

// Cancelling mid-stream ends the call with CANCELLED, and the server stops
// reading the Partner Center page it was on.
func TestCancelMidStream(t *testing.T) {
	stack, ctx, client := setUp(t)
	stack.ResetLog(t)
	// The emulator would take 30 s to send page 1.
	stack.SetFaults(t, `[{"page": 1, "fault": "slow_body", "chunk_ms": 50, "duration_ms": 30000}]`)
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.ListUsageRecords(callCtx, &usagev1.ListUsageRecordsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatalf("first message: %v", err)
	}
	if len(first.GetUsageRecords()) == 0 {
		t.Fatal("the first message has no records")
	}
	// Cancel while the server is reading page 1.
	waitForPage1(ctx, t, stack, func(r stacktest.Request) bool { return r.Completed == nil })
	cancel()
	for {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	requireStatus(t, err, codes.Canceled, "")
	// The server aborts the transfer: the emulator logs it as not completed.
	waitForPage1(ctx, t, stack, func(r stacktest.Request) bool { return r.Completed != nil && !*r.Completed })
	for _, r := range stack.PageRequests(t) {
		if r.Page != nil && *r.Page >= 1 && (r.Completed == nil || *r.Completed) {
			t.Errorf("after the cancel the server still read a page: %+v", r)
		}
	}
}

// waitForPage1 polls the emulator's log until a request for page 1 matches,
// failing the test when ctx (the hang guard) ends first.
func waitForPage1(ctx context.Context, t *testing.T, stack *stacktest.Stack, match func(stacktest.Request) bool) {
	t.Helper()
	for {
		for _, r := range stack.PageRequests(t) {
			if r.Page != nil && *r.Page == 1 && match(r) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("hang guard: the emulator's log never showed the expected page 1 request: %+v", stack.PageRequests(t))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Throttling that outlasts the server's patience ends the call with
// RESOURCE_EXHAUSTED, PARTNER_CENTER_RATE_LIMITED and RetryInfo's delay.
func TestThrottledCallCarriesRetryInfo(t *testing.T) {
	stack, ctx, client := setUp(t)
	stack.SetFaults(t, `[{"page": 0, "times": -1, "fault": "throttle", "retry_after": "600"}]`)
	err := firstError(ctx, client, &usagev1.ListUsageRecordsRequest{})
	requireStatus(t, err, codes.ResourceExhausted, pcusage.ReasonPartnerCenterRateLimited)
	delay, ok := pcusage.RetryDelay(err)
	if !ok || delay != 600*time.Second {
		t.Errorf("RetryDelay = %v, %v; want 10m0s, true", delay, ok)
	}

	// A Lister does not wait 600 s when its deadline is sooner: it returns the
	// same error at once.
	shortCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var listErr error
	for _, listErr = range (&pcusage.Lister{Client: client, MaxResumes: 3}).Records(shortCtx) {
		if listErr == nil {
			t.Fatal("got a record from a throttled listing")
		}
	}
	requireStatus(t, listErr, codes.ResourceExhausted, pcusage.ReasonPartnerCenterRateLimited)
}

func TestWrongTokenIsUnauthenticated(t *testing.T) {
	_, _, client := setUp(t)
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(t.Context(), "not-the-token"), hangGuard)
	defer cancel()
	err := firstError(ctx, client, &usagev1.ListUsageRecordsRequest{})
	requireStatus(t, err, codes.Unauthenticated, pcusage.ReasonPartnerCenterUnauthenticated)
	if strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("the error quotes the token: %v", err)
	}
}

func TestMissingTokenIsUnauthenticated(t *testing.T) {
	_, _, client := setUp(t)
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	err := firstError(ctx, client, &usagev1.ListUsageRecordsRequest{})
	requireStatus(t, err, codes.Unauthenticated, pcusage.ReasonAccessTokenMissing)
}

func TestInvalidRequests(t *testing.T) {
	_, ctx, client := setUp(t)
	err := firstError(ctx, client, &usagev1.ListUsageRecordsRequest{PageSize: -1})
	requireStatus(t, err, codes.InvalidArgument, pcusage.ReasonInvalidArgument)
	err = firstError(ctx, client, &usagev1.ListUsageRecordsRequest{ResumeToken: "not-a-token"})
	requireStatus(t, err, codes.InvalidArgument, pcusage.ReasonResumeTokenInvalid)
}

// The Lister sends MaxStaleness: a negative one is the server's
// INVALID_ARGUMENT, zero a fresh walk whose first message says when it began.
func TestListerSendsMaxStaleness(t *testing.T) {
	stack, ctx, client := setUp(t)
	negative := -time.Second
	lister := &pcusage.Lister{Client: client, MaxStaleness: &negative}
	var err error
	for _, err = range lister.Records(ctx) {
		break
	}
	requireStatus(t, err, codes.InvalidArgument, pcusage.ReasonInvalidArgument)
	if !strings.Contains(status.Convert(err).Message(), "max_staleness") {
		t.Fatalf("the error does not name max_staleness: %v", err)
	}

	fresh := time.Duration(0)
	lister = &pcusage.Lister{Client: client, MaxStaleness: &fresh}
	before := time.Now().Add(-time.Second)
	var records []*usagev1.CustomerMonthlyUsageRecord
	first := true
	for resp, err := range lister.Responses(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if first {
			if resp.GetFromSharedSnapshot() || resp.GetSnapshotTime().AsTime().Before(before) {
				t.Fatalf("a fresh walk's first message says shared=%v, snapshot_time=%v (call made after %v)",
					resp.GetFromSharedSnapshot(), resp.GetSnapshotTime().AsTime(), before)
			}
			first = false
		}
		records = append(records, resp.GetUsageRecords()...)
	}
	requireSameIDs(t, records, rawIDs(stack.RawRecords(t)))
}

// Stopping after the first message and calling again with its resume token
// delivers the rest: together, every record exactly once.
func TestResumeAfterFirstMessage(t *testing.T) {
	stack, ctx, client := setUp(t)
	want := rawIDs(stack.RawRecords(t))
	lister := &pcusage.Lister{Client: client, PageSize: 10}
	var records []*usagev1.CustomerMonthlyUsageRecord
	for resp, err := range lister.Responses(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, resp.GetUsageRecords()...)
		break
	}
	if len(records) == 0 || len(records) >= len(want) {
		t.Fatalf("the first message has %d of %d records", len(records), len(want))
	}
	if lister.ResumeToken == "" {
		t.Fatal("no resume token after the first message")
	}
	// A new Lister from the token alone, as a later process would.
	rest := listAll(ctx, t, &pcusage.Lister{Client: client, ResumeToken: lister.ResumeToken})
	requireSameIDs(t, append(records, rest...), want)
}

// A stream that fails midway is continued from its resume token by the Lister
// itself: page 1 fails with 503 as often as the server tries a page
// (tools/with_stack starts it with --max_attempts=2), so the
// first call ends UNAVAILABLE after page 0 and the second call resumes.
func TestListerResumesAfterFailure(t *testing.T) {
	stack, ctx, client := setUp(t)
	want := rawIDs(stack.RawRecords(t))
	stack.ResetLog(t)
	stack.SetFaults(t, `[{"page": 1, "times": 2, "fault": "http_status", "status": 503}]`)

	// Without resumes the failure reaches the caller, after page 0's records.
	var got []*usagev1.CustomerMonthlyUsageRecord
	var err error
	for record, e := range (&pcusage.Lister{Client: client}).Records(ctx) {
		if e != nil {
			err = e
			break
		}
		got = append(got, record)
	}
	requireStatus(t, err, codes.Unavailable, pcusage.ReasonPartnerCenterUnavailable)
	if len(got) == 0 || len(got) >= len(want) {
		t.Fatalf("got %d of %d records before the failure", len(got), len(want))
	}

	stack.SetFaults(t, `[{"page": 1, "times": 2, "fault": "http_status", "status": 503}]`)
	stack.ResetLog(t)
	records := listAll(ctx, t, &pcusage.Lister{Client: client, MaxResumes: 2})
	requireSameIDs(t, records, want)
	failed := 0
	for _, r := range stack.PageRequests(t) {
		if r.Status == 503 {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("the emulator answered %d requests with 503, want 2 (the fault did not fire?)", failed)
	}
}

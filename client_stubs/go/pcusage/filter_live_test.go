package pcusage_test

// The Lister's filters against the live stack: each filtered listing is
// exactly the unfiltered list narrowed on the client side, in order.

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// keep returns the records for which pass is true, in order.
func keep(records []*usagev1.CustomerMonthlyUsageRecord, pass func(*usagev1.CustomerMonthlyUsageRecord) bool) []string {
	var out []string
	for _, r := range records {
		if pass(r) {
			out = append(out, r.GetId())
		}
	}
	return out
}

// atLeast reports whether the record's percent_used is set and at least min,
// compared exactly.
func atLeast(t *testing.T, r *usagev1.CustomerMonthlyUsageRecord, min string) bool {
	t.Helper()
	if r.GetPercentUsed() == nil {
		return false
	}
	value, err := pcusage.ToDecimal(r.GetPercentUsed())
	if err != nil {
		t.Fatalf("record %s: %v", r.GetId(), err)
	}
	floor, err := pcusage.ParseDecimal(min)
	if err != nil {
		t.Fatal(err)
	}
	return value.GreaterThanOrEqual(floor)
}

func inCurrencies(r *usagev1.CustomerMonthlyUsageRecord, codes ...string) bool {
	for _, c := range codes {
		if r.GetCurrencyCode() != "" && strings.EqualFold(r.GetCurrencyCode(), c) {
			return true
		}
	}
	return false
}

func withBudget(r *usagev1.CustomerMonthlyUsageRecord) bool {
	return r.GetBudget().GetAmount() != nil
}

// A filtered listing returns only, and every one of, the records that pass,
// in Partner Center's order: customer ids in any case, currency codes in any
// case, a minimum percent compared exactly (as 80 and as 8E+1), budgets with
// an amount, and all together; a small page size makes the filtered stream
// span several messages.
func TestListerFilters(t *testing.T) {
	_, ctx, client := setUp(t)
	all := listAll(ctx, t, &pcusage.Lister{Client: client})
	if len(all) < 24 {
		t.Fatalf("%d records; the filters need the generated data set", len(all))
	}
	picked := []string{all[3].GetResourceId(), strings.ToUpper(all[17].GetResourceId())}
	for _, c := range []struct {
		name   string
		lister pcusage.Lister
		pass   func(*usagev1.CustomerMonthlyUsageRecord) bool
	}{
		{"customer ids", pcusage.Lister{CustomerIDs: picked}, func(r *usagev1.CustomerMonthlyUsageRecord) bool {
			return strings.EqualFold(r.GetResourceId(), picked[0]) || strings.EqualFold(r.GetResourceId(), picked[1])
		}},
		{"currency codes", pcusage.Lister{CurrencyCodes: []string{"eur", "CHF"}, PageSize: 3}, func(r *usagev1.CustomerMonthlyUsageRecord) bool {
			return inCurrencies(r, "EUR", "CHF")
		}},
		{"min percent 80", pcusage.Lister{MinPercentUsed: "80"}, func(r *usagev1.CustomerMonthlyUsageRecord) bool {
			return atLeast(t, r, "80")
		}},
		{"min percent 8E+1", pcusage.Lister{MinPercentUsed: "8E+1", PageSize: 2}, func(r *usagev1.CustomerMonthlyUsageRecord) bool {
			return atLeast(t, r, "80")
		}},
		{"min percent 1E+2", pcusage.Lister{MinPercentUsed: "1E+2"}, func(r *usagev1.CustomerMonthlyUsageRecord) bool {
			return atLeast(t, r, "100")
		}},
		{"only with budget", pcusage.Lister{OnlyWithBudget: true}, withBudget},
		{"all together", pcusage.Lister{CurrencyCodes: []string{"gbp", "EUR", "jpy"}, MinPercentUsed: "100", OnlyWithBudget: true},
			func(r *usagev1.CustomerMonthlyUsageRecord) bool {
				return inCurrencies(r, "GBP", "EUR", "JPY") && atLeast(t, r, "100") && withBudget(r)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := keep(all, c.pass)
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("%d of %d records pass: the case filters nothing or everything", len(want), len(all))
			}
			lister := c.lister
			lister.Client = client
			got := listAll(ctx, t, &lister)
			requireSameIDs(t, got, want)
		})
	}
}

// A value the server cannot read is refused by the server, naming the field;
// one the client cannot read never reaches it.
func TestListerFilterErrors(t *testing.T) {
	_, ctx, client := setUp(t)
	lister := &pcusage.Lister{Client: client, CustomerIDs: []string{"00000000-c0de-4000-8000-000000000000", "not-a-guid"}}
	for _, err := range lister.Records(ctx) {
		requireStatus(t, err, codes.InvalidArgument, pcusage.ReasonInvalidArgument)
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if bad, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range bad.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if strings.Join(fields, ",") != "customer_ids[1]" {
			t.Errorf("BadRequest fields %v, want [customer_ids[1]]", fields)
		}
	}
	lister = &pcusage.Lister{Client: client, MinPercentUsed: "80 %"}
	for _, err := range lister.Records(ctx) {
		if pcusage.ErrorInfo(err) != nil || !strings.Contains(err.Error(), "MinPercentUsed") {
			t.Errorf("MinPercentUsed \"80 %%\": %v, want the client's INVALID_ARGUMENT", err)
		}
	}
}

package pcusage_test

// The Watcher against the watch stack of tools/with_stack
// (PCUSAGE_WATCH_SERVER, PCUSAGE_WATCH_EMULATOR): a pcusage server with
// shared snapshots and --min_watch_poll_interval=200ms in front of an emulator
// of its own with 6 generated customers, whose data set a test may edit (and
// puts back when it ends, so the tests do not depend on their order).

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/pcusage/pcusage/client_stubs/go/internal/stacktest"
	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
	"github.com/pcusage/pcusage/client_stubs/go/pcusage"
)

// watchGuard bounds every live watch: the level and each edit's event arrive
// within a few poll intervals (300 ms) when all is well.
const watchGuard = 30 * time.Second

// The watch stack's generated customers (tests/emulator/dataset.cc): 0, 3
// and 4 are at or above 80 and 100; 2 is at 42; 1 is at -0.0 and 5 has no
// percent_used.
const (
	customer0 = "00000000-c0de-4000-8000-000000000000" // 120.5682999999995904716, no currency code
	customer2 = "3c6ef362-c0de-4002-8000-000000000002" // 42, GBP
	customer3 = "daa66d13-c0de-4003-8000-000000000003" // 1234567890.123456789012345678, JPY
	customer4 = "78dde6c4-c0de-4004-8000-000000000004" // 602.84, EUR
)

// watchSetUp returns the watch stack, a context with the emulator's token
// and watchGuard, and a client of the watch server.
func watchSetUp(t *testing.T) (*stacktest.Stack, context.Context, usagev1.UsageRecordsServiceClient) {
	t.Helper()
	stack := stacktest.WatchFromEnv(t)
	ctx, cancel := context.WithTimeout(pcusage.WithAccessToken(t.Context(), stack.Token), watchGuard)
	t.Cleanup(cancel)
	return stack, ctx, stack.Client(t)
}

// The level (every customer at or above each threshold, thresholds
// ascending, then initial_state_complete), then a crossing up when the data
// set moves a customer from 42 to 85, and a crossing down when it goes back:
// each with the threshold as requested, the record as now and the value of
// the poll before.
func TestWatcherLive(t *testing.T) {
	stack, ctx, client := watchSetUp(t)
	const (
		to85 = `[{"resource_id": "` + customer2 + `", "percent_used": "85"}]`
		to42 = `[{"resource_id": "` + customer2 + `", "percent_used": "42"}]`
	)
	t.Cleanup(func() { stack.EditDataset(t, to42) }) // also when the test fails midway

	w := &pcusage.Watcher{
		Client:       client,
		Thresholds:   []string{"80", "100"},
		PollInterval: 300 * time.Millisecond,
	}
	wantPercent := map[string]string{
		customer0: "120.5682999999995904716",
		customer3: "1234567890.123456789012345678",
		customer4: "602.84",
	}
	const (
		level = iota
		waitUp
		waitDown
		done
	)
	phase := level
	var levelEvents []string
	for resp, err := range w.Events(ctx) {
		if err != nil {
			t.Fatalf("phase %d: %v (reason %q)", phase, err, pcusage.Reason(err))
		}
		if failed := resp.GetPollFailed(); failed != nil {
			t.Logf("poll failed (the stream goes on): %v", failed)
			continue
		}
		if resp.GetSnapshotTime() == nil {
			t.Errorf("%s: no snapshot_time", describe(resp))
		}
		event := resp.GetBudgetEvent()
		switch phase {
		case level:
			if complete := resp.GetInitialStateComplete(); complete != nil {
				requireEvents(t, levelEvents,
					"LEVEL "+customer0+"@80", "LEVEL "+customer0+"@100",
					"LEVEL "+customer3+"@80", "LEVEL "+customer3+"@100",
					"LEVEL "+customer4+"@80", "LEVEL "+customer4+"@100")
				if n := complete.GetMatchingCustomers(); n != 6 {
					t.Errorf("matching_customers = %d, want 6", n)
				}
				if len(w.CorrelationID) != 36 {
					t.Errorf("CorrelationID = %q, want the stream's GUID", w.CorrelationID)
				}
				stack.EditDataset(t, to85)
				phase = waitUp
				continue
			}
			levelEvents = append(levelEvents, describe(resp))
			if got, want := event.GetRecord().GetPercentUsed().GetValue(), wantPercent[event.GetRecord().GetResourceId()]; got != want {
				t.Errorf("%s: percent_used %q, want %q", describe(resp), got, want)
			}
			if event.GetPreviousPercentUsed() != nil {
				t.Errorf("%s: previous_percent_used %q in the level", describe(resp), event.GetPreviousPercentUsed().GetValue())
			}
		case waitUp:
			requireEvents(t, []string{describe(resp)}, "CROSSED_UP "+customer2+"@80")
			if got := event.GetPreviousPercentUsed().GetValue(); got != "42" {
				t.Errorf("previous_percent_used %q, want 42", got)
			}
			if got := event.GetRecord().GetPercentUsed().GetValue(); got != "85" {
				t.Errorf("percent_used %q, want 85", got)
			}
			stack.EditDataset(t, to42)
			phase = waitDown
		case waitDown:
			requireEvents(t, []string{describe(resp)}, "CROSSED_DOWN "+customer2+"@80")
			if got := event.GetPreviousPercentUsed().GetValue(); got != "85" {
				t.Errorf("previous_percent_used %q, want 85", got)
			}
			if got := event.GetRecord().GetPercentUsed().GetValue(); got != "42" {
				t.Errorf("percent_used %q, want 42", got)
			}
			phase = done
		}
		if phase == done {
			break
		}
	}
	if phase != done {
		t.Fatalf("the watch ended in phase %d", phase)
	}
}

// The filters and the thresholds as written: one customer (its id in upper
// case) and its currency, a threshold given with an exponent that it passes,
// and one a single unit in the last of 28 decimals above its value, which it
// does not reach.
func TestWatcherLiveFiltersAndExactThresholds(t *testing.T) {
	_, ctx, client := watchSetUp(t)
	w := &pcusage.Watcher{
		Client:        client,
		Thresholds:    []string{"1234567890.123456789012345679", "1E+3"},
		CustomerIDs:   []string{"DAA66D13-C0DE-4003-8000-000000000003"},
		CurrencyCodes: []string{"jpy"},
		PollInterval:  300 * time.Millisecond,
	}
	got, err := collect(ctx, w, 2)
	if err != nil {
		t.Fatalf("%v (reason %q)", err, pcusage.Reason(err))
	}
	requireEvents(t, got, "LEVEL "+customer3+"@1E+3", "COMPLETE 1")
}

// A poll interval below the server's --min_watch_poll_interval is refused
// with INVALID_ARGUMENT, not retried.
func TestWatcherLivePollIntervalTooShort(t *testing.T) {
	_, ctx, client := watchSetUp(t)
	w := &pcusage.Watcher{Client: client, PollInterval: 100 * time.Millisecond, MaxReconnects: 3}
	got, err := collect(ctx, w, 10)
	requireEvents(t, got)
	requireStatus(t, err, codes.InvalidArgument, pcusage.ReasonInvalidArgument)
	if w.Reconnects != 0 {
		t.Errorf("Reconnects = %d after INVALID_ARGUMENT", w.Reconnects)
	}
}

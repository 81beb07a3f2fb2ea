// Package stacktest connects tests to the live stack that tools/with_stack
// starts: a pcusage server and the Partner Center emulator it reads from. It
// reads the emulator's raw pages independently of the server, and arms and
// clears the emulator's fault scripts.
package stacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	usagev1 "github.com/pcusage/pcusage/client_stubs/go/partnercenter/usage/v1"
)

// Stack is where the live server and emulator are.
type Stack struct {
	// Server is the pcusage server's host:port.
	Server string
	// Emulator is the emulator's host:port.
	Emulator string
	// Token is the bearer token the emulator accepts; the server passes the
	// caller's token through to it.
	Token string

	http *http.Client
}

// FromEnv reads the stack from PCUSAGE_SERVER, PCUSAGE_EMULATOR and
// PCUSAGE_EMULATOR_TOKEN, and fails the test (never skips it) when one is
// missing: these tests only make sense against a live stack.
func FromEnv(t testing.TB) *Stack {
	t.Helper()
	return fromEnv(t, "PCUSAGE_SERVER", "PCUSAGE_EMULATOR")
}

// WatchFromEnv reads the stack for WatchBudgets tests from
// PCUSAGE_WATCH_SERVER (shared snapshots on, --min_watch_poll_interval=200ms),
// PCUSAGE_WATCH_EMULATOR (its own emulator, 6 generated customers in one page,
// a data set that [Stack.EditDataset] changes) and PCUSAGE_EMULATOR_TOKEN, and
// fails the test when one is missing, as FromEnv does.
func WatchFromEnv(t testing.TB) *Stack {
	t.Helper()
	return fromEnv(t, "PCUSAGE_WATCH_SERVER", "PCUSAGE_WATCH_EMULATOR")
}

func fromEnv(t testing.TB, serverEnv, emulatorEnv string) *Stack {
	t.Helper()
	s := &Stack{http: &http.Client{Timeout: 30 * time.Second}}
	for _, env := range []struct {
		name  string
		field *string
	}{
		{serverEnv, &s.Server},
		{emulatorEnv, &s.Emulator},
		{"PCUSAGE_EMULATOR_TOKEN", &s.Token},
	} {
		if *env.field = os.Getenv(env.name); *env.field == "" {
			t.Fatalf("%s is not set: run the tests against a live stack, e.g. tools/with_stack -- client_stubs/go/run_tests", env.name)
		}
	}
	return s
}

// Client returns a client of the server, closed when the test ends.
func (s *Stack) Client(t testing.TB) usagev1.UsageRecordsServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.Server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%q): %v", s.Server, err)
	}
	t.Cleanup(func() { conn.Close() })
	return usagev1.NewUsageRecordsServiceClient(conn)
}

// RawRecords clears any armed fault, then reads every page of
// GET /v1/customers/usagerecords straight from the emulator, following
// links.next with its MS-ContinuationToken header, and returns the items as
// decoded JSON with numbers kept as their text (json.Number).
func (s *Stack) RawRecords(t testing.TB) []map[string]any {
	t.Helper()
	s.ClearFaults(t)
	var records []map[string]any
	uri := "/v1/customers/usagerecords"
	var headers []header
	for pages := 0; uri != ""; pages++ {
		if pages > 1000 {
			t.Fatal("emulator: more than 1000 pages; paging loop?")
		}
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Emulator+uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Accept", "application/json")
		for _, h := range headers {
			req.Header.Set(h.Key, h.Value)
		}
		body := s.do(t, req, http.StatusOK)
		var page struct {
			Items []map[string]any `json:"items"`
			Links struct {
				Next *struct {
					URI     string   `json:"uri"`
					Headers []header `json:"headers"`
				} `json:"next"`
			} `json:"links"`
		}
		decoder := json.NewDecoder(bytes.NewReader(body))
		decoder.UseNumber()
		if err := decoder.Decode(&page); err != nil {
			t.Fatalf("emulator page %d: %v", pages, err)
		}
		records = append(records, page.Items...)
		uri, headers = "", nil
		if next := page.Links.Next; next != nil {
			uri, headers = next.URI, next.Headers
		}
	}
	return records
}

type header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SetFaults arms the emulator with a fault script (a JSON array, see
// tests/emulator/fault_script.h) and clears it again when the test ends.
func (s *Stack) SetFaults(t testing.TB, script string) {
	t.Helper()
	t.Cleanup(func() { s.ClearFaults(t) })
	s.postFaults(t, script)
}

// ClearFaults disarms every fault.
func (s *Stack) ClearFaults(t testing.TB) {
	t.Helper()
	s.postFaults(t, "[]")
}

func (s *Stack) postFaults(t testing.TB, script string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Emulator+"/emulator/faults", bytes.NewBufferString(script))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	s.do(t, req, http.StatusOK)
}

// EditDataset changes the emulator's data set with edits, a JSON array such
// as [{"resource_id": "<id>", "percent_used": "85"}] (POST /emulator/dataset,
// tests/emulator/dataset.h; the control routes need no token).
func (s *Stack) EditDataset(t testing.TB, edits string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Emulator+"/emulator/dataset", bytes.NewBufferString(edits))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	s.do(t, req, http.StatusOK)
}

// Request is one entry of the emulator's request log.
type Request struct {
	Path   string `json:"path"`
	Status int    `json:"status"`
	// Page is the page asked for; nil for requests that are not page reads.
	Page *int `json:"page"`
	// Fault is the fault that answered the request, if any.
	Fault *string `json:"fault"`
	// Completed is nil while the response is being sent, false when the
	// client went away or a fault cut it short.
	Completed *bool `json:"completed"`
}

// ResetLog clears the emulator's request log.
func (s *Stack) ResetLog(t testing.TB) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Emulator+"/emulator/reset", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.do(t, req, http.StatusOK)
}

// PageRequests returns the logged requests for usage record pages.
func (s *Stack) PageRequests(t testing.TB) []Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Emulator+"/emulator/requests", nil)
	if err != nil {
		t.Fatal(err)
	}
	var log, pages []Request
	if err := json.Unmarshal(s.do(t, req, http.StatusOK), &log); err != nil {
		t.Fatalf("emulator request log: %v", err)
	}
	for _, r := range log {
		if r.Path == "/v1/customers/usagerecords" {
			pages = append(pages, r)
		}
	}
	return pages
}

func (s *Stack) do(t testing.TB, req *http.Request, want int) []byte {
	t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("emulator %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("emulator %s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("emulator %s %s: %s: %s", req.Method, req.URL.Path, resp.Status, truncate(body))
	}
	return body
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%s... (%d bytes)", b[:300], len(b))
	}
	return string(b)
}

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExactSum(t *testing.T) {
	var s exactSum
	for _, text := range []string{"120.5682999999995904716", "0", "42", "1500.500", "-3.75", "-0.00"} {
		if err := s.add(text); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.String(), "1659.3182999999995904716"; got != want {
		t.Errorf("sum = %s, want %s", got, want)
	}
	var small exactSum
	_ = small.add("0.05")
	_ = small.add("-0.15")
	if got := small.String(); got != "-0.1" {
		t.Errorf("sum = %s, want -0.1", got)
	}
	if err := s.add("1e5"); err == nil {
		t.Error("1e5 accepted")
	}
}

func TestRecordsAreDeterministicAndPartnerCenterSized(t *testing.T) {
	if a, b := makeRecord(7), makeRecord(7); a.record.ID != b.record.ID || a.totalCost != b.totalCost {
		t.Error("makeRecord(7) differs between calls")
	}
	d, err := newDataset(1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	perRecord := d.expected.Bytes / 1000
	t.Logf("%d bytes per record in pages of 100", perRecord)
	if perRecord < 750 || perRecord > 950 {
		t.Errorf("%d bytes per record, want about 840", perRecord)
	}
}

// Follows links.next through the handler, as pcusage does, and counts items.
func TestPagesChainThroughContinuationTokens(t *testing.T) {
	d, err := newDataset(250, 100)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(d.handler(nil))
	defer server.Close()
	url, headers, items, pages := server.URL+usageRecordsPath, map[string]string{}, 0, 0
	for {
		var pg struct {
			TotalCount int               `json:"totalCount"`
			Items      []json.RawMessage `json:"items"`
			Links      struct{ Next *link }
		}
		get(t, url, headers, &pg)
		pages++
		items += len(pg.Items)
		if pg.TotalCount != 250 {
			t.Errorf("totalCount %d", pg.TotalCount)
		}
		if pg.Links.Next == nil {
			break
		}
		url = server.URL + pg.Links.Next.URI
		headers = map[string]string{}
		for _, h := range pg.Links.Next.Headers {
			headers[h.Key] = h.Value
		}
	}
	if items != 250 || pages != 3 {
		t.Errorf("%d items in %d pages, want 250 in 3", items, pages)
	}
	var served struct {
		UsageRequests int `json:"usage_requests"`
	}
	get(t, server.URL+"/bench/requests", nil, &served)
	if served.UsageRequests != 3 {
		t.Errorf("/bench/requests counted %d usage requests, want 3", served.UsageRequests)
	}
}

func get(t *testing.T, url string, headers map[string]string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer x")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownTokenAndMissingAuthorizationFail(t *testing.T) {
	d, _ := newDataset(10, 5)
	server := httptest.NewServer(d.handler(nil))
	defer server.Close()
	for _, tc := range []struct {
		auth, token string
		want        int
	}{{"", "", 401}, {"Bearer x", "nope", 400}} {
		req, _ := http.NewRequest("GET", server.URL+nextURI, strings.NewReader(""))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		req.Header.Set(tokenHeader, tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("auth %q token %q: %d, want %d", tc.auth, tc.token, resp.StatusCode, tc.want)
		}
	}
}

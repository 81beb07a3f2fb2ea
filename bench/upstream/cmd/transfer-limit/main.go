// Command transfer-limit is bench/compare's lower bound: it fetches every page
// of GET /v1/customers/usagerecords from the upstream, following links.next,
// and throws the records away. It reads only the page's tail from "links" on
// (where the upstream puts it) and counts records by their objectType, so its
// time is the HTTP transfer and little else.
//
//	transfer-limit --url=http://127.0.0.1:PORT [--token=x]
//
// Prints one JSON line: {"records": N, "pages": P, "bytes": B, "ttfr_s": S},
// ttfr_s being the time until the first page had fully arrived.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

var recordMarker = []byte(`"CustomerMonthlyUsageRecord"`)

// client reads with a large buffer: pages are tens of kilobytes to a megabyte.
var client = &http.Client{Transport: &http.Transport{ReadBufferSize: 1 << 20, DisableCompression: true}}

type result struct {
	Records int     `json:"records"`
	Pages   int     `json:"pages"`
	Bytes   int64   `json:"bytes"`
	TTFR    float64 `json:"ttfr_s"`
}

// pageLink is links.next: where the next page is and the headers to send.
type pageLink struct {
	URI     string `json:"uri"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// pageTail is the part of a page this program reads.
type pageTail struct {
	Links struct {
		Next *pageLink `json:"next"`
	} `json:"links"`
}

func main() {
	base := flag.String("url", "", "upstream root, e.g. http://127.0.0.1:8080")
	token := flag.String("token", "bench", "bearer token to send")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "transfer-limit: --url is required")
		os.Exit(2)
	}
	res, err := fetchAll(*base, *token)
	if err != nil {
		fmt.Fprintf(os.Stderr, "transfer-limit: %v\n", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func fetchAll(base, token string) (result, error) {
	var res result
	start := time.Now()
	url, headers := base+"/v1/customers/usagerecords", map[string]string{}
	var body bytes.Buffer
	for {
		if err := fetch(url, token, headers, &body); err != nil {
			return res, fmt.Errorf("page %d: %w", res.Pages, err)
		}
		if res.Pages == 0 {
			res.TTFR = time.Since(start).Seconds()
		}
		res.Pages++
		res.Bytes += int64(body.Len())
		res.Records += bytes.Count(body.Bytes(), recordMarker)
		next, err := readNext(body.Bytes())
		if err != nil {
			return res, fmt.Errorf("page %d: %w", res.Pages-1, err)
		}
		if next == nil {
			return res, nil
		}
		url, headers = base+next.URI, map[string]string{}
		for _, h := range next.Headers {
			headers[h.Key] = h.Value
		}
	}
}

// fetch reads one page into body (reusing its memory).
func fetch(url, token string, headers map[string]string, body *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body.Reset()
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s: %s", resp.Status, io.LimitReader(body, 200))
	}
	return nil
}

// readNext decodes links.next from the page's tail: from its last "links"
// member to the end is `"links": {...}, "attributes": {...}}`, an object once
// a '{' is put before it.
func readNext(page []byte) (*pageLink, error) {
	at := bytes.LastIndex(page, []byte(`"links"`))
	if at < 0 {
		return nil, errors.New(`no "links" member`)
	}
	var tail pageTail
	if err := json.Unmarshal(append([]byte("{"), page[at:]...), &tail); err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	return tail.Links.Next, nil
}

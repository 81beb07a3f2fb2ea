package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
)

const (
	usageRecordsPath = "/v1/customers/usagerecords"
	nextURI          = usageRecordsPath + "?seekOperation=Next"
	tokenHeader      = "MS-ContinuationToken"
)

// page is one Partner Center collection page of usage records.
type page struct {
	TotalCount int        `json:"totalCount"`
	Items      []record   `json:"items"`
	Links      links      `json:"links"`
	Attributes attributes `json:"attributes"`
}

type links struct {
	Self link  `json:"self"`
	Next *link `json:"next,omitempty"`
}

type link struct {
	URI     string   `json:"uri"`
	Method  string   `json:"method"`
	Headers []header `json:"headers"`
}

type header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// expectation is what every contender must find: the record count and, per
// currency group, the record count and the exact sum of totalCost.
type expectation struct {
	Records  int               `json:"records"`
	PageSize int               `json:"page_size"`
	Pages    int               `json:"pages"`
	Bytes    int64             `json:"bytes"`
	Counts   map[string]int    `json:"counts"`
	Totals   map[string]string `json:"totals"`
	RenderS  float64           `json:"render_s"`
}

// dataset is every page, rendered once, and the token that leads to each.
type dataset struct {
	pages    [][]byte
	tokens   map[string]int
	expected expectation
	served   atomic.Int64 // usage-records requests answered (GET /bench/requests)
}

// newDataset renders `records` records in pages of `pageSize` (at least one
// page, empty when there are no records).
func newDataset(records, pageSize int) (*dataset, error) {
	pageCount := max(1, (records+pageSize-1)/pageSize)
	d := &dataset{
		tokens:   make(map[string]int, pageCount),
		expected: expectation{Records: records, PageSize: pageSize, Pages: pageCount, Counts: map[string]int{}},
	}
	sums := map[string]*exactSum{}
	for p := range pageCount {
		body, err := d.renderPage(p, records, pageSize, sums)
		if err != nil {
			return nil, err
		}
		d.pages = append(d.pages, body)
		d.expected.Bytes += int64(len(body))
	}
	d.expected.Totals = make(map[string]string, len(sums))
	for group, sum := range sums {
		d.expected.Totals[group] = sum.String()
	}
	return d, nil
}

// renderPage renders page p and adds its records to the expected figures.
func (d *dataset) renderPage(p, records, pageSize int, sums map[string]*exactSum) ([]byte, error) {
	first := p * pageSize
	last := min(first+pageSize, records)
	pg := page{
		TotalCount: records,
		Items:      make([]record, 0, max(0, last-first)),
		Links:      links{Self: link{URI: "/customers/usagerecords", Method: "GET", Headers: []header{}}},
		Attributes: attributes{ObjectType: "Collection"},
	}
	for i := first; i < last; i++ {
		gen := makeRecord(i)
		if err := d.count(gen, sums); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		pg.Items = append(pg.Items, gen.record)
	}
	if p+1 < d.expected.Pages {
		token := continuationToken(records, pageSize, p+1)
		d.tokens[token] = p + 1
		pg.Links.Next = &link{URI: nextURI, Method: "GET", Headers: []header{{Key: tokenHeader, Value: token}}}
	}
	return encodeIndented(pg)
}

func (d *dataset) count(gen generatedRecord, sums map[string]*exactSum) error {
	d.expected.Counts[gen.group]++
	sum := sums[gen.group]
	if sum == nil {
		sum = &exactSum{}
		sums[gen.group] = sum
	}
	return sum.add(gen.totalCost)
}

// encodeIndented writes v as Partner Center does: indented by four spaces,
// non-ASCII and HTML characters unescaped.
func encodeIndented(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// continuationToken is an opaque token naming page p of this data set.
func continuationToken(records, pageSize, p int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "pcusage-bench/%d/%d/%d", records, pageSize, p))
	return "+RID:~" + base64.StdEncoding.EncodeToString(sum[:]) + "#RT:1#TRC:" + fmt.Sprint(p*pageSize)
}

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// record is one CustomerMonthlyUsageRecord, in the member order of Partner
// Center's documented sample (tests/emulator/data/sample-usagerecords-response.json).
// Numbers are json.RawMessage so that their decimal text goes out exactly as
// generated, quoted or not.
type record struct {
	Budget                 *budget         `json:"budget,omitempty"`
	CustomerSpendingBudget *budget         `json:"customerSpendingBudget,omitempty"`
	UsageSpendingBudget    *budget         `json:"usageSpendingBudget,omitempty"`
	PercentUsed            json.RawMessage `json:"percentUsed,omitempty"`
	IsUpgraded             bool            `json:"isUpgraded"`
	ResourceID             string          `json:"resourceId"`
	ID                     string          `json:"id"`
	ResourceName           string          `json:"resourceName"`
	Name                   string          `json:"name"`
	TotalCost              json.RawMessage `json:"totalCost"`
	CurrencyLocale         string          `json:"currencyLocale,omitempty"`
	CurrencyCode           string          `json:"currencyCode,omitempty"`
	CurrencySymbol         string          `json:"currencySymbol,omitempty"`
	UsdTotalCost           json.RawMessage `json:"usdTotalCost,omitempty"`
	LastModifiedDate       string          `json:"lastModifiedDate"`
	Attributes             attributes      `json:"attributes"`
}

type budget struct {
	Amount     json.RawMessage `json:"amount,omitempty"`
	Attributes attributes      `json:"attributes"`
}

type attributes struct {
	ObjectType string `json:"objectType"`
}

// currency is how a record names its money: Azure plan customers by ISO code
// (and usually a symbol), legacy MS-AZR-0145P customers by locale only.
type currency struct {
	code, symbol, locale string
}

var currencies = []currency{
	{code: "SEK", symbol: "kr"},
	{code: "GBP", symbol: "£"},
	{code: "EUR", symbol: "€"},
	{code: "USD", symbol: "$"},
	{code: "DKK", symbol: "kr."},
	{code: "NOK"},
	{locale: "fr-FR"},
	{locale: "de-DE"},
}

var companies = []string{
	"Contoso", "Fabrikam", "Northwind Traders", "Adventure Works", "Tailspin Toys",
	"Wide World Importers", "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House",
	"Coho Winery", "Lucerne Publishing", "Margie's Travel", "Café Müller", "Nordisk Rådgivning",
	"Škoda Partners", "株式会社サンプル", "Ελληνική Εταιρεία",
}

var suffixes = []string{"AB", "Ltd", "GmbH", "SE", "UK", "AS", "Inc.", "S.A.", "Oy", "BV"}

var offsets = []string{"+00:00", "+00:00", "+00:00", "-07:00", "+05:30", "+01:00"}

// rng is splitmix64: a deterministic, well-mixed sequence per record index.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// digits returns n random decimal digits.
func (r *rng) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + r.intn(10)))
	}
	return b.String()
}

// generatedRecord is a record with the plain decimal text of its totalCost
// (without quotes) and its currency group, for the expected totals.
type generatedRecord struct {
	record    record
	totalCost string
	group     string
}

// makeRecord builds record i; the same i always gives the same record.
func makeRecord(i int) generatedRecord {
	r := &rng{state: uint64(i)*0x2545f4914f6cdd1d + 1}
	cur := currencies[r.intn(len(currencies))]
	legacy := cur.code == ""
	name := customerName(r, i)
	id := guid(r)
	rec := record{
		Budget:           makeBudget(r, r.intn(10) < 6),
		IsUpgraded:       !legacy && r.intn(10) != 0,
		ResourceID:       id,
		ID:               id,
		ResourceName:     name,
		Name:             name,
		CurrencyLocale:   cur.locale,
		CurrencyCode:     cur.code,
		CurrencySymbol:   cur.symbol,
		LastModifiedDate: modifiedDate(r),
		Attributes:       attributes{ObjectType: "CustomerMonthlyUsageRecord"},
	}
	if legacy || r.intn(10) == 0 {
		rec.CustomerSpendingBudget = makeBudget(r, r.intn(2) == 0)
	}
	if r.intn(20) == 0 {
		rec.UsageSpendingBudget = makeBudget(r, r.intn(2) == 0)
	}
	rec.PercentUsed = json.RawMessage(percentText(r))
	cost := costText(r)
	rec.TotalCost = numberJSON(cost, r.intn(8) == 0)
	rec.UsdTotalCost = numberJSON(costText(r), r.intn(8) == 0)
	return generatedRecord{record: rec, totalCost: cost, group: groupKey(cur)}
}

// groupKey is the currency group the contenders sum by: the code, else
// "locale:<locale>" (as client_stubs/go/cmd/pcusage-totals does).
func groupKey(c currency) string {
	if c.code != "" {
		return c.code
	}
	return "locale:" + c.locale
}

func customerName(r *rng, i int) string {
	if r.intn(20) == 0 {
		return fmt.Sprintf("Test_Test_MA2019%02d%02d_%d", 1+r.intn(12), 1+r.intn(28), i%100)
	}
	return fmt.Sprintf("%s %s %d", companies[r.intn(len(companies))], suffixes[r.intn(len(suffixes))], i)
}

func guid(r *rng) string {
	a, b := r.next(), r.next()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, 0x8000|uint16(b>>48)&0x3fff, b&0xffffffffffff)
}

func makeBudget(r *rng, withAmount bool) *budget {
	b := &budget{Attributes: attributes{ObjectType: "SpendingBudget"}}
	if withAmount {
		if r.intn(4) == 0 {
			b.Amount = json.RawMessage(fmt.Sprintf("%d.50", r.intn(5000)))
		} else {
			b.Amount = json.RawMessage(strconv.Itoa(10 * (1 + r.intn(500))))
		}
	}
	return b
}

// costText is a decimal as Partner Center's .NET decimals print: mostly many
// fractional digits, some zeros, integers and short fractions with trailing
// zeros, a few negatives (credits).
func costText(r *rng) string {
	switch k := r.intn(20); {
	case k < 2:
		return "0"
	case k < 4:
		return strconv.Itoa(r.intn(5000))
	case k < 7:
		return fmt.Sprintf("%d.%d0", r.intn(10000), r.intn(10))
	case k < 8:
		return fmt.Sprintf("-%d.%s", r.intn(100), r.digits(2))
	default:
		return fmt.Sprintf("%d.%s", magnitude(r), r.digits(16+r.intn(7)))
	}
}

// magnitude spreads integer parts over 0..99999.
func magnitude(r *rng) int {
	return r.intn([]int{10, 100, 1000, 10000, 100000}[r.intn(5)])
}

func percentText(r *rng) string {
	if r.intn(4) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d.%02d", r.intn(700), r.intn(100))
}

// numberJSON is the JSON of a decimal text: a number, or a string when quoted.
func numberJSON(text string, quoted bool) json.RawMessage {
	if quoted {
		return json.RawMessage(`"` + text + `"`)
	}
	return json.RawMessage(text)
}

// modifiedDate is an RFC 3339 date-time with 7 fractional digits and an
// offset, like "2019-09-17T17:08:11.1433333+00:00".
func modifiedDate(r *rng) string {
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	instant := base.Add(time.Duration(r.intn(6*365*24*3600)) * time.Second)
	offset := offsets[r.intn(len(offsets))]
	zone := time.FixedZone(offset, offsetSeconds(offset))
	return instant.In(zone).Format("2006-01-02T15:04:05") + "." + r.digits(7) + offset
}

func offsetSeconds(offset string) int {
	hours, _ := strconv.Atoi(offset[1:3])
	minutes, _ := strconv.Atoi(offset[4:6])
	seconds := hours*3600 + minutes*60
	if offset[0] == '-' {
		return -seconds
	}
	return seconds
}

// Command upstream is the neutral fast stand-in for Partner Center that
// bench/compare measures against: it renders every page of
// GET /v1/customers/usagerecords into memory at start, then serves them over
// HTTP/1.1 on loopback, so that fetching a page costs only the transfer.
//
//	upstream [--records=200000] [--page_size=100] [--listen=127.0.0.1:0] [--port_file=FILE]
//
// GET /v1/customers/usagerecords is the first page; the next ones are
// GET /v1/customers/usagerecords?seekOperation=Next with the
// MS-ContinuationToken header that the previous page's links.next names. Any
// "Authorization: Bearer <token>" is accepted. GET /bench/expected returns
// the figures every contender must reproduce: the record count and, per
// currency group (currencyCode, else "locale:<currencyLocale>"), the record
// count and the exact sum of totalCost, computed from the decimal text. The
// same JSON is printed on stdout once the server is listening, before the
// port is written to --port_file. GET /bench/requests counts the usage-records
// requests answered so far: {"usage_requests": N}.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("upstream", flag.ContinueOnError)
	records := flags.Int("records", 200000, "number of usage records to serve")
	pageSize := flags.Int("page_size", 100, "records per page")
	listen := flags.String("listen", "127.0.0.1:0", "loopback `host:port` to serve on (port 0: a free one)")
	portFile := flags.String("port_file", "", "file to write the bound port to once serving")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *records < 0 || *pageSize < 1 {
		return errors.New("--records must be >= 0 and --page_size >= 1")
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}

	start := time.Now()
	data, err := newDataset(*records, *pageSize)
	if err != nil {
		return err
	}
	data.expected.RenderS = time.Since(start).Seconds()

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	expected, err := json.Marshal(data.expected)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", expected)
	if *portFile != "" {
		port := listener.Addr().(*net.TCPAddr).Port
		if err := writeFileAtomically(*portFile, strconv.Itoa(port)+"\n"); err != nil {
			return err
		}
	}
	server := &http.Server{Handler: data.handler(expected), ReadHeaderTimeout: 30 * time.Second}
	return server.Serve(listener)
}

// checkLoopback refuses to listen anywhere but on this machine.
func checkLoopback(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen=%s: only loopback addresses are allowed", address)
	}
	return nil
}

// writeFileAtomically writes content to path so that a reader never sees a
// partial file.
func writeFileAtomically(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".port-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (d *dataset) handler(expected []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+usageRecordsPath, d.serveUsageRecords)
	mux.HandleFunc("GET /bench/expected", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, expected)
	})
	mux.HandleFunc("GET /bench/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(fmt.Sprintf(`{"usage_requests": %d}`, d.served.Load())))
	})
	return mux
}

// serveUsageRecords answers the first page, or the page a continuation token
// names.
func (d *dataset) serveUsageRecords(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(auth, "Bearer "); !ok || strings.TrimSpace(token) == "" {
		writeError(w, http.StatusUnauthorized, "Authorization: Bearer <token> is required")
		return
	}
	index := 0
	if r.URL.Query().Get("seekOperation") == "Next" {
		token := r.Header.Get(tokenHeader)
		var ok bool
		if index, ok = d.tokens[token]; !ok {
			writeError(w, http.StatusBadRequest, "unknown or missing "+tokenHeader)
			return
		}
	}
	d.served.Add(1)
	writeJSON(w, http.StatusOK, d.pages[index])
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeError answers with Partner Center's error shape.
func writeError(w http.ResponseWriter, status int, description string) {
	body, _ := json.Marshal(map[string]any{
		"code":        status,
		"description": description,
		"errorName":   http.StatusText(status),
	})
	writeJSON(w, status, body)
}

// Command testsummary reads `go test -json` events on stdin, prints the test
// output they carry (what `go test -v` would print), and ends with the counts
// of passed, failed and skipped tests, subtests included:
//
//	go test -json ./... | testsummary [COUNTS_FILE]
//	...
//	passed=N failed=N skipped=N
//
// A package that fails without a failed test (a build error, a panic outside a
// test, a failing TestMain) counts as one failed test. With an argument, the
// counts line goes to that file instead of stdout. Used by run_tests.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// event is the part of a test2json event that matters here.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	passed, failed, skipped, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(1)
	}
	counts := fmt.Sprintf("passed=%d failed=%d skipped=%d\n", passed, failed, skipped)
	if len(os.Args) > 1 {
		err = os.WriteFile(os.Args[1], []byte(counts), 0o644)
	} else {
		_, err = fmt.Print(counts)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(1)
	}
}

func summarize(in io.Reader, out io.Writer) (passed, failed, skipped int, err error) {
	failedTests := map[string]int{} // per package
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for scanner.Scan() {
		line := scanner.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			// Not an event (e.g. a message of the go command): pass it on.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		switch e.Action {
		case "output", "build-output":
			fmt.Fprint(out, e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			}
		case "skip":
			if e.Test != "" {
				skipped++
			}
		case "fail":
			if e.Test != "" {
				failed++
				failedTests[e.Package]++
			} else if failedTests[e.Package] == 0 {
				fmt.Fprintf(out, "FAIL %s without a failed test: counted as one failure\n", e.Package)
				failed++
			}
		}
	}
	return passed, failed, skipped, scanner.Err()
}

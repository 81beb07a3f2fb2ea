package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"a"}`,
		`{"Action":"run","Package":"a","Test":"TestA"}`,
		`{"Action":"output","Package":"a","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"a","Test":"TestA/sub"}`,
		`{"Action":"fail","Package":"a","Test":"TestA/other"}`,
		`{"Action":"fail","Package":"a","Test":"TestA"}`,
		`{"Action":"skip","Package":"a","Test":"TestB"}`,
		`{"Action":"fail","Package":"a"}`,
		`{"Action":"build-output","ImportPath":"b","Output":"b.go:1: syntax error\n"}`,
		`{"Action":"fail","Package":"b"}`,
		`{"Action":"pass","Package":"c","Test":"TestC"}`,
		`{"Action":"pass","Package":"c"}`,
		`go: downloading example.com/x v1.0.0`,
	}, "\n")
	var out bytes.Buffer
	passed, failed, skipped, err := summarize(strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	if passed != 2 || failed != 3 || skipped != 1 {
		t.Errorf("passed, failed, skipped = %d, %d, %d; want 2, 3, 1", passed, failed, skipped)
	}
	for _, want := range []string{"=== RUN   TestA\n", "b.go:1: syntax error\n", "FAIL b without a failed test", "go: downloading"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

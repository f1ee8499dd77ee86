package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// asmr bench serving checks its flags and files before starting anything.
func TestBenchServingFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-slots", "0"}, "-slots 0: want 1 or more"},
		{[]string{"-max-tokens", "-1"}, "-max-tokens -1: want 1 or more"},
		{[]string{"-clients", "1,four"}, `-clients "1,four": want client counts of 1 or more`},
		{[]string{"-clients", "0"}, `-clients "0"`},
		{[]string{"-limit", "21"}, "-limit 21: the classes hold 20 passages"},
		{[]string{"-weaviate", missing}, "-weaviate " + missing + ": stat"},
		{[]string{"-weaviate", "bench_test.go", "-ollama", missing}, "go build -o bin/ollama github.com/ollama/ollama"},
		{[]string{"-weaviate", "bench_test.go", "-ollama", "bench_test.go", "-model", missing}, "make model"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	} {
		err := runBench(context.Background(), append([]string{"serving"}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("asmr bench serving %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

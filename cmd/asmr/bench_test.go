package main

import (
	"context"
	"strings"
	"testing"
)

// asmr bench -concurrency checks its levels and counts before loading
// anything.
func TestBenchConcurrencyFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-concurrency", "1,0"}, `-concurrency "1,0": want levels of 1 or more`},
		{[]string{"-concurrency", "four"}, `-concurrency "four": want levels`},
		{[]string{"-concurrency", "1", "-requests", "0"}, "-rounds 5, -requests 0, -prompt-words 100, -gen-tokens 32: want 1 or more each"},
		{[]string{"-concurrency", "1", "-model", "/nonexistent.gguf"}, "no such file"},
	} {
		err := runBench(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("asmr bench %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

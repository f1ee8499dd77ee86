package reader

import (
	"context"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/steering"
)

// Concurrent runs every level with that many clients and counts every
// request's tokens; the report has a row per level.
func TestConcurrent(t *testing.T) {
	path, err := ModelFile(t.TempDir(), tinySpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConcurrentConfig{Model: path, Options: steering.Options{Threads: 2, ContextSize: 256},
		Concurrency: []int{1, 3}, Requests: 2, PromptWords: 10, GenTokens: 4}
	ts, err := Concurrent(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("%d levels measured, want 2", len(ts))
	}
	for i, c := range []int{1, 3} {
		got := ts[i]
		if got.Concurrency != c || got.Requests != 2*c || got.GenTokens == 0 || got.PromptTokens < 10*2*c || got.GenTPS <= 0 {
			t.Errorf("level %d: %+v", c, got)
		}
	}
	rep := ConcurrentReport(cfg, ts)
	if !strings.Contains(rep, "| 1 | 2 |") || !strings.Contains(rep, "| 3 | 6 |") {
		t.Errorf("report:\n%s", rep)
	}
	if wordsPrompt(1, 10) == wordsPrompt(2, 10) || len(strings.Fields(wordsPrompt(3, 10))) != 12 {
		t.Errorf("prompts: %q %q", wordsPrompt(1, 10), wordsPrompt(2, 10))
	}
}

package reader

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/steering"
)

// Concurrent runs every level with that many clients, unsteered and
// steered, every round, and counts every request's tokens; the report has
// a row per level and a column pair per level in the rounds.
func TestConcurrent(t *testing.T) {
	path, err := ModelFile(t.TempDir(), tinySpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConcurrentConfig{Model: path, Options: steering.Options{Threads: 2, ContextSize: 256},
		Concurrency: []int{1, 3}, Rounds: 2, Requests: 2, PromptWords: 10, GenTokens: 4, SteerHeads: 3, Settle: -1}
	levels, err := Concurrent(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 2 {
		t.Fatalf("%d levels measured, want 2", len(levels))
	}
	for i, c := range []int{1, 3} {
		l := levels[i]
		if l.Concurrency != c || len(l.Unsteered) != 2 || len(l.Steered) != 2 {
			t.Fatalf("level %d: %d unsteered and %d steered measurements, want 2 each", c, len(l.Unsteered), len(l.Steered))
		}
		for _, got := range append(l.Unsteered, l.Steered...) {
			if got.Concurrency != c || got.Requests != 2*c || got.GenTokens == 0 || got.PromptTokens < 10*2*c || got.GenTPS <= 0 {
				t.Errorf("level %d: %+v", c, got)
			}
		}
	}
	rep := ConcurrentReport(cfg, levels)
	for _, want := range []string{"| 1 | ", "| 3 | ", "steered / unsteered", "3 concurrent, steered (each request differently) / unsteered: ", "target >= 0.95", "| 2 | "} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if wordsPrompt(1, 10) == wordsPrompt(2, 10) || len(strings.Fields(wordsPrompt(3, 10))) != 12 {
		t.Errorf("prompts: %q %q", wordsPrompt(1, 10), wordsPrompt(2, 10))
	}
}

// With the peer's measurements the report compares ours with ollama at
// every level and states the targets met and missed.
func TestConcurrentReportWithPeer(t *testing.T) {
	tp := func(c int, v Variant, tps ...float64) []Throughput {
		var ts []Throughput
		for _, x := range tps {
			ts = append(ts, Throughput{Concurrency: c, Variant: v, Requests: 1, GenTPS: x, MeanLatency: time.Second})
		}
		return ts
	}
	levels := []*Level{
		{Concurrency: 1, Unsteered: tp(1, Unsteered, 50, 60), Steered: tp(1, Steered, 54, 56), Ollama: tp(1, Ollama, 40, 50)},
		{Concurrency: 4, Unsteered: tp(4, Unsteered, 100, 120), Steered: tp(4, Steered, 100, 100), Ollama: tp(4, Ollama, 90, 90)},
	}
	levels[1].Ollama[1].Requests, levels[1].Ollama[1].Failed, levels[1].Ollama[1].FirstError = 3, 1, "response not done"
	levels[1].Steered[0].OtherCPUs = 0.6
	rep := ConcurrentReport(ConcurrentConfig{Model: "m.gguf", Concurrency: []int{1, 4}, Rounds: 2, Requests: 1, PromptWords: 5, GenTokens: 8}, levels)
	for _, want := range []string{
		"| 1 | 55.00 | 55.00 | 1.000 | 1.00 | 1.00 | 1.00 | 0 | 0.00 | 45.00 | 1.00 | 1.222 | 1.222 | 0 of 2 |",
		"| 4 | 110.00 | 100.00 | 0.909 | 2.00 | 1.82 | 1.00 | 0 | 0.00 | 90.00 | 2.00 | 1.222 | 1.111 | 1 of 5 |",
		"4 concurrent / 1 request, unsteered: 2.00 (target >= 2.50: MISSED)",
		"(ollama serve on the same load: 4 concurrent / 1 request 2.00)",
		"4 concurrent, steered (each request differently) / unsteered: 0.909 (target >= 0.95: MISSED)",
		"1 request(s), ours unsteered / ollama serve: 1.222 (target >= 1.00: met)",
		"| 2 | 60.00 | 56.00 | 50.00 | 120.00 | 100.00 | 90.00 |",
		"ollama, 4 concurrent: 1 of 4 requests failed (not counted in its tokens/s), the first with: response not done",
		"**Other work shared the cores:** up to 0.60 CPUs",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

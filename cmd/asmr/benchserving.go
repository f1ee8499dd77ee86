package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/asmr-search/generative-asmr/bench/serving"
)

// runBenchServing is `asmr bench serving`: generative-asmr against
// generative-ollama + `ollama serve` in one weaviate-asmr (bench/serving),
// printed and written to -out.
func runBenchServing(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("asmr bench serving", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: asmr bench serving [-weaviate bin/weaviate-asmr] [-ollama bin/ollama] [-model GGUF] [flags]\n\n"+
			"Compare, in one weaviate-asmr process, a class served by generative-asmr with one served by\n"+
			"generative-ollama talking to ollama serve: groupedResult latency and singleResult queries/s.\n\nflags:\n")
		fs.PrintDefaults()
	}
	weaviateBin := fs.String("weaviate", "bin/weaviate-asmr", "weaviate-asmr binary (make server)")
	ollamaBin := fs.String("ollama", "bin/ollama", "ollama binary built from the pinned module (go build -o bin/ollama github.com/ollama/ollama)")
	model := fs.String("model", ".cache/models/gemma-3-270m-q4_k_m.gguf", "Gemma 3 270M GGUF both sides serve (make model)")
	work := fs.String("work", ".cache/bench-serving", "work folder, emptied first: the node's data and log, ollama's store and log")
	out := fs.String("out", "bench/serving.md", "report to write (empty: print only)")
	slots := fs.Int("slots", 4, "sequences at once: our slots and ollama's OLLAMA_NUM_PARALLEL")
	threads := fs.Int("threads", runtime.NumCPU(), "decoding threads on both sides (default: every CPU)")
	ctxSize := fs.Int("ctx", 2048, "context per sequence: our contextSize and ollama's num_ctx")
	maxTokens := fs.Int("max-tokens", 48, "most tokens per answer: our maxTokens and ollama's num_predict")
	rounds := fs.Int("rounds", 5, "interleaved rounds (the report gives medians)")
	groupedQueries := fs.Int("grouped-queries", 4, "groupedResult queries per latency measurement, one after another")
	groupedLimit := fs.Int("grouped-limit", 5, "passages per groupedResult query (nearVector limit)")
	clients := fs.String("clients", "1,4", "comma-separated client counts of the singleResult throughput measurements")
	perClient := fs.Int("queries-per-client", 3, "singleResult queries each client sends back to back per measurement")
	limit := fs.Int("limit", 10, "objects per singleResult query (one generation each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see asmr bench serving -h)", fs.Arg(0))
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"slots", *slots}, {"threads", *threads}, {"ctx", *ctxSize}, {"max-tokens", *maxTokens}, {"rounds", *rounds},
		{"grouped-queries", *groupedQueries}, {"grouped-limit", *groupedLimit}, {"queries-per-client", *perClient}, {"limit", *limit},
	} {
		if f.v < 1 {
			return fmt.Errorf("-%s %d: want 1 or more", f.name, f.v)
		}
	}
	if n := serving.Passages(); *groupedLimit > n || *limit > n {
		return fmt.Errorf("-grouped-limit %d, -limit %d: the classes hold %d passages; want %d or fewer each", *groupedLimit, *limit, n, n)
	}
	cs, err := parseCounts("clients", *clients, "client counts", ", e.g. 1,4")
	if err != nil {
		return err
	}
	for _, f := range []struct{ flag, path, fix string }{
		{"weaviate", *weaviateBin, "build it with make server"},
		{"ollama", *ollamaBin, "build it with go build -o bin/ollama github.com/ollama/ollama (make bench-serving does)"},
		{"model", *model, "fetch it with make model"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("-%s %s: %w; %s", f.flag, f.path, err, f.fix)
		}
	}
	cfg := serving.Config{
		Weaviate: *weaviateBin, Ollama: *ollamaBin, Model: *model, Work: *work,
		Slots: *slots, Threads: *threads, ContextSize: *ctxSize, MaxTokens: *maxTokens, Rounds: *rounds,
		GroupedQueries: *groupedQueries, GroupedLimit: *groupedLimit, Clients: cs, SingleQueries: *perClient, SingleLimit: *limit,
		Log: os.Stdout,
	}
	report, err := serving.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return printReport(report, *out)
}

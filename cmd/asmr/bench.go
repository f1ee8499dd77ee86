package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/asmr-search/generative-asmr/bench/reader"
)

// runBench measures our reader unsteered and steered, and `ollama serve`
// built from the pinned module, on -model or a synthetic GGUF with the same
// threads and context (bench/reader), and writes the report to -out. With
// -concurrency it measures serving throughput instead: generated tokens
// per second with that many requests at a time, unsteered and each request
// steered differently, in interleaved rounds (bench/reader.Concurrent).
func runBench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "serving" {
		return runBenchServing(ctx, args[1:])
	}
	fs := newFlags("bench", "[-ollama bin/ollama] [flags]")
	var sf specFlags
	sf.register(fs, "tinyllama")
	var rf readerFlags
	rf.register(fs)
	ollamaBin := fs.String("ollama", "", "ollama binary built from the pinned module (empty = skip the peer)")
	work := fs.String("work", ".cache/bench", "folder for the model and the peer's store and log")
	out := fs.String("out", "bench/results.md", "report to write (with -concurrency: written only when given)")
	rounds := fs.Int("rounds", 5, "interleaved rounds")
	promptTokens := fs.Int("prompt-tokens", 128, "prompt length in bytes of text: tokens on the synthetic model (its vocabulary is byte-level), fewer on a real model (the report gives the count)")
	genTokens := fs.Int("gen-tokens", 32, "tokens to generate per run")
	concurrency := fs.String("concurrency", "", "comma-separated levels, e.g. 1,4,10: measure throughput with that many concurrent requests instead, in one context of the highest level's slots (threads: -threads in all)")
	model := fs.String("model", "", "a GGUF file to measure (empty = the synthetic model of the shape flags)")
	requests := fs.Int("requests", 2, "with -concurrency: requests per concurrent client, back to back")
	promptWords := fs.Int("prompt-words", 100, "with -concurrency: words per prompt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if rf.threads == 0 {
		rf.threads = runtime.NumCPU() // ollama gets the same count
	}
	if *concurrency != "" {
		// The report goes to -out only when it is given: the default is
		// the reader benchmark's report.
		outSet := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "out" {
				outSet = *out
			}
		})
		return benchConcurrent(ctx, sf, rf, *concurrency, *model, *ollamaBin, *work, outSet, *rounds, *requests, *promptWords, *genTokens)
	}
	spec, err := sf.spec()
	if err != nil {
		return err
	}
	opts, err := rf.options()
	if err != nil {
		return err
	}
	report, err := reader.Run(ctx, reader.Config{
		Model: *model, Spec: spec, Options: opts, Ollama: *ollamaBin, Work: *work,
		Rounds: *rounds, PromptTokens: *promptTokens, GenTokens: *genTokens, Log: os.Stdout,
	})
	if err != nil {
		return err
	}
	return printReport(report, *out)
}

// benchConcurrent is runBench with -concurrency.
func benchConcurrent(ctx context.Context, sf specFlags, rf readerFlags, levels, model, ollamaBin, work, out string, rounds, requests, promptWords, genTokens int) error {
	cs, err := parseCounts("concurrency", levels, "levels", "")
	if err != nil {
		return err
	}
	if rounds < 1 || requests < 1 || promptWords < 1 || genTokens < 1 {
		return fmt.Errorf("-rounds %d, -requests %d, -prompt-words %d, -gen-tokens %d: want 1 or more each", rounds, requests, promptWords, genTokens)
	}
	opts, err := rf.options()
	if err != nil {
		return err
	}
	if model == "" {
		spec, err := sf.spec()
		if err != nil {
			return err
		}
		if model, err = reader.ModelFile(work, spec, os.Stdout); err != nil {
			return err
		}
	}
	cfg := reader.ConcurrentConfig{Model: model, Ollama: ollamaBin, Work: work, Options: opts, Concurrency: cs, Rounds: rounds, Requests: requests,
		PromptWords: promptWords, GenTokens: genTokens, Command: commandLine(), Log: os.Stdout}
	measured, err := reader.Concurrent(ctx, cfg)
	if err != nil {
		return err
	}
	return printReport(reader.ConcurrentReport(cfg, measured), out)
}

// parseCounts parses flag's comma-separated value of counts of 1 or more
// (what they are, for the error, and an example to add to it).
func parseCounts(flag, value, what, example string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s %q: want %s of 1 or more, comma-separated%s", flag, value, what, example)
		}
		out = append(out, n)
	}
	return out, nil
}

// commandLine is how this process was started, as a report names its
// source: asmr and its arguments, each quoted where the shell needs it.
func commandLine() string {
	parts := []string{"asmr"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/asmr-search/generative-asmr/bench/reader"
)

// runBench measures our reader unsteered and steered, and `ollama serve`
// built from the pinned module, on one synthetic GGUF with the same threads
// and context (bench/reader), and writes the report to -out.
func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "[-ollama bin/ollama] [flags]")
	var sf specFlags
	sf.register(fs, "tinyllama")
	var rf readerFlags
	rf.register(fs)
	ollamaBin := fs.String("ollama", "", "ollama binary built from the pinned module (empty = skip the peer)")
	work := fs.String("work", ".cache/bench", "folder for the model and the peer's store and log")
	out := fs.String("out", "bench/results.md", "report to write")
	rounds := fs.Int("rounds", 5, "interleaved rounds")
	promptTokens := fs.Int("prompt-tokens", 128, "prompt length in tokens (bytes: the model's vocabulary is byte-level)")
	genTokens := fs.Int("gen-tokens", 32, "tokens to generate per run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if rf.threads == 0 {
		rf.threads = runtime.NumCPU()
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
		Spec: spec, Options: opts, Ollama: *ollamaBin, Work: *work,
		Rounds: *rounds, PromptTokens: *promptTokens, GenTokens: *genTokens, Log: os.Stdout,
	})
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(report), 0o644)
}

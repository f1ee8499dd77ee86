package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	clusterbench "github.com/asmr-search/generative-asmr/bench/cluster"
)

// clusterBench is `asmr cluster bench`: grouped-generate throughput on one
// node and on N nodes (bench/cluster), printed and written to -out.
func clusterBench(ctx context.Context, args []string) error {
	fset := clusterFlags("bench", "[-nodes 3] [-queries 36] [-concurrency 6] [flags]")
	var sf specFlags
	sf.register(fset, "tiny")
	nodes := fset.Int("nodes", 3, "nodes of the cluster compared with one node")
	queries := fset.Int("queries", 36, "grouped generate queries per measurement")
	conc := fset.Int("concurrency", 6, "queries in flight at once (over all nodes)")
	slots := fset.Int("slots", 2, "slots per node")
	threads := fset.Int("threads", 1, "decoding threads per slot")
	rounds := fset.Int("rounds", 3, "interleaved rounds (the report gives medians)")
	maxTokens := fset.Int("max-tokens", 32, "tokens generated per query (the bench model never ends early)")
	passages := fset.Int("passages", 3, "passages per grouped query (nearVector limit)")
	modelPath := fset.String("model", "", "GGUF to serve (default: a synthetic model written into -dir, shape from the model flags; without any, 8 layers x 8 heads x d_h 64, F16)")
	dir := fset.String("dir", ".cache/cluster-bench", "work folder (nodes' data and logs, model, ops file)")
	bin := fset.String("bin", "bin/weaviate-asmr", "weaviate-asmr binary")
	out := fset.String("out", "bench/cluster.md", "report to write (empty: print only)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *nodes < 2 || *queries < 1 || *conc < 1 || *slots < 1 || *threads < 1 || *passages < 1 || *rounds < 1 {
		return errors.New("want -nodes >= 2 and positive -queries, -concurrency, -slots, -threads, -passages, -rounds")
	}
	cfg := clusterbench.Config{
		Nodes: *nodes, Queries: *queries, Concurrency: *conc, Slots: *slots, Threads: *threads, Rounds: *rounds,
		MaxTokens: *maxTokens, Passages: *passages, Model: *modelPath, Dir: *dir, Bin: *bin, Log: os.Stdout,
	}
	if *modelPath == "" {
		shapeSet := false
		fset.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "shape", "layers", "heads", "kv-heads", "head-dim", "ffn", "vocab", "type":
				shapeSet = true
			}
		})
		if !shapeSet {
			d := clusterbench.DefaultSpec()
			sf.layers, sf.heads, sf.kvHeads, sf.headDim, sf.ffn, sf.typ = d.Layers, d.Heads, d.KVHeads, d.HeadDim, d.FFN, d.Type.String()
		}
		spec, err := sf.spec()
		if err != nil {
			return err
		}
		cfg.Spec = spec
	}
	report, err := clusterbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return printReport(report, *out)
}

// printReport prints a benchmark's report and writes it to out, unless out
// is empty.
func printReport(report, out string) error {
	fmt.Println()
	fmt.Print(report)
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", out)
	return nil
}

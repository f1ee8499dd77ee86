// Package cluster measures grouped-generate throughput of weaviate-asmr
// on one node and on a local cluster of N nodes (internal/localcluster),
// for `asmr cluster bench` (make bench-cluster): the same queries, the
// same concurrency and the same slots per node, plus one node with the
// cluster's total slots, which separates the cluster's own cost from the
// effect of having more slots. The setups run side by side and are
// measured in interleaved rounds; the report (Markdown, bench/cluster.md)
// gives medians.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/internal/opsfile"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// Config is one benchmark. Every count must be positive, and Nodes at
// least 2.
type Config struct {
	// Nodes is the node count of the cluster compared with one node.
	Nodes int
	// Queries are the grouped generate queries per measurement, Concurrency
	// how many are in flight at once (over all nodes).
	Queries, Concurrency int
	// Slots per node and decoding Threads per slot.
	Slots, Threads int
	// Rounds of interleaved measurements; the report gives medians.
	Rounds int
	// MaxTokens generated per answer; Passages per grouped query (the
	// nearVector limit).
	MaxTokens, Passages int
	// Model is the GGUF served; "" writes a synthetic model of Spec into
	// Dir (see SyntheticModel).
	Model string
	Spec  testmodel.Spec
	// Dir is the work folder: the nodes' data and logs, the model, the
	// ops file. Bin is the weaviate-asmr binary.
	Dir, Bin string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// setup is one measured configuration.
type setup struct {
	name         string
	nodes, slots int
	cluster      *localcluster.Cluster
	clients      []*weaviate.Client // one per node
	runs         []result
}

// Run starts the three setups (one node with cfg.Slots, one node with
// cfg.Nodes x cfg.Slots, cfg.Nodes nodes with cfg.Slots each), loads the
// passages into each, measures them in cfg.Rounds interleaved rounds and
// returns the report. The nodes are stopped before Run returns.
func Run(ctx context.Context, cfg Config) (string, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	modelPath, modelDesc := cfg.Model, cfg.Model
	if modelPath == "" {
		if modelPath, modelDesc, err = SyntheticModel(dir, cfg.Spec); err != nil {
			return "", err
		}
	}
	if modelPath, err = filepath.Abs(modelPath); err != nil {
		return "", err
	}
	ops := filepath.Join(dir, "asmr.yaml")
	if err := opsfile.Write(ops, "Written by asmr cluster bench (slots are set per cluster with ASMR_SLOTS).", benchOps(modelPath, cfg)); err != nil {
		return "", err
	}

	l := &load{queries: cfg.Queries, conc: cfg.Concurrency, passages: cfg.Passages}
	setups := []*setup{
		{name: fmt.Sprintf("1 node, %d slots", cfg.Slots), nodes: 1, slots: cfg.Slots},
		{name: fmt.Sprintf("1 node, %d slots (the cluster's total)", cfg.Nodes*cfg.Slots), nodes: 1, slots: cfg.Nodes * cfg.Slots},
		{name: fmt.Sprintf("%d nodes, %d slots each", cfg.Nodes, cfg.Slots), nodes: cfg.Nodes, slots: cfg.Slots},
	}
	for _, s := range setups {
		d := filepath.Join(dir, fmt.Sprintf("n%d-s%d", s.nodes, s.slots))
		if err := os.RemoveAll(d); err != nil {
			return "", err
		}
		fmt.Fprintf(cfg.Log, "starting %s in %s ...\n", s.name, d)
		c, err := localcluster.New(localcluster.Config{
			Bin: cfg.Bin, Dir: d, Nodes: s.nodes,
			Env:  map[string]string{config.EnvConfig: ops, config.EnvSlots: fmt.Sprint(s.slots), config.EnvThreads: ""},
			Logf: func(f string, a ...any) { fmt.Fprintf(cfg.Log, "  "+f+"\n", a...) },
		})
		if err != nil {
			return "", err
		}
		defer c.Stop()
		if err := c.Start(ctx); err != nil {
			return "", err
		}
		s.cluster = c
		for _, n := range c.Nodes {
			wc, err := weaviatehttp.New(n.URL(), nil, 10*time.Minute)
			if err != nil {
				return "", err
			}
			s.clients = append(s.clients, wc)
		}
		if err := l.setup(ctx, s); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
	}
	for r := 0; r < cfg.Rounds; r++ {
		for k := range setups {
			s := setups[(k+r)%len(setups)] // rotate the order
			res, err := l.measure(ctx, s)
			if err != nil {
				return "", fmt.Errorf("%s: %w", s.name, err)
			}
			s.runs = append(s.runs, res)
			fmt.Fprintf(cfg.Log, "round %d, %s: %d queries in %.1f s = %.2f queries/s (%.1f tokens/s), median latency %.2f s, nodes used %.2f CPUs, machine busy %.0f%%, %d errors\n",
				r+1, s.name, res.queries, res.wall.Seconds(), res.qps(), res.tps(), res.median().Seconds(), res.nodesCPU, res.cpuBusy*100, res.errors)
		}
	}
	return report(setups, modelDesc, cfg), nil
}

// benchOps serves the model as "bench"; the slots of each setup are set
// with ASMR_SLOTS.
func benchOps(modelPath string, cfg Config) *config.Ops {
	queue, maxTokens := 64, cfg.MaxTokens
	return &config.Ops{
		Models:    map[string]*config.ModelConfig{"bench": {Path: modelPath, Threads: cfg.Threads, ContextSize: 2048, Slots: cfg.Slots}},
		Defaults:  config.Options{MaxTokens: &maxTokens},
		Limits:    config.Limits{QueueLength: &queue, RequestTimeout: &config.Duration{Duration: 5 * time.Minute}},
		Languages: []string{"en", "de", "fr", "es"},
	}
}

// DefaultSpec is the synthetic model the benchmark serves when it is given
// neither a GGUF nor a shape: 8 layers of 8 heads (4 KV heads, d_h 64), FFN
// 1536, F16 weights, big enough that decoding, not the server, dominates a
// query, and small enough for a 2-core machine.
func DefaultSpec() testmodel.Spec {
	return testmodel.Spec{Layers: 8, Heads: 8, KVHeads: 4, HeadDim: 64, FFN: 1536, Type: testmodel.F16}
}

// SyntheticModel writes (once) a GGUF of spec with random weights into
// dir and returns its path and a description for the report. Its
// end-of-text logit row is zero, so every answer is exactly MaxTokens long
// and every setup decodes the same work.
func SyntheticModel(dir string, spec testmodel.Spec) (path, desc string, err error) {
	spec.Name = "asmr-cluster-bench"
	path = filepath.Join(dir, fmt.Sprintf("bench-%dL-%dH-%dkv-%dd-ffn%d-%s-seed%d.gguf", spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Type, spec.Seed))
	if _, err := os.Stat(path); err != nil {
		w := testmodel.Random(spec)
		e := spec.Embd()
		clear(w.Output[testmodel.EOS*e : (testmodel.EOS+1)*e])
		if err := testmodel.Write(path, spec, w); err != nil {
			return "", "", fmt.Errorf("write the bench model: %w", err)
		}
	}
	desc = fmt.Sprintf("synthetic llama model with random weights (%d layers, %d heads, %d KV heads, d_h %d, FFN %d, %s, byte vocabulary; end-of-text never sampled)",
		spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Type)
	return path, desc, nil
}

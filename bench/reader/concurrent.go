package reader

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/asmr-search/generative-asmr/steering"
)

// ConcurrentConfig measures serving throughput: the model is loaded once
// per level of Concurrency with that many slots, and as many clients send
// Requests generations each, back to back, every one with a prompt of its
// own (the prompt cache is off) and greedy sampling.
type ConcurrentConfig struct {
	// Model is a GGUF file (a real model, or one Run wrote).
	Model string
	// Options load the model; Slots is set to each level in turn. Threads
	// 0 keeps steering's default for the slots.
	Options steering.Options
	// Concurrency lists the levels, e.g. 1, 4, 10.
	Concurrency []int
	// Requests per client; PromptWords and GenTokens per request.
	Requests, PromptWords, GenTokens int
	// Steer, when set, steers every request.
	Steer *steering.Steer
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Throughput is one level's measurement.
type Throughput struct {
	Concurrency, Requests             int
	PromptTokens, GenTokens           int // in all
	Wall                              time.Duration
	MeanLatency, MaxLatency           time.Duration
	GenTPS, PromptTPS, RequestsPerSec float64
}

// Concurrent runs the levels of cfg one after another and returns their
// measurements.
func Concurrent(ctx context.Context, cfg ConcurrentConfig) ([]Throughput, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	var out []Throughput
	for _, c := range cfg.Concurrency {
		t, err := concurrentLevel(ctx, cfg, c)
		if err != nil {
			return out, fmt.Errorf("%d concurrent requests: %w", c, err)
		}
		fmt.Fprintf(cfg.Log, "%2d concurrent: %3d requests, %5d prompt + %5d generated tokens in %6.1f s: %7.2f generated tok/s, %7.1f prompt tok/s, latency mean %.1f s, max %.1f s\n",
			t.Concurrency, t.Requests, t.PromptTokens, t.GenTokens, t.Wall.Seconds(), t.GenTPS, t.PromptTPS, t.MeanLatency.Seconds(), t.MaxLatency.Seconds())
		out = append(out, t)
	}
	return out, nil
}

func concurrentLevel(ctx context.Context, cfg ConcurrentConfig, c int) (Throughput, error) {
	o := cfg.Options
	o.Slots = c
	o.PromptCache = false
	m, err := steering.Load(cfg.Model, o)
	if err != nil {
		return Throughput{}, err
	}
	defer m.Close()
	p := steering.Params{Raw: true, MaxTokens: cfg.GenTokens, Steer: cfg.Steer}
	// One warm-up request: page in the weights and build the graphs.
	if _, err := m.Generate(ctx, wordsPrompt(-1, cfg.PromptWords), p); err != nil {
		return Throughput{}, fmt.Errorf("warm-up: %w", err)
	}
	var (
		mu      sync.Mutex
		t       = Throughput{Concurrency: c}
		latency time.Duration
		first   error
		wg      sync.WaitGroup
	)
	start := time.Now()
	for client := range c {
		wg.Go(func() {
			for r := range cfg.Requests {
				t0 := time.Now()
				res, err := m.Generate(ctx, wordsPrompt(client*cfg.Requests+r, cfg.PromptWords), p)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					first = cmpErr(first, err)
				} else {
					t.Requests++
					t.PromptTokens += res.PromptTokens
					t.GenTokens += res.CompletionTokens
					latency += d
					t.MaxLatency = max(t.MaxLatency, d)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Wall = time.Since(start)
	if first != nil {
		return t, first
	}
	if t.Requests > 0 {
		t.MeanLatency = latency / time.Duration(t.Requests)
	}
	secs := t.Wall.Seconds()
	t.GenTPS, t.PromptTPS, t.RequestsPerSec = float64(t.GenTokens)/secs, float64(t.PromptTokens)/secs, float64(t.Requests)/secs
	return t, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// ConcurrentReport is the Markdown table of the measurements.
func ConcurrentReport(cfg ConcurrentConfig, ts []Throughput) string {
	var b strings.Builder
	o := cfg.Options
	fmt.Fprintf(&b, "# Serving throughput\n\n")
	fmt.Fprintf(&b, "- Model %s; %d CPUs; threads %d (0: steering's default), context %d, batch %d, flash attention %s\n",
		cfg.Model, runtime.NumCPU(), o.Threads, o.ContextSize, o.BatchSize, flashName(o.FlashAttention))
	fmt.Fprintf(&b, "- Each level: that many slots and clients, %d requests per client back to back, prompts of %d words each its own, %d generated tokens at most, greedy, %s\n\n",
		cfg.Requests, cfg.PromptWords, cfg.GenTokens, map[bool]string{true: "steered", false: "unsteered"}[cfg.Steer != nil])
	fmt.Fprintf(&b, "| concurrent | requests | prompt tokens | generated tokens | wall s | generated tok/s | prompt tok/s | mean latency s | max latency s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %.1f | %.2f | %.1f | %.1f | %.1f |\n",
			t.Concurrency, t.Requests, t.PromptTokens, t.GenTokens, t.Wall.Seconds(), t.GenTPS, t.PromptTPS, t.MeanLatency.Seconds(), t.MaxLatency.Seconds())
	}
	return b.String()
}

// wordsPrompt is a prompt of n words, different for every i from its
// first word on, so that no request reuses another's cells.
func wordsPrompt(i, n int) string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog while the committee reviews the annual report on river water quality and the mayor opens a new library near the old harbour")
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d.", i)
	for k := range n {
		b.WriteString(" ")
		b.WriteString(words[(k*7+i*3+len(words))%len(words)])
	}
	return b.String()
}

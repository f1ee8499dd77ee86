// Package reader measures the steered reader's speed for `asmr bench`
// (make bench-reader): prefill and decode tokens per second of our reader
// unsteered, steering 64 heads over 16 layers and steering every head,
// and of `ollama serve` built from the pinned module (bench/ollamapeer),
// on one synthetic GGUF with the same threads and context. Runs are
// interleaved round by round, the order rotating, and the report
// (Markdown, bench/results.md) gives medians, because a shared machine's
// noise is about ±5%.
package reader

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// Config is one benchmark.
type Config struct {
	// Model is a GGUF file to measure (a real model); "" writes a
	// synthetic model of Spec once into Work and measures that.
	Model string
	// Spec is the synthetic model's shape when Model is "".
	Spec testmodel.Spec
	// Options load our reader; the peer gets the same Threads (which must
	// be set) and ContextSize.
	Options steering.Options
	// Ollama is the ollama binary of the peer; "" leaves the peer out.
	Ollama string
	// Work holds the model and the peer's store and log.
	Work string
	// Rounds of interleaved runs after one warm-up run each; PromptTokens
	// and GenTokens per run.
	Rounds, PromptTokens, GenTokens int
	// Settle is the pause before each run (see pause): 0 = one second,
	// negative = none. Without it, a run right after ollama's measured
	// 20% slower prefill: ollama's runner answers before it is idle.
	Settle time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// setup is one way of running the same prompt.
type setup struct {
	name  string
	steer *steering.Steer // ours, steered when set
	peer  bool            // ollama serve instead of ours
	heads int             // steered heads
	note  string          // shown in the report
	runs  []sample        // one per round
}

// sample is one run's speed.
type sample struct {
	promptTokens, genTokens int
	prefill, decode         float64 // tokens per second
}

// Run writes the model (once), measures every setup and returns the
// report.
func Run(ctx context.Context, cfg Config) (string, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return "", err
	}
	modelPath := cfg.Model
	if modelPath == "" {
		var err error
		if modelPath, err = ModelFile(cfg.Work, cfg.Spec, cfg.Log); err != nil {
			return "", err
		}
	}
	// Prefill is measured on whole prompts: every run's prompt differs
	// from its first token on, and no cell of a previous run is reused.
	opts := cfg.Options
	opts.PromptCache = false
	m, err := steering.Load(modelPath, opts)
	if err != nil {
		return "", err
	}
	defer m.Close()
	sh := m.Shape()

	// 64 heads over 16 layers (4 per layer, centred), and every head of
	// every layer: the split cost depends on steered layers, not heads.
	mid := max(0, (sh.Layers-16)/2)
	var some []steering.Head
	for l := mid; l < min(sh.Layers, mid+16); l++ {
		for h := range min(4, sh.Heads) {
			some = append(some, steering.Head{Layer: l, Head: h * max(1, sh.Heads/4)})
		}
	}
	every := everyHead(sh)
	setups := []*setup{
		{name: "ours, unsteered"},
		{name: fmt.Sprintf("ours, %d heads over %d layers", len(some), len(layersOf(some))), steer: randomSteer(sh, some), heads: len(some)},
		{name: fmt.Sprintf("ours, every head of every layer (%d)", len(every)), steer: randomSteer(sh, every), heads: len(every)},
	}
	run := func(s *setup, prompt string) (sample, error) {
		return runOurs(ctx, m, s, prompt, cfg.GenTokens)
	}
	if cfg.Ollama != "" {
		peer, err := startPeer(ctx, cfg.Ollama, cfg.Work, modelPath)
		if err != nil {
			return "", err
		}
		defer peer.Stop()
		setups = append(setups, &setup{name: "ollama serve", peer: true, note: fmt.Sprintf("pid %d, log %s", peer.PID(), filepath.Join(cfg.Work, "ollama.log"))})
		run = func(s *setup, prompt string) (sample, error) {
			if !s.peer {
				return runOurs(ctx, m, s, prompt, cfg.GenTokens)
			}
			t, err := peer.Generate(ctx, peerModel, prompt, cfg.GenTokens, cfg.Options.Threads, cfg.Options.ContextSize)
			return sample{t.PromptTokens, t.EvalTokens, t.PrefillTPS(), t.DecodeTPS()}, err
		}
	}
	if err := rounds(ctx, setups, run, cfg); err != nil {
		return "", err
	}
	return report(setups, cfg, modelPath, sh), nil
}

// pause waits d before a measurement (0: one second; negative: not at
// all), so that the previous server's after-work does not fall into it,
// or returns ctx's error.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(cmp.Or(d, time.Second)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ModelFile writes the synthetic model of spec into work, once, and
// returns its path; log (nil: none) says when it writes.
func ModelFile(work string, spec testmodel.Spec, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(work, fmt.Sprintf("%s-%dL-%dH-%dkv-%dd-%s-seed%d.gguf", spec.Name, spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.Type, spec.Seed))
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(log, "writing %s ...\n", path)
		if err := testmodel.Write(path, spec, nil); err != nil {
			return "", fmt.Errorf("write the bench model: %w", err)
		}
	}
	return path, nil
}

func runOurs(ctx context.Context, m *steering.Model, s *setup, prompt string, gen int) (sample, error) {
	r, err := m.Generate(ctx, prompt, steering.Params{Raw: true, MaxTokens: gen, Steer: s.steer})
	if err != nil {
		return sample{}, err
	}
	return sample{r.PromptTokens, r.CompletionTokens, r.PrefillTPS(), r.DecodeTPS()}, nil
}

// rounds runs one warm-up run of every setup, then cfg.Rounds rounds, the
// order rotating.
func rounds(ctx context.Context, setups []*setup, run func(*setup, string) (sample, error), cfg Config) error {
	// Every run gets its own prompt: ollama's runner reuses the KV cache of
	// a repeated prompt, which would inflate its prefill figure.
	runs := 0
	next := func() string { runs++; return prompt(runs, cfg.PromptTokens) }
	// One warm-up run each: page in weights, build graphs, load the peer.
	for _, s := range setups {
		if _, err := run(s, next()); err != nil {
			return fmt.Errorf("warm-up %s: %w", s.name, err)
		}
	}
	for r := range cfg.Rounds {
		for i := range setups {
			s := setups[(i+r)%len(setups)]
			if err := pause(ctx, cfg.Settle); err != nil {
				return err
			}
			smp, err := run(s, next())
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, s.name, err)
			}
			s.runs = append(s.runs, smp)
			fmt.Fprintf(cfg.Log, "round %d/%d  %-42s prefill %7.1f tok/s  decode %6.2f tok/s  (%d+%d tokens)\n",
				r+1, cfg.Rounds, s.name, smp.prefill, smp.decode, smp.promptTokens, smp.genTokens)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func layersOf(hs []steering.Head) []int {
	var ls []int
	for _, h := range hs {
		if !slices.Contains(ls, h.Layer) {
			ls = append(ls, h.Layer)
		}
	}
	return ls
}

// randomSteer gives each head a seeded random shift of norm 1: the speed
// of steering does not depend on the values.
func randomSteer(sh steering.Shape, heads []steering.Head) *steering.Steer {
	return &steering.Steer{Intervention: randomShifts(rand.New(rand.NewPCG(7, 7)), heads, sh.HeadDim, float32(sh.HeadDim))}
}

// randomShifts gives each head a shift of dim values drawn from r, each a
// standard normal divided by div.
func randomShifts(r *rand.Rand, heads []steering.Head, dim int, div float32) steering.Intervention {
	iv := steering.Intervention{}
	for _, h := range heads {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64()) / div
		}
		iv[h] = v
	}
	return iv
}

// everyHead lists every head of every layer of sh, layer by layer.
func everyHead(sh steering.Shape) []steering.Head {
	hs := make([]steering.Head, 0, sh.Layers*sh.Heads)
	for l := range sh.Layers {
		for h := range sh.Heads {
			hs = append(hs, steering.Head{Layer: l, Head: h})
		}
	}
	return hs
}

// prompt is n bytes of plain text (n tokens with a byte vocabulary, fewer
// with a real model's), different for every run from its first word on.
func prompt(run, n int) string {
	const text = "The quick brown fox jumps over the lazy dog while the committee reviews the annual report on river water quality. "
	return (fmt.Sprintf("Run %d. ", run) + strings.Repeat(text, n/len(text)+1))[:n]
}

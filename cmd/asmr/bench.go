package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// benchConfig is one way of running the same prompt.
type benchConfig struct {
	name  string
	steer *steering.Steer // ours, steered when set
	peer  bool            // ollama serve instead of ours
	heads int             // steered heads
	note  string          // shown in the report
	runs  []benchSample   // one per round
}

type benchSample struct {
	promptTokens, genTokens int
	prefill, decode         float64 // tokens per second
}

// runBench measures our reader unsteered and steered, and `ollama serve`
// built from the pinned module, on one synthetic GGUF with the same threads
// and context. Runs are interleaved round by round (the order rotating) and
// the report gives medians, because this machine's noise is about ±5%.
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
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return err
	}
	modelPath := filepath.Join(*work, fmt.Sprintf("%s-%dL-%dH-%dkv-%dd-%s-seed%d.gguf", spec.Name, spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.Type, spec.Seed))
	if _, err := os.Stat(modelPath); err != nil {
		fmt.Printf("writing %s ...\n", modelPath)
		if err := testmodel.Write(modelPath, spec, nil); err != nil {
			return err
		}
	}
	m, err := steering.Load(modelPath, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	sh := m.Shape()

	// 64 heads over 16 layers (4 per layer, centred), and every head of
	// every layer: the split cost depends on steered layers, not heads.
	mid := max(0, (sh.Layers-16)/2)
	var some, every []steering.Head
	for l := mid; l < min(sh.Layers, mid+16); l++ {
		for h := range min(4, sh.Heads) {
			some = append(some, steering.Head{Layer: l, Head: h * max(1, sh.Heads/4)})
		}
	}
	for l := range sh.Layers {
		for h := range sh.Heads {
			every = append(every, steering.Head{Layer: l, Head: h})
		}
	}
	configs := []*benchConfig{
		{name: "ours, unsteered"},
		{name: fmt.Sprintf("ours, %d heads over %d layers", len(some), len(layersOf(some))), steer: benchSteer(sh, some), heads: len(some)},
		{name: fmt.Sprintf("ours, every head of every layer (%d)", len(every)), steer: benchSteer(sh, every), heads: len(every)},
	}

	if *ollamaBin != "" {
		peer, err := ollamapeer.Start(ctx, *ollamaBin, filepath.Join(*work, "ollama-models"), filepath.Join(*work, "ollama.log"))
		if err != nil {
			return err
		}
		defer peer.Stop()
		if err := peer.Create(ctx, "asmr-bench", modelPath); err != nil {
			return err
		}
		configs = append(configs, &benchConfig{name: "ollama serve", peer: true, note: fmt.Sprintf("pid %d, log %s", peer.PID(), filepath.Join(*work, "ollama.log"))})
		run := func(c *benchConfig, prompt string) (benchSample, error) {
			if !c.peer {
				return runOurs(ctx, m, c, prompt, *genTokens)
			}
			t, err := peer.Generate(ctx, "asmr-bench", prompt, *genTokens, rf.threads, rf.ctxSize)
			return benchSample{t.PromptTokens, t.EvalTokens, t.PrefillTPS(), t.DecodeTPS()}, err
		}
		return benchRounds(ctx, configs, run, *rounds, spec, opts, rf, *promptTokens, *genTokens, *out, modelPath)
	}
	run := func(c *benchConfig, prompt string) (benchSample, error) {
		return runOurs(ctx, m, c, prompt, *genTokens)
	}
	return benchRounds(ctx, configs, run, *rounds, spec, opts, rf, *promptTokens, *genTokens, *out, modelPath)
}

func runOurs(ctx context.Context, m *steering.Model, c *benchConfig, prompt string, gen int) (benchSample, error) {
	r, err := m.Generate(ctx, prompt, steering.Params{Raw: true, MaxTokens: gen, Steer: c.steer})
	if err != nil {
		return benchSample{}, err
	}
	return benchSample{r.PromptTokens, r.CompletionTokens, r.PrefillTPS(), r.DecodeTPS()}, nil
}

func benchRounds(ctx context.Context, configs []*benchConfig, run func(*benchConfig, string) (benchSample, error),
	rounds int, spec testmodel.Spec, opts steering.Options, rf readerFlags, promptTokens, genTokens int, out, modelPath string) error {
	// Every run gets its own prompt: ollama's runner reuses the KV cache of
	// a repeated prompt, which would inflate its prefill figure.
	runs := 0
	next := func() string { runs++; return benchPrompt(runs, promptTokens) }
	// One warm-up run each: page in weights, build graphs, load the peer.
	for _, c := range configs {
		if _, err := run(c, next()); err != nil {
			return fmt.Errorf("warm-up %s: %w", c.name, err)
		}
	}
	for r := range rounds {
		for i := range configs {
			c := configs[(i+r)%len(configs)]
			s, err := run(c, next())
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, c.name, err)
			}
			c.runs = append(c.runs, s)
			fmt.Printf("round %d/%d  %-42s prefill %7.1f tok/s  decode %6.2f tok/s  (%d+%d tokens)\n",
				r+1, rounds, c.name, s.prefill, s.decode, s.promptTokens, s.genTokens)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	report := benchReport(configs, rounds, spec, rf, promptTokens, genTokens, modelPath)
	fmt.Println()
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(report), 0o644)
}

func benchReport(configs []*benchConfig, rounds int, spec testmodel.Spec, rf readerFlags, promptTokens, genTokens int, modelPath string) string {
	var b strings.Builder
	med := func(c *benchConfig, f func(benchSample) float64) float64 {
		v := make([]float64, len(c.runs))
		for i, s := range c.runs {
			v[i] = f(s)
		}
		return median(v)
	}
	dec := func(s benchSample) float64 { return s.decode }
	pre := func(s benchSample) float64 { return s.prefill }
	st, _ := os.Stat(modelPath)
	fmt.Fprintf(&b, "# Reader benchmark\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`bin/asmr bench`) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs; Go %s\n", cpuModel(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "- Model: synthetic %s shape: %d layers, %d heads (%d KV), d_h %d, FFN %d, vocab %d, %s, %.0f MB (random weights: speed depends on shape and type only)\n",
		spec.Name, spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Vocab, spec.Type, float64(st.Size())/1e6)
	fmt.Fprintf(&b, "- Threads %d, context %d, batch %d, flash attention %s, mmap %s; prompt %d tokens, %d generated, greedy\n",
		rf.threads, rf.ctxSize, rf.batch, rf.flash, rf.mmap, promptTokens, genTokens)
	fmt.Fprintf(&b, "- %d interleaved rounds after one warm-up run each (the order rotates every round; every run has its own prompt, so no KV cache is reused); medians below\n\n", rounds)
	fmt.Fprintf(&b, "| configuration | prefill tok/s | decode tok/s | decode vs unsteered |\n|---|---:|---:|---:|\n")
	base := configs[0]
	baseDec := med(base, dec)
	for _, c := range configs {
		fmt.Fprintf(&b, "| %s | %.1f | %.2f | %.3f |\n", c.name, med(c, pre), med(c, dec), med(c, dec)/baseDec)
	}
	fmt.Fprintf(&b, "\n## Ratios (medians)\n\n")
	for _, c := range configs[1:] {
		if c.peer {
			continue
		}
		r := med(c, dec) / baseDec
		fmt.Fprintf(&b, "- %s / unsteered: decode %.3f, prefill %.3f%s\n", c.name, r, med(c, pre)/med(base, pre), target(c.heads == 64, r, 0.98))
	}
	for _, c := range configs {
		if c.peer {
			r := baseDec / med(c, dec)
			fmt.Fprintf(&b, "- ours unsteered / ollama serve: decode %.3f, prefill %.3f%s\n", r, med(base, pre)/med(c, pre), target(true, r, 1.0))
			fmt.Fprintf(&b, "  (ollama serve: %s)\n", c.note)
		}
	}
	fmt.Fprintf(&b, "\n## Every run\n\n| round |")
	for _, c := range configs {
		fmt.Fprintf(&b, " %s decode |", c.name)
	}
	fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---:|", len(configs)))
	for r := range rounds {
		fmt.Fprintf(&b, "| %d |", r+1)
		for _, c := range configs {
			fmt.Fprintf(&b, " %.2f |", c.runs[r].decode)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func target(applies bool, got, want float64) string {
	if !applies {
		return ""
	}
	if got >= want {
		return fmt.Sprintf(" (target >= %.2f: met)", want)
	}
	return fmt.Sprintf(" (target >= %.2f: MISSED)", want)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
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

// benchSteer gives each head a seeded random shift of norm 1: the speed of
// steering does not depend on the values.
func benchSteer(sh steering.Shape, heads []steering.Head) *steering.Steer {
	r := rand.New(rand.NewPCG(7, 7))
	iv := steering.Intervention{}
	for _, h := range heads {
		v := make([]float32, sh.HeadDim)
		for i := range v {
			v[i] = float32(r.NormFloat64()) / float32(sh.HeadDim)
		}
		iv[h] = v
	}
	return &steering.Steer{Intervention: iv}
}

// benchPrompt is n bytes of plain text (n tokens with a byte vocabulary),
// different for every run.
func benchPrompt(run, n int) string {
	const text = "The quick brown fox jumps over the lazy dog while the committee reviews the annual report on river water quality. "
	return (fmt.Sprintf("Run %d. ", run) + strings.Repeat(text, n/len(text)+1))[:n]
}

func cpuModel() string {
	out, err := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return runtime.GOARCH
	}
	return strings.TrimSpace(string(out))
}

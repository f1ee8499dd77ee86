package reader

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/bench/internal/stats"
	"github.com/asmr-search/generative-asmr/bench/internal/sysinfo"
	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering"
)

// report is the Markdown report of the measured configurations; the
// first is ours unsteered, the baseline of every ratio.
func report(configs []*setup, cfg Config, modelPath string, sh steering.Shape) string {
	rounds, spec, o, promptTokens, genTokens := cfg.Rounds, cfg.Spec, cfg.Options, cfg.PromptTokens, cfg.GenTokens
	var b strings.Builder
	med := func(c *setup, f func(sample) float64) float64 {
		v := make([]float64, len(c.runs))
		for i, s := range c.runs {
			v[i] = f(s)
		}
		return stats.Median(v)
	}
	dec := func(s sample) float64 { return s.decode }
	pre := func(s sample) float64 { return s.prefill }
	st, _ := os.Stat(modelPath)
	fmt.Fprintf(&b, "# Reader benchmark\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`bin/asmr bench`) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs; Go %s\n", sysinfo.CPUModel(), runtime.NumCPU(), runtime.Version())
	size := 0.0
	if st != nil {
		size = float64(st.Size()) / 1e6
	}
	promptLen := fmt.Sprintf("prompt %d tokens", promptTokens)
	if cfg.Model != "" {
		fmt.Fprintf(&b, "- Model: %s (%s: %d layers, %d heads (%d KV), d_h %d, vocab %d), %.0f MB\n",
			filepath.Base(cfg.Model), sh.Arch, sh.Layers, sh.Heads, sh.KVHeads, sh.HeadDim, sh.Vocab, size)
		promptLen = fmt.Sprintf("prompt %d bytes of text (%d tokens)", promptTokens, configs[0].runs[0].promptTokens)
	} else {
		fmt.Fprintf(&b, "- Model: synthetic %s shape: %d layers, %d heads (%d KV), d_h %d, FFN %d, vocab %d, %s, %.0f MB (random weights: speed depends on shape and type only)\n",
			spec.Name, spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Vocab, spec.Type, size)
	}
	fmt.Fprintf(&b, "- Threads %d, context %d, batch %d, flash attention %s, mmap %s; %s, %d generated at most, greedy\n",
		o.Threads, o.ContextSize, o.BatchSize, flashName(o.FlashAttention), mmapName(o.Mmap), promptLen, genTokens)
	fmt.Fprintf(&b, "- %d interleaved rounds after one warm-up run each (the order rotates every round; a pause of a second before each run; every run has its own prompt, so no KV cache is reused); medians below\n\n", rounds)
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

// target says whether got meets want, where the target applies.
func target(applies bool, got, want float64) string {
	if !applies {
		return ""
	}
	if got >= want {
		return fmt.Sprintf(" (target >= %.2f: met)", want)
	}
	return fmt.Sprintf(" (target >= %.2f: MISSED)", want)
}

// flashName and mmapName are the -flash-attn and -mmap values of o.
func flashName(f config.FlashAttention) string { return string(cmp.Or(f, config.FlashAttentionAuto)) }

func mmapName(m *bool) string {
	switch {
	case m == nil:
		return "auto"
	case *m:
		return "on"
	}
	return "off"
}

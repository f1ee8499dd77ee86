package reader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

func TestReport(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(model, make([]byte, 2e6), 0o644); err != nil {
		t.Fatal(err)
	}
	on := true
	cfg := Config{
		Spec:    tinySpec(),
		Options: steering.Options{Threads: 4, ContextSize: 2048, BatchSize: 512, FlashAttention: config.FlashAttentionOff, Mmap: &on},
		Rounds:  2, PromptTokens: 128, GenTokens: 32,
	}
	runs := func(decode ...float64) []sample {
		var s []sample
		for _, d := range decode {
			s = append(s, sample{128, 32, 1000, d})
		}
		return s
	}
	r := report([]*setup{
		{name: "ours, unsteered", runs: runs(10, 12)},
		{name: "ours, 64 heads over 16 layers", heads: 64, runs: runs(10.8, 10.8)},
		{name: "ollama serve", peer: true, note: "pid 1", runs: runs(11, 11)},
	}, cfg, model, steering.Shape{})
	for _, want := range []string{
		"Threads 4, context 2048, batch 512, flash attention off, mmap on; prompt 128 tokens, 32 generated at most",
		"2 MB", "| ours, unsteered | 1000.0 | 11.00 | 1.000 |",
		"ours, 64 heads over 16 layers / unsteered: decode 0.982, prefill 1.000 (target >= 0.98: met)",
		"ours unsteered / ollama serve: decode 1.000, prefill 1.000 (target >= 1.00: met)",
		"| 2 | 12.00 | 10.80 | 11.00 |",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
}

func TestPromptAndLayers(t *testing.T) {
	if p := prompt(3, 200); len(p) != 200 || !strings.HasPrefix(p, "Run 3. ") {
		t.Errorf("prompt %q", p)
	}
	if len(layersOf([]steering.Head{{Layer: 1}, {Layer: 1, Head: 2}, {Layer: 3}})) != 2 {
		t.Error("layersOf")
	}
}

func tinySpec() testmodel.Spec {
	s := testmodel.Tiny()
	s.Name = "tiny"
	return s
}

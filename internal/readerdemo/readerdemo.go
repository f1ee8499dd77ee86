// Package readerdemo is `asmr demo`: it writes a tiny random-weight model,
// then answers one multilingual prompt unsteered and steered, so that a
// fresh checkout shows the whole reader path working before any profile
// exists.
package readerdemo

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// Config is one demo run.
type Config struct {
	// Work holds the generated model; Model, when set, is a GGUF file or
	// an Ollama model used instead.
	Work, Model string
	// Alpha is the steering strength (times each head's unit direction).
	Alpha float64
	// Prompt is the question.
	Prompt string
	// Out receives the model, its shape and both answers.
	Out io.Writer
}

// Run writes the tiny model unless cfg.Model is set (or the model is
// there already), loads it, and prints the prompt's answer unsteered and
// steered along seeded unit directions on every other head of the upper
// half of the layers.
func Run(ctx context.Context, cfg Config) error {
	path := cfg.Model
	if path == "" {
		path = filepath.Join(cfg.Work, "asmr-tiny.gguf")
		if _, err := os.Stat(path); err != nil {
			if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
				return err
			}
			spec := testmodel.Spec{Layers: 4, Heads: 8, KVHeads: 4, HeadDim: 32, FFN: 384, Type: testmodel.F32, Seed: 42, Name: "asmr-tiny-demo"}
			if err := testmodel.Write(path, spec, nil); err != nil {
				return fmt.Errorf("write the demo model: %w", err)
			}
		}
		fmt.Fprintf(cfg.Out, "model: %s (a tiny model with RANDOM weights, made here: its text is noise; the demo shows the reader and steering path, not answer quality)\n", path)
	}
	m, err := steering.Load(path, steering.Options{ContextSize: 1024})
	if err != nil {
		return err
	}
	defer m.Close()
	sh := m.Shape()
	fmt.Fprintf(cfg.Out, "shape: %d layers x %d heads, d_h %d, vocab %d, template: %s\n", sh.Layers, sh.Heads, sh.HeadDim, sh.Vocab, templateName(m))

	iv := intervention(sh, cfg.Alpha)
	for _, run := range []struct {
		name  string
		steer *steering.Steer
	}{{"unsteered", nil}, {fmt.Sprintf("steered (%d heads, alpha %g)", len(iv), cfg.Alpha), &steering.Steer{Intervention: iv}}} {
		res, err := m.Generate(ctx, cfg.Prompt, steering.Params{MaxTokens: 32, Steer: run.steer})
		if err != nil {
			return fmt.Errorf("%s: %w", run.name, err)
		}
		fmt.Fprintf(cfg.Out, "\n%s:\n  %q\n  [%d prompt tokens, %d generated at %.0f tok/s, stop: %s]\n",
			run.name, res.Text, res.PromptTokens, res.CompletionTokens, res.DecodeTPS(), res.StopReason)
	}
	return nil
}

// intervention steers every other head of the upper half of the layers
// along a seeded unit direction times alpha: until a probe profile is
// configured, enough to show the intervention at work.
func intervention(sh steering.Shape, alpha float64) steering.Intervention {
	r := rand.New(rand.NewPCG(1, 2))
	iv := steering.Intervention{}
	for l := sh.Layers / 2; l < sh.Layers; l++ {
		for h := 0; h < sh.Heads; h += 2 {
			v := make([]float32, sh.HeadDim)
			n := 0.0
			for i := range v {
				v[i] = float32(r.NormFloat64())
				n += float64(v[i] * v[i])
			}
			for i := range v {
				v[i] *= float32(alpha / math.Sqrt(n))
			}
			iv[steering.Head{Layer: l, Head: h}] = v
		}
	}
	return iv
}

func templateName(m *steering.Model) string {
	if m.ChatTemplate() == "" {
		return "none (plain User:/Assistant: frame)"
	}
	return "from the GGUF"
}

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// runDemo is what `make run` does until a profile exists: it writes a tiny
// random-weight model, then answers one multilingual prompt unsteered and
// steered, so a fresh checkout shows the whole reader path working.
func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo", "[-work dir] [-model m.gguf]")
	work := fs.String("work", ".cache/demo", "folder for the generated model")
	model := fs.String("model", "", "use this GGUF file or Ollama model instead of the generated tiny model")
	alpha := fs.Float64("alpha", 8, "steering strength (times each head's unit direction)")
	prompt := fs.String("prompt", "Wer hat das Telefon erfunden? Antworte auf Deutsch.", "the question")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *model
	if path == "" {
		path = filepath.Join(*work, "asmr-tiny.gguf")
		if _, err := os.Stat(path); err != nil {
			if err := os.MkdirAll(*work, 0o755); err != nil {
				return err
			}
			spec := testmodel.Spec{Layers: 4, Heads: 8, KVHeads: 4, HeadDim: 32, FFN: 384, Type: testmodel.F32, Seed: 42, Name: "asmr-tiny-demo"}
			if err := testmodel.Write(path, spec, nil); err != nil {
				return err
			}
		}
		fmt.Printf("model: %s (a tiny model with RANDOM weights, made here: its text is noise; the demo shows the reader and steering path, not answer quality)\n", path)
	}
	m, err := steering.Load(path, steering.Options{ContextSize: 1024})
	if err != nil {
		return err
	}
	defer m.Close()
	sh := m.Shape()
	fmt.Printf("shape: %d layers x %d heads, d_h %d, vocab %d, template: %s\n", sh.Layers, sh.Heads, sh.HeadDim, sh.Vocab, templateName(m))

	// Until a probe profile is configured, steer a fixed set of heads along
	// seeded unit directions: enough to show the intervention at work.
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
				v[i] *= float32(*alpha / math.Sqrt(n))
			}
			iv[steering.Head{Layer: l, Head: h}] = v
		}
	}
	for _, run := range []struct {
		name  string
		steer *steering.Steer
	}{{"unsteered", nil}, {fmt.Sprintf("steered (%d heads, alpha %g)", len(iv), *alpha), &steering.Steer{Intervention: iv}}} {
		res, err := m.Generate(ctx, *prompt, steering.Params{MaxTokens: 32, Steer: run.steer})
		if err != nil {
			return fmt.Errorf("%s: %w", run.name, err)
		}
		fmt.Printf("\n%s:\n  %q\n  [%d prompt tokens, %d generated at %.0f tok/s, stop: %s]\n",
			run.name, res.Text, res.PromptTokens, res.CompletionTokens, res.DecodeTPS(), res.StopReason)
	}
	return nil
}

func templateName(m *steering.Model) string {
	if m.ChatTemplate() == "" {
		return "none (plain User:/Assistant: frame)"
	}
	return "from the GGUF"
}

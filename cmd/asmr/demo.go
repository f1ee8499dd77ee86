package main

import (
	"context"
	"os"

	"github.com/asmr-search/generative-asmr/internal/readerdemo"
)

// runDemo is what `make run` does until a profile exists: it writes a tiny
// random-weight model, then answers one multilingual prompt unsteered and
// steered (internal/readerdemo), so a fresh checkout shows the whole
// reader path working.
func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo", "[-work dir] [-model m.gguf]")
	work := fs.String("work", ".cache/demo", "folder for the generated model")
	model := fs.String("model", "", "use this GGUF file or Ollama model instead of the generated tiny model")
	alpha := fs.Float64("alpha", 8, "steering strength (times each head's unit direction)")
	prompt := fs.String("prompt", "Wer hat das Telefon erfunden? Antworte auf Deutsch.", "the question")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return readerdemo.Run(ctx, readerdemo.Config{Work: *work, Model: *model, Alpha: *alpha, Prompt: *prompt, Out: os.Stdout})
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/asmr-search/generative-asmr/steering"
)

// readerFlags registers the steering.Options flags.
type readerFlags struct {
	threads, ctxSize, batch, gpuLayers, poll int
	mmap, flash, kvType                      string
}

func (f *readerFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.threads, "threads", 0, "decode threads (default: all CPUs)")
	fs.IntVar(&f.ctxSize, "ctx", 2048, "context size in tokens")
	fs.IntVar(&f.batch, "batch", 512, "tokens per decode")
	fs.IntVar(&f.gpuLayers, "gpu-layers", 0, "layers to offload to a GPU backend from OLLAMA_LIBRARY_PATH (-1 = all)")
	fs.StringVar(&f.mmap, "mmap", "auto", "map the weights: auto (off on CPU), on or off")
	fs.StringVar(&f.flash, "flash-attn", "auto", "flash attention: auto, on or off")
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache type: f16, f32, q8_0 or q4_0")
	fs.IntVar(&f.poll, "poll", 0, "CPU threadpool polling level 1..100 (0 = 50, -1 = no persistent pool)")
}

func (f *readerFlags) options() (steering.Options, error) {
	o := steering.Options{Threads: f.threads, ContextSize: f.ctxSize, BatchSize: f.batch, GPULayers: f.gpuLayers, KVCacheType: f.kvType, Poll: f.poll}
	switch f.mmap {
	case "auto":
	case "on", "off":
		v := f.mmap == "on"
		o.Mmap = &v
	default:
		return o, fmt.Errorf("-mmap %q: want auto, on or off", f.mmap)
	}
	switch f.flash {
	case "auto":
		o.FlashAttention = steering.FlashAttentionAuto
	case "on":
		o.FlashAttention = steering.FlashAttentionOn
	case "off":
		o.FlashAttention = steering.FlashAttentionOff
	default:
		return o, fmt.Errorf("-flash-attn %q: want auto, on or off", f.flash)
	}
	return o, nil
}

func runGenerate(ctx context.Context, args []string) error {
	fs := newFlags("generate", "-model m.gguf|ollama-name -prompt text [flags]")
	var rf readerFlags
	rf.register(fs)
	model := fs.String("model", "", "GGUF file, or an Ollama model name resolved in $OLLAMA_MODELS (required)")
	prompt := fs.String("prompt", "", "the prompt; - reads standard input (required)")
	system := fs.String("system", "", "system message for the chat template")
	raw := fs.Bool("raw", false, "do not apply the chat template")
	maxTokens := fs.Int("max-tokens", 256, "most tokens to generate (-1 = until the context is full)")
	temp := fs.Float64("temperature", 0, "sampling temperature (0 = greedy)")
	topK := fs.Int("top-k", 0, "top-k sampling (0 = off)")
	topP := fs.Float64("top-p", 1, "top-p sampling (1 = off)")
	seed := fs.Uint("seed", 0, "sampler seed")
	var stops stringList
	fs.Var(&stops, "stop", "stop string (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *prompt == "" {
		return fmt.Errorf("-model and -prompt are required (see asmr generate -h)")
	}
	text := *prompt
	if text == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read prompt from stdin: %w", err)
		}
		text = string(b)
	}
	opts, err := rf.options()
	if err != nil {
		return err
	}
	m, err := steering.Load(*model, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	r, err := m.Generate(ctx, text, steering.Params{
		System: *system, Raw: *raw, MaxTokens: *maxTokens, Temperature: float32(*temp),
		TopK: *topK, TopP: float32(*topP), Seed: uint32(*seed), Stop: stops,
	})
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(r.Text))
	fmt.Fprintf(os.Stderr, "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, stop: %s]\n",
		r.PromptTokens, r.PrefillTPS(), r.CompletionTokens, r.DecodeTPS(), r.StopReason)
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering"
)

// readerFlags registers the steering.Options flags.
type readerFlags struct {
	threads, ctxSize, batch, gpuLayers, poll int
	mmap, flash, kvType, chatTemplate        string
	promptCache                              bool
}

func (f *readerFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.threads, "threads", 0, "decode threads (default: all CPUs)")
	fs.IntVar(&f.ctxSize, "ctx", 2048, "context size in tokens")
	fs.IntVar(&f.batch, "batch", 512, "tokens per decode")
	fs.IntVar(&f.gpuLayers, "gpu-layers", 0, "layers to offload to a GPU backend from OLLAMA_LIBRARY_PATH (-1 = all)")
	fs.StringVar(&f.mmap, "mmap", "auto", "map the weights: auto (off on CPU), on or off")
	fs.StringVar(&f.flash, "flash-attn", string(config.FlashAttentionAuto), "flash attention: auto, on or off")
	fs.StringVar(&f.kvType, "kv-type", string(config.DefaultKVCacheType), "KV cache type: f16, f32, q8_0 or q4_0")
	fs.IntVar(&f.poll, "poll", 0, "CPU threadpool polling level 1..100 (0 = 50, -1 = no persistent pool)")
	fs.BoolVar(&f.promptCache, "prompt-cache", true, "reuse the KV cells of the previous prompt's common beginning, as an ops file's models.<name>.promptCache (default true there too)")
	fs.StringVar(&f.chatTemplate, "chat-template", "", "chat template, as an ops file's models.<name>.chatTemplate: empty = the GGUF's, a llama.cpp template name (gemma, chatml, ...), a template text, or none (Gemma 3 270M's base checkpoint is served with none)")
}

// options checks every reader flag and returns the steering options, or an
// error naming each bad flag with its valid range.
func (f *readerFlags) options() (steering.Options, error) {
	o, ps := f.check()
	return o, flagError(ps)
}

// check is options with the problems as a list, so that a command can
// report them together with its own flags' problems.
func (f *readerFlags) check() (steering.Options, []string) {
	var ps []string
	o := steering.Options{Threads: f.threads, ContextSize: f.ctxSize, BatchSize: f.batch, GPULayers: f.gpuLayers, Poll: f.poll, ChatTemplate: f.chatTemplate, PromptCache: f.promptCache}
	if f.threads < 0 {
		ps = append(ps, fmt.Sprintf("-threads %d: want 0 (every CPU) or more", f.threads))
	}
	if f.ctxSize < 0 || (f.ctxSize > 0 && f.ctxSize < config.MinContextSize) {
		ps = append(ps, fmt.Sprintf("-ctx %d: want 0 (4096, capped at the model's training context) or at least %d tokens", f.ctxSize, config.MinContextSize))
	}
	if f.batch < 0 {
		ps = append(ps, fmt.Sprintf("-batch %d: want 0 (512) or more tokens", f.batch))
	}
	if f.gpuLayers < -1 {
		ps = append(ps, fmt.Sprintf("-gpu-layers %d: want -1 (all), 0 (CPU only) or a layer count", f.gpuLayers))
	}
	if f.poll < -1 || f.poll > 100 {
		ps = append(ps, fmt.Sprintf("-poll %d: want -1 (no persistent pool), 0 (50) or 1 to 100", f.poll))
	}
	kv, err := config.ParseKVCacheType(f.kvType)
	if err != nil {
		ps = append(ps, fmt.Sprintf("-kv-type %v", err))
	}
	o.KVCacheType = kv
	switch f.mmap {
	case "auto":
	case "on", "off":
		v := f.mmap == "on"
		o.Mmap = &v
	default:
		ps = append(ps, fmt.Sprintf("-mmap %q: want auto, on or off", f.mmap))
	}
	fa, err := config.ParseFlashAttention(f.flash)
	if err != nil {
		ps = append(ps, fmt.Sprintf("-flash-attn %v", err))
	}
	o.FlashAttention = fa
	return o, ps
}

// flagError is nil for no problems, and otherwise one error listing them
// all, so that a command line is fixed in one round.
func flagError(ps []string) error {
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return errors.New(ps[0])
	}
	return fmt.Errorf("%d flag problems:\n  %s", len(ps), strings.Join(ps, "\n  "))
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
	seed := fs.Uint64("seed", 0, "sampler seed, 0 to 4294967295 (used when -temperature > 0)")
	var stops stringList
	fs.Var(&stops, "stop", "stop string (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, ps := rf.check()
	if *model == "" || *prompt == "" {
		ps = append([]string{"-model and -prompt are required (see asmr generate -h)"}, ps...)
	}
	if *maxTokens <= 0 && *maxTokens != -1 {
		ps = append(ps, fmt.Sprintf("-max-tokens %d: want a positive number of tokens, or -1 (until the context is full)", *maxTokens))
	}
	if *temp < 0 || math.IsNaN(*temp) {
		ps = append(ps, fmt.Sprintf("-temperature %v: want 0 (greedy) or more", *temp))
	}
	if *topK < 0 {
		ps = append(ps, fmt.Sprintf("-top-k %d: want 0 (off) or more", *topK))
	}
	if !(*topP >= 0 && *topP <= 1) {
		ps = append(ps, fmt.Sprintf("-top-p %v: want 0 to 1 (1 = off)", *topP))
	}
	if *seed > math.MaxUint32 {
		ps = append(ps, fmt.Sprintf("-seed %d: want 0 to %d", *seed, uint64(math.MaxUint32)))
	}
	if err := flagError(ps); err != nil {
		return err
	}
	text := *prompt
	if text == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read prompt from stdin: %w", err)
		}
		text = string(b)
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

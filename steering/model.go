// Package steering runs a GGUF model in-process through llama.cpp (the
// github.com/ollama/ollama/llama binding) and steers it by adding vectors to
// the outputs of chosen attention heads, as ASMR's equation 2 does. The same
// hook captures per-head activations for probing.
package steering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/ollamastore"
)

// Options sets how a model is opened. Zero values pick sensible defaults.
type Options struct {
	// Threads used for decoding: the one threadpool of the model's
	// context, which decodes every running generation together; 0 = every
	// CPU.
	Threads int
	// ContextSize is the KV-cache length in tokens of each generation
	// (prompt and answer); 0 = 4096, capped at the model's training
	// context. The context holds Slots times as many cells.
	ContextSize int
	// BatchSize is the most tokens one decode (one eval-callback pass)
	// holds, the next token of every running generation and prompt chunks
	// together; 0 = 512. It must exceed Slots.
	BatchSize int
	// PrefillChunk is the most prompt tokens one decode carries while
	// generations are running, so that a long prompt delays their next
	// tokens by one chunk's decode at a time; 0 = 128. With no generation
	// running, prompts are decoded BatchSize tokens at a time.
	PrefillChunk int
	// GPULayers offloads that many layers to a GPU backend found through
	// OLLAMA_LIBRARY_PATH; 0 = CPU only, -1 = all layers.
	GPULayers int
	// Mmap maps the weights instead of reading them. nil = off when running
	// on CPU (reading is much faster to decode with there) and on otherwise.
	Mmap *bool
	// Slots is the number of generations that may run at once: the
	// sequences of the model's one context, decoded together, one token of
	// each per decode (continuous batching); 0 = 1. More requests wait for
	// a sequence in arrival order.
	Slots int
	// FlashAttention: auto by default ("").
	FlashAttention config.FlashAttention
	// CaptureSequences is how many prompts CaptureLastToken packs into one
	// decode; 0 = 8.
	CaptureSequences int
	// KVCacheType is the element type of the KV cache: f16 by default
	// (""), f32 (exact, twice the memory), q8_0 or q4_0.
	KVCacheType config.KVCacheType
	// ChatTemplate overrides the GGUF's chat template: a template text or
	// the name of one of llama.cpp's built-in templates ("gemma",
	// "chatml", "llama3", ...), or ChatTemplateNone for no frame at all
	// (completion models: the system text, a blank line and the prompt).
	// "" uses the GGUF's own template, or a plain "User: ...\nAssistant:"
	// frame when it has none.
	ChatTemplate string
	// Poll is the polling level (0..100) of the persistent CPU threadpool;
	// 0 = llama.cpp's default 50. Negative disables the persistent pool.
	Poll int
	// PromptCache keeps each sequence's prompt in its KV cells after a
	// generation, so that a later prompt admitted to that sequence decodes
	// only what follows the longest common prefix (llama.cpp server's
	// cache_prompt, ollama's runner cache); a request is admitted to the
	// free sequence whose cells serve the longest prefix. Cells are reused
	// only where the steering they were computed with is the new request's
	// (see promptCache). The reused prefix is computed in other batches
	// than a fresh prompt's, so logits may differ from an uncached run in
	// the last bits; off (false) every prompt is decoded from position 0.
	PromptCache bool
}

func (o Options) withDefaults() Options {
	if o.Slots <= 0 {
		o.Slots = 1
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.ContextSize <= 0 {
		o.ContextSize = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = config.DefaultBatchSize
	}
	if o.PrefillChunk <= 0 {
		o.PrefillChunk = 128
	}
	if o.CaptureSequences <= 0 {
		o.CaptureSequences = 8
	}
	if o.Poll == 0 {
		o.Poll = 50
	}
	if o.KVCacheType == "" {
		o.KVCacheType = config.DefaultKVCacheType
	}
	return o
}

// Shape is what steering needs to know about a model's attention.
type Shape struct {
	Arch         string
	Layers       int
	Heads        int
	KVHeads      int
	HeadDim      int // d_h of the value heads: the width of one head in kqv_out
	Embd         int
	Vocab        int
	TrainContext int
}

// Width is the row count of kqv_out: all heads concatenated.
func (s Shape) Width() int { return s.Heads * s.HeadDim }

// Model is a loaded GGUF model with one llama.cpp context whose Slots
// sequences a scheduler decodes together (see scheduler). It is safe for
// concurrent use.
type Model struct {
	path     string
	opts     Options
	shape    Shape
	template string
	model    *llama.Model
	sched    *scheduler

	// closing is cancelled by Close; running generations watch it.
	closing context.Context
	stopAll context.CancelFunc

	mu     sync.Mutex
	idle   *sync.Cond // signalled when busy drops
	busy   int        // calls under way (generations, evaluations, captures, tokenizing)
	closed bool
}

var backendOnce sync.Once

// Load opens a GGUF file, or an Ollama model name such as "llama3.2:1b"
// resolved through the local Ollama store, and creates its slots.
func Load(pathOrName string, opts Options) (*Model, error) {
	opts = opts.withDefaults()
	if _, err := kvType(opts.KVCacheType); err != nil {
		return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
	}
	path := pathOrName
	if _, err := os.Stat(path); err != nil {
		if !ollamastore.LooksLikeName(pathOrName) {
			return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
		}
		m, rerr := ollamastore.Resolve(pathOrName)
		if rerr != nil {
			return nil, fmt.Errorf("load model %q: not a file (%v), and not in the Ollama store: %w", pathOrName, err, rerr)
		}
		path = m.ModelPath
	}
	if err := checkGGUF(path); err != nil {
		return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
	}

	if err := checkBindingLayout(); err != nil {
		return nil, err
	}
	backendOnce.Do(llama.BackendInit)
	mmap := opts.GPULayers != 0
	if opts.Mmap != nil {
		mmap = *opts.Mmap
	}
	gpuLayers := opts.GPULayers
	if gpuLayers < 0 {
		gpuLayers = 1 << 20
	}
	lm, err := llama.LoadModelFromFile(path, llama.ModelParams{NumGpuLayers: gpuLayers, UseMmap: mmap})
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w (llama.cpp's error in the log says why)", pathOrName, err)
	}
	m := &Model{path: path, opts: opts, model: lm}
	m.idle = sync.NewCond(&m.mu)
	m.closing, m.stopAll = context.WithCancel(context.Background())
	if m.shape, err = readShape(lm); err != nil {
		llama.FreeModel(lm)
		return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
	}
	if m.opts.ContextSize > m.shape.TrainContext && m.shape.TrainContext > 0 {
		m.opts.ContextSize = m.shape.TrainContext
	}
	m.template = opts.ChatTemplate
	if m.template == "" {
		m.template = chatTemplate(lm)
	} else if m.template != ChatTemplateNone {
		if _, ok := applyChatTemplate(m.template, []Message{{"user", "x"}}); !ok {
			llama.FreeModel(lm)
			return nil, fmt.Errorf("load model %q: chat template %q is not a template llama.cpp knows: give one of its built-in names (gemma, chatml, llama3, mistral-v7, ...), a template text, %q for no frame, or leave it empty for the GGUF's own",
				pathOrName, m.template, ChatTemplateNone)
		}
	}
	if m.opts.BatchSize <= m.opts.Slots {
		llama.FreeModel(lm)
		return nil, fmt.Errorf("load model %q: batch size %d must exceed the %d slots: every decode carries one token of each running generation and room for prompts", pathOrName, m.opts.BatchSize, m.opts.Slots)
	}
	if m.opts.Slots > maxSequences {
		llama.FreeModel(lm)
		return nil, fmt.Errorf("load model %q: %d slots: llama.cpp decodes at most %d sequences in one context", pathOrName, m.opts.Slots, maxSequences)
	}
	if m.sched, err = newScheduler(m); err != nil {
		llama.FreeModel(lm)
		return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
	}
	slog.Debug("model loaded", "path", path, "layers", m.shape.Layers, "heads", m.shape.Heads,
		"head_dim", m.shape.HeadDim, "slots", opts.Slots, "ctx", m.opts.ContextSize, "threads", opts.Threads, "mmap", mmap)
	return m, nil
}

// checkGGUF rejects files that are not GGUF before llama.cpp sees them, so
// the error says what is wrong instead of "unable to load model".
func checkGGUF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.Read(magic[:]); err != nil || string(magic[:]) != "GGUF" {
		return fmt.Errorf("%s is not a GGUF file (magic %q)", path, magic[:])
	}
	return nil
}

// Shape reports the model's attention shape.
func (m *Model) Shape() Shape { return m.shape }

// Path is the GGUF file the model was loaded from.
func (m *Model) Path() string { return m.path }

// ContextSize is the context length in tokens of each generation.
func (m *Model) ContextSize() int { return m.opts.ContextSize }

// ChatTemplate is the chat template in use: Options.ChatTemplate, else the
// one stored in the GGUF, else "" (a plain "User: ...\nAssistant:" frame).
func (m *Model) ChatTemplate() string { return m.template }

// Tokenize turns text into tokens, adding BOS when the model asks for it.
// The text is data: the names of special tokens in it ("</s>",
// "<end_of_turn>") are tokenized as the characters they are, never as the
// control tokens, so stored or user text cannot end a turn or a sequence.
func (m *Model) Tokenize(text string) ([]int, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	return m.model.Tokenize(text, m.model.AddBOSToken(), false)
}

// ErrClosed is returned by calls on a closed model, and is the cause of a
// generation that Close stopped.
var ErrClosed = errors.New("model is closed")

// enter holds the model open for a call that uses its weights, its
// vocabulary or its context; leave ends it. Close waits for such calls.
func (m *Model) enter() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.busy++
	return nil
}

func (m *Model) leave() {
	m.mu.Lock()
	m.busy--
	m.idle.Broadcast()
	m.mu.Unlock()
}

// withClose returns ctx, also cancelled (with cause ErrClosed) when the
// model is closed, so that Close ends running generations between tokens.
func (m *Model) withClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(m.closing, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// Close stops the running generations (their callers get an error wrapping
// ErrClosed) at their next token, makes calls waiting for a sequence
// return ErrClosed, waits for every running call to return, and frees the
// context and the weights.
func (m *Model) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.stopAll()
	for m.busy > 0 {
		m.idle.Wait()
	}
	m.mu.Unlock()
	m.sched.stop()
	llama.FreeModel(m.model)
}

// maxSequences is llama.cpp's LLAMA_MAX_SEQ.
const maxSequences = config.MaxSlots

// lcontext is one llama.cpp context with its hook, threadpool and batch.
// The model's scheduler owns one; CaptureTokens makes its own.
type lcontext struct {
	ctx    *llama.Context
	hook   *hook
	pool   *threadpool
	batch  *llama.Batch
	nCtx   int // KV cells in all
	nBatch int // the most tokens of one decode (n_ubatch)
	nSeq   int
	// layerUse counts, per layer, the shift tables that steer it.
	layerUse []int
	// steered lists, per shift table, the layers it steers.
	steered [][]int
}

// newContext makes a context of nCtx cells for nSeq sequences with tables
// shift tables. Several sequences share one unified KV cache: llama.cpp
// then splits a batch in order (split_simple), so callback column i is
// batch entry i, which the per-column shift tables rely on; per-sequence
// streams would regroup the batch by sequence (split_equal) and split a
// mixed batch into several callback passes.
func (m *Model) newContext(nCtx, nSeq, tables int) (*lcontext, error) {
	o := m.opts
	fa := ml.FlashAttentionAuto
	switch o.FlashAttention {
	case config.FlashAttentionOn:
		fa = ml.FlashAttentionEnabled
	case config.FlashAttentionOff:
		fa = ml.FlashAttentionDisabled
	}
	h, err := newHook(m.shape.Layers, m.shape.Width(), o.BatchSize, tables)
	if err != nil {
		return nil, err
	}
	params := llama.NewContextParams(nCtx, o.BatchSize, nSeq, o.Threads, fa, "")
	setHook(&params, h, nSeq > 1)
	if err := setKVType(&params, o.KVCacheType); err != nil {
		freeHook(h)
		return nil, fmt.Errorf("create context: %w", err)
	}
	lctx, err := llama.NewContextWithModel(m.model, params)
	if err != nil {
		freeHook(h)
		return nil, fmt.Errorf("create context (n_ctx %d, batch %d, sequences %d): %w", nCtx, o.BatchSize, nSeq, err)
	}
	c := &lcontext{ctx: lctx, hook: h, nCtx: nCtx, nBatch: o.BatchSize, nSeq: nSeq,
		layerUse: make([]int, m.shape.Layers), steered: make([][]int, max(1, tables))}
	if err := checkContextLayout(lctx, m.model, nCtx); err != nil {
		c.free()
		return nil, err
	}
	// With every layer on a GPU the CPU pool would only spin.
	if o.Poll > 0 && (o.GPULayers >= 0 && o.GPULayers <= m.shape.Layers) {
		c.pool = attachThreadpool(lctx, o.Threads, min(o.Poll, 100))
	}
	b, err := llama.NewBatch(o.BatchSize, nSeq, 0)
	if err != nil {
		c.free()
		return nil, err
	}
	c.batch = b
	return c, nil
}

// scan counts the NaN and infinite logits of batch position i and finds
// its greedy token, in one pass (see logitsScan).
func (c *lcontext) scan(i int) (bad, tok int) {
	return logitsScan(c.ctx, i)
}

func (c *lcontext) free() {
	if c.batch != nil {
		c.batch.Free()
		c.batch = nil
	}
	if c.ctx != nil {
		freeContext(c.ctx)
		c.ctx = nil
	}
	// The pool must outlive the context that uses it.
	if c.pool != nil {
		freeThreadpool(c.pool)
		c.pool = nil
	}
	if c.hook != nil {
		freeHook(c.hook)
		c.hook = nil
	}
}

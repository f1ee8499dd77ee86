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
	// Threads used for decoding, per slot; 0 = the CPUs divided among the
	// slots (each slot's polling threadpool spins, so more threads than
	// cores in total costs far more than it gains).
	Threads int
	// ContextSize is the KV-cache length in tokens per slot; 0 = 4096, capped
	// at the model's training context.
	ContextSize int
	// BatchSize is the most tokens one decode (one eval-callback pass)
	// holds; 0 = 512.
	BatchSize int
	// GPULayers offloads that many layers to a GPU backend found through
	// OLLAMA_LIBRARY_PATH; 0 = CPU only, -1 = all layers.
	GPULayers int
	// Mmap maps the weights instead of reading them. nil = off when running
	// on CPU (reading is much faster to decode with there) and on otherwise.
	Mmap *bool
	// Slots is the number of generations that may run at once, each with its
	// own context and KV cache; 0 = 1.
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
	// PromptCache keeps each slot's prompt in its KV cache after a
	// generation, so that the next prompt on the slot decodes only what
	// follows the longest common prefix (llama.cpp server's cache_prompt,
	// ollama's runner cache). Cells are reused only where the steering they
	// were computed with is the new request's (see promptCache). The
	// reused prefix is computed in other batches than a fresh prompt's, so
	// logits may differ from an uncached run in the last bits; off (false)
	// every prompt is decoded from position 0.
	PromptCache bool
}

func (o Options) withDefaults() Options {
	if o.Slots <= 0 {
		o.Slots = 1
	}
	if o.Threads <= 0 {
		o.Threads = max(1, runtime.NumCPU()/o.Slots)
	}
	if o.ContextSize <= 0 {
		o.ContextSize = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
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

// Model is a loaded GGUF model with a fixed number of generation slots.
// It is safe for concurrent use.
type Model struct {
	path     string
	opts     Options
	shape    Shape
	template string
	model    *llama.Model
	slots    chan *slot

	// closing is cancelled by Close; running generations watch it.
	closing context.Context
	stopAll context.CancelFunc

	mu     sync.Mutex
	idle   *sync.Cond // signalled when busy drops
	busy   int        // slots handed out
	all    []*slot
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
	m.slots = make(chan *slot, opts.Slots)
	for range opts.Slots {
		s, err := m.newSlot(m.opts.ContextSize, 1)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("load model %q: %w", pathOrName, err)
		}
		m.all = append(m.all, s)
		m.slots <- s
	}
	slog.Debug("model loaded", "path", path, "layers", m.shape.Layers, "heads", m.shape.Heads,
		"head_dim", m.shape.HeadDim, "slots", opts.Slots, "ctx", m.opts.ContextSize, "mmap", mmap)
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

// ContextSize is the per-slot context length in tokens.
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

// acquire waits for a free slot, for ctx, or for Close.
func (m *Model) acquire(ctx context.Context) (*slot, error) {
	select {
	case s := <-m.slots:
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed {
			m.slots <- s // Close frees it
			return nil, ErrClosed
		}
		m.busy++
		return s, nil
	case <-m.closing.Done():
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// enter holds the model open for a call that uses its weights or
// vocabulary without a slot (tokenizing); leave ends it. Close waits for
// such calls as it waits for busy slots.
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

// release returns a slot; the channel has room for every slot, so this
// never blocks, also after Close.
func (m *Model) release(s *slot) {
	m.slots <- s
	m.leave()
}

// withClose returns ctx, also cancelled (with cause ErrClosed) when the
// model is closed, so that Close ends running generations between tokens.
func (m *Model) withClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(m.closing, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// Close stops the running generations (their callers get an error wrapping
// ErrClosed) at their next token, waits for them and for other running
// calls to return their slots, and frees the slots and the weights.
// Calls waiting for a slot return ErrClosed at once.
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
	for range m.all {
		s := <-m.slots
		s.free()
	}
	llama.FreeModel(m.model)
}

// slot is one llama.cpp context with its hook and threadpool.
type slot struct {
	ctx    *llama.Context
	hook   *hook
	pool   *threadpool
	batch  *llama.Batch
	nCtx   int
	nBatch int
	nSeq   int
	// layers whose shift is currently installed, to clear them cheaply
	steered []int
	// cache is what sequence 0's KV cells hold for the next prompt
	cache promptCache
}

func (m *Model) newSlot(nCtx, nSeq int) (*slot, error) {
	o := m.opts
	fa := ml.FlashAttentionAuto
	switch o.FlashAttention {
	case config.FlashAttentionOn:
		fa = ml.FlashAttentionEnabled
	case config.FlashAttentionOff:
		fa = ml.FlashAttentionDisabled
	}
	h, err := newHook(m.shape.Layers, m.shape.Width(), o.BatchSize)
	if err != nil {
		return nil, err
	}
	params := llama.NewContextParams(nCtx, o.BatchSize, nSeq, o.Threads, fa, "")
	// Several sequences in one decode must keep batch order in the callback's
	// columns; a unified KV cache makes llama.cpp split batches in order.
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
	s := &slot{ctx: lctx, hook: h, nCtx: nCtx, nBatch: o.BatchSize, nSeq: nSeq}
	if err := checkContextLayout(lctx, m.model, nCtx); err != nil {
		s.free()
		return nil, err
	}
	// With every layer on a GPU the CPU pool would only spin.
	if o.Poll > 0 && (o.GPULayers >= 0 && o.GPULayers <= m.shape.Layers) {
		s.pool = attachThreadpool(lctx, o.Threads, min(o.Poll, 100))
	}
	b, err := llama.NewBatch(o.BatchSize, nSeq, 0)
	if err != nil {
		s.free()
		return nil, err
	}
	s.batch = b
	return s, nil
}

// nonFinite counts the NaN and infinite logits of batch position i.
func (s *slot) nonFinite(i int) int {
	return logitsNonFinite(s.ctx, i)
}

func (s *slot) free() {
	if s.batch != nil {
		s.batch.Free()
		s.batch = nil
	}
	if s.ctx != nil {
		freeContext(s.ctx)
		s.ctx = nil
	}
	// The pool must outlive the context that uses it.
	if s.pool != nil {
		freeThreadpool(s.pool)
		s.pool = nil
	}
	if s.hook != nil {
		freeHook(s.hook)
		s.hook = nil
	}
}

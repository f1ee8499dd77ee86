// Package testmodel writes small llama-architecture GGUF models and runs a
// pure-Go reference forward pass over them.
//
// No pretrained weights are reachable from this project's build machines, so
// tests make their own models: random ones for plumbing, planted ones (a
// Weights built by the test) to show that probing and steering work, and
// models of a real model's shape (TinyLlama) for speed figures. The
// vocabulary is byte-level (GPT-2's bytes_to_unicode image of each byte,
// with no merges), so llama.cpp tokenizes any UTF-8 text byte by byte.
//
// The reference forward pass follows llama.cpp's llama graph (RMS norm,
// "normal" RoPE on adjacent pairs, causal GQA attention scaled by
// 1/sqrt(head_dim), SwiGLU feed-forward) so tests can compare llama.cpp's
// internal tensors, such as kqv_out-<l>, with it.
package testmodel

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
)

// Token ids of the byte-level vocabulary: ids 0..255 are the bytes.
const (
	BOS       = 256
	EOS       = 257
	ByteVocab = 258
)

// Spec is the shape and hyper-parameters of a model. Zero values of the
// optional fields take the defaults documented on each field.
type Spec struct {
	// Layers is the block count; Heads and KVHeads the query and key/value
	// head counts (GQA when KVHeads < Heads); HeadDim the per-head width, so
	// n_embd = Heads*HeadDim; FFN the feed-forward width.
	Layers, Heads, KVHeads, HeadDim, FFN int
	// Vocab is the vocabulary size: 0 means 258 (256 byte tokens, <s>=256,
	// </s>=257). A larger value appends normal filler tokens "<f258>", ...
	// that the tokenizer never produces, to give models a realistic
	// embedding and output size for benchmarks.
	Vocab int
	// ContextLength is llama.context_length; 0 means 2048.
	ContextLength int
	// Type is the storage type of every 2-D matrix, token_embd and output
	// included; norms and biases are always F32.
	Type WeightType
	// Seed makes Random and Write(path, spec, nil) deterministic.
	Seed int64
	// RMSEps is the RMS norm epsilon; 0 means 1e-5.
	RMSEps float32
	// RopeBase is the RoPE frequency base; 0 means 10000.
	RopeBase float32
	// ChatTemplate, when non-empty, is written as tokenizer.chat_template.
	ChatTemplate string
	// Name is general.name; empty means "testmodel".
	Name string
}

// Tiny is the shape of the tests' tiny model and of the fixture profile
// (profile/testdata/profile-tiny.yaml): 3 layers, 4 heads, 2 KV heads,
// d_h 32, FFN 192, F32 weights, small enough that a test runs in
// milliseconds yet with GQA, several layers and a head size that Q4_0
// blocks divide. Seed, Name and ContextLength are left to the caller.
func Tiny() Spec {
	return Spec{Layers: 3, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 192, Type: F32}
}

// TinyLlama is the shape of TinyLlama-1.1B (22 layers, 32 heads, 4 KV heads,
// n_embd 2048, FFN 5632, 32000 tokens) in Q4_0: a synthetic model of it runs
// at the speed of the real one, which is what benchmarks need.
func TinyLlama() Spec {
	return Spec{
		Layers: 22, Heads: 32, KVHeads: 4, HeadDim: 64, FFN: 5632,
		Vocab: 32000, ContextLength: 2048, Type: Q4_0,
		RMSEps: 1e-5, RopeBase: 10000, Name: "tinyllama-shape",
	}
}

// Embd is n_embd, the width of the residual stream.
func (s Spec) Embd() int { return s.Heads * s.HeadDim }

// KVDim is the width of the key and value projections.
func (s Spec) KVDim() int { return s.KVHeads * s.HeadDim }

// withDefaults fills in the documented defaults of zero fields.
func (s Spec) withDefaults() Spec {
	if s.Vocab == 0 {
		s.Vocab = ByteVocab
	}
	if s.ContextLength == 0 {
		s.ContextLength = 2048
	}
	if s.RMSEps == 0 {
		s.RMSEps = 1e-5
	}
	if s.RopeBase == 0 {
		s.RopeBase = 10000
	}
	if s.Name == "" {
		s.Name = "testmodel"
	}
	return s
}

// Validate reports why llama.cpp could not load a model of this shape, or
// why this package could not write it.
func (s Spec) Validate() error {
	s = s.withDefaults()
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(s.Layers > 0, "layers must be positive, got %d", s.Layers)
	check(s.Heads > 0, "heads must be positive, got %d", s.Heads)
	check(s.KVHeads > 0, "kv heads must be positive, got %d", s.KVHeads)
	check(s.KVHeads <= 0 || s.Heads%s.KVHeads == 0, "heads (%d) must be a multiple of kv heads (%d)", s.Heads, s.KVHeads)
	check(s.HeadDim > 0 && s.HeadDim%2 == 0, "head dim must be positive and even (RoPE rotates pairs), got %d", s.HeadDim)
	check(s.FFN > 0, "ffn must be positive, got %d", s.FFN)
	check(s.Vocab >= ByteVocab, "vocab must be 0 or at least %d (the byte vocabulary), got %d", ByteVocab, s.Vocab)
	check(s.ContextLength > 0, "context length must be positive, got %d", s.ContextLength)
	check(s.RMSEps > 0, "rms eps must be positive, got %g", s.RMSEps)
	check(s.RopeBase > 0, "rope base must be positive, got %g", s.RopeBase)
	check(s.Type.valid(), "unknown weight type %v", s.Type)
	if s.Type == Q4_0 {
		// Every matrix row (ggml ne0) is n_embd long except ffn_down's.
		check(s.Embd()%q4Block == 0, "q4_0 needs n_embd (%d) to be a multiple of %d", s.Embd(), q4Block)
		check(s.FFN%q4Block == 0, "q4_0 needs ffn (%d) to be a multiple of %d", s.FFN, q4Block)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid spec: %w", err)
	}
	return nil
}

// Layer holds one block's weights. Matrices are row-major [out][in], the
// layout of a ggml tensor with shape {in, out}.
type Layer struct {
	AttnNorm []float32 // [n_embd]
	Wq       []float32 // [n_embd][n_embd]
	Wk, Wv   []float32 // [kv_heads*head_dim][n_embd]
	Wo       []float32 // [n_embd][n_embd]
	// AttnOutBias is optional ([n_embd]); when non-nil it is written as
	// blk.<l>.attn_output.bias, which llama.cpp adds after Wo.
	AttnOutBias []float32
	FFNNorm     []float32 // [n_embd]
	Gate, Up    []float32 // [ffn][n_embd]
	Down        []float32 // [n_embd][ffn]
}

// Weights holds a whole model in float32, before any quantization.
type Weights struct {
	TokenEmbd  []float32 // [vocab][n_embd]
	Layers     []Layer
	OutputNorm []float32 // [n_embd]
	Output     []float32 // [vocab][n_embd]
}

// tensor describes one GGUF tensor: a row-major [rows][cols] array (ggml
// shape {cols, rows}, or {cols} for a vector) and where its values live in
// a Weights. The same table drives Random, Write and shape checks, so they
// cannot disagree on names, shapes or random streams.
type tensor struct {
	name       string
	rows, cols int
	matrix     bool // stored as Spec.Type; vectors are always F32
	mean, std  float64
	field      func(w *Weights) *[]float32
}

func (t tensor) shape() []uint64 {
	if !t.matrix {
		return []uint64{uint64(t.cols)}
	}
	return []uint64{uint64(t.cols), uint64(t.rows)}
}

// tensors lists the model's tensors. Random weights use std 1/sqrt(fan_in)
// for projections (so activations stay O(1) through the layers and logits
// have std about 1), std 1 for the embedding (rows are RMS-normed before
// use anyway) and 1 ± small noise for norm weights. withBias lists the
// layers that have an attn_output.bias.
func tensors(s Spec, withBias func(l int) bool) []tensor {
	e, kv, ff, v := s.Embd(), s.KVDim(), s.FFN, s.Vocab
	proj := 1 / math.Sqrt(float64(e))
	ts := []tensor{
		{"token_embd.weight", v, e, true, 0, 1, func(w *Weights) *[]float32 { return &w.TokenEmbd }},
		{"output_norm.weight", 1, e, false, 1, 0.1, func(w *Weights) *[]float32 { return &w.OutputNorm }},
		{"output.weight", v, e, true, 0, proj, func(w *Weights) *[]float32 { return &w.Output }},
	}
	for l := range s.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		ly := func(f func(*Layer) *[]float32) func(*Weights) *[]float32 {
			return func(w *Weights) *[]float32 { return f(&w.Layers[l]) }
		}
		ts = append(ts,
			tensor{p + "attn_norm.weight", 1, e, false, 1, 0.1, ly(func(y *Layer) *[]float32 { return &y.AttnNorm })},
			tensor{p + "attn_q.weight", e, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Wq })},
			tensor{p + "attn_k.weight", kv, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Wk })},
			tensor{p + "attn_v.weight", kv, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Wv })},
			tensor{p + "attn_output.weight", e, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Wo })},
		)
		if withBias != nil && withBias(l) {
			ts = append(ts, tensor{p + "attn_output.bias", 1, e, false, 0, 0, ly(func(y *Layer) *[]float32 { return &y.AttnOutBias })})
		}
		ts = append(ts,
			tensor{p + "ffn_norm.weight", 1, e, false, 1, 0.1, ly(func(y *Layer) *[]float32 { return &y.FFNNorm })},
			tensor{p + "ffn_gate.weight", ff, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Gate })},
			tensor{p + "ffn_up.weight", ff, e, true, 0, proj, ly(func(y *Layer) *[]float32 { return &y.Up })},
			tensor{p + "ffn_down.weight", e, ff, true, 0, 1 / math.Sqrt(float64(ff)), ly(func(y *Layer) *[]float32 { return &y.Down })},
		)
	}
	return ts
}

// stream generates one tensor's random values row by row. Each tensor has
// its own generator, seeded from Spec.Seed and the tensor name, so tensors
// can be produced independently (and concurrently, as ggml.WriteGGUF does)
// while the result depends only on the seed. Values are uniform with the
// given mean and standard deviation: cheap enough for a 1.1B-parameter
// file, and the PCG generator's output is fixed across Go releases.
type stream struct {
	rng        *rand.PCG
	mean, half float64
}

func newStream(seed int64, t tensor) *stream {
	h := fnv.New64a()
	io.WriteString(h, t.name)
	return &stream{rand.NewPCG(uint64(seed), h.Sum64()), t.mean, t.std * math.Sqrt(3)}
}

func (s *stream) fill(dst []float32) {
	for i := range dst {
		u := float64(s.rng.Uint64()>>11) * 0x1p-53 // [0, 1)
		dst[i] = float32(s.mean + s.half*(2*u-1))
	}
}

// Random returns the weights Write(path, spec, nil) writes: deterministic
// in spec.Seed, scaled so activations stay O(1) over many layers and
// greedy decoding does not collapse onto one token. It has no attention
// output biases. It panics if spec is invalid, because the shapes would be
// meaningless; call Validate first for a spec from outside the program.
func Random(spec Spec) *Weights {
	if err := spec.Validate(); err != nil {
		panic(fmt.Sprintf("testmodel.Random: %v", err))
	}
	spec = spec.withDefaults()
	w := &Weights{Layers: make([]Layer, spec.Layers)}
	for _, t := range tensors(spec, nil) {
		data := make([]float32, t.rows*t.cols)
		newStream(spec.Seed, t).fill(data)
		*t.field(w) = data
	}
	return w
}

// check reports weights whose shape does not match spec (with defaults).
func (w *Weights) check(spec Spec) error {
	if len(w.Layers) != spec.Layers {
		return fmt.Errorf("weights have %d layers, spec has %d", len(w.Layers), spec.Layers)
	}
	for _, t := range tensors(spec, w.hasBias) {
		if n := len(*t.field(w)); n != t.rows*t.cols {
			return fmt.Errorf("%s has %d values, want %d (%d×%d)", t.name, n, t.rows*t.cols, t.rows, t.cols)
		}
	}
	return nil
}

func (w *Weights) hasBias(l int) bool { return w.Layers[l].AttnOutBias != nil }

// Write writes a GGUF model to path. With w == nil it writes Random(spec)
// without ever holding it: each tensor is generated row by row inside its
// WriterTo, so the 1.1B-parameter TinyLlama shape needs a few MiB. The same
// spec always gives a byte-identical file. With w != nil it writes w, its
// matrices stored as spec.Type. A partly written file is removed on error.
func Write(path string, spec Spec, w *Weights) (err error) {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	spec = spec.withDefaults()
	var bias func(int) bool
	if w != nil {
		if err := w.check(spec); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		bias = w.hasBias
	}

	ts := tensors(spec, bias)
	gts := make([]*ggml.Tensor, len(ts))
	for i, t := range ts {
		typ := F32
		if t.matrix {
			typ = spec.Type
		}
		tw := &tensorWriter{rows: t.rows, cols: t.cols, typ: typ}
		if w == nil {
			s := newStream(spec.Seed, t)
			tw.next = func(_ int, dst []float32) { s.fill(dst) }
		} else {
			data := *t.field(w)
			tw.next = func(r int, dst []float32) { copy(dst, data[r*t.cols:]) }
		}
		gts[i] = &ggml.Tensor{Name: t.name, Kind: uint32(typ), Shape: t.shape(), WriterTo: tw}
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := ggml.WriteGGUF(f, spec.kv(), gts); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// kv returns the GGUF metadata. Keys are written in full, since WriteGGUF
// prefixes keys outside general./tokenizer. with the architecture. Counts
// and token ids are uint32 and token types int32, the types llama.cpp reads.
func (s Spec) kv() ggml.KV {
	tokens, types := vocabulary(s.Vocab)
	kv := ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           s.Name,
		"general.file_type":                      uint32(s.Type),
		"general.quantization_version":           uint32(2),
		"llama.context_length":                   uint32(s.ContextLength),
		"llama.embedding_length":                 uint32(s.Embd()),
		"llama.block_count":                      uint32(s.Layers),
		"llama.feed_forward_length":              uint32(s.FFN),
		"llama.attention.head_count":             uint32(s.Heads),
		"llama.attention.head_count_kv":          uint32(s.KVHeads),
		"llama.attention.layer_norm_rms_epsilon": s.RMSEps,
		"llama.rope.dimension_count":             uint32(s.HeadDim),
		"llama.rope.freq_base":                   s.RopeBase,
		"llama.vocab_size":                       uint32(s.Vocab),
		"tokenizer.ggml.model":                   "gpt2",
		"tokenizer.ggml.pre":                     "default",
		"tokenizer.ggml.tokens":                  tokens,
		"tokenizer.ggml.token_type":              types,
		"tokenizer.ggml.merges":                  []string{},
		"tokenizer.ggml.bos_token_id":            uint32(BOS),
		"tokenizer.ggml.eos_token_id":            uint32(EOS),
		"tokenizer.ggml.add_bos_token":           true,
	}
	if s.ChatTemplate != "" {
		kv["tokenizer.chat_template"] = s.ChatTemplate
	}
	return kv
}

// vocabulary returns the token texts and types: byte b is GPT-2's
// bytes_to_unicode image of b (so llama.cpp's byte-level BPE maps each
// input byte to token id b), then the control tokens <s> and </s>, then
// normal filler tokens up to n.
func vocabulary(n int) ([]string, []int32) {
	const normal, control = 1, 3
	tokens := make([]string, n)
	types := make([]int32, n)
	next := rune(256)
	for b := range 256 {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae && b <= 0xff) {
			r = next
			next++
		}
		tokens[b], types[b] = string(r), normal
	}
	tokens[BOS], types[BOS] = "<s>", control
	tokens[EOS], types[EOS] = "</s>", control
	for i := ByteVocab; i < n; i++ {
		tokens[i], types[i] = fmt.Sprintf("<f%d>", i), normal
	}
	return tokens, types
}

// tensorWriter encodes a tensor row by row, so no more than one row and a
// small buffer are in memory at once.
type tensorWriter struct {
	rows, cols int
	typ        WeightType
	next       func(row int, dst []float32)
}

func (t *tensorWriter) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	row := make([]float32, t.cols)
	var buf []byte
	var n int64
	for r := range t.rows {
		t.next(r, row)
		buf = t.typ.appendRow(buf[:0], row)
		m, err := bw.Write(buf)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

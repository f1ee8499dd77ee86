package testmodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

func small(typ WeightType) Spec {
	return Spec{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 96, Type: typ, Seed: 7}
}

func TestValidate(t *testing.T) {
	if err := small(Q4_0).Validate(); err != nil {
		t.Fatalf("small spec: %v", err)
	}
	if err := TinyLlama().Validate(); err != nil {
		t.Fatalf("TinyLlama: %v", err)
	}
	for _, c := range []struct {
		edit func(*Spec)
		want string
	}{
		{func(s *Spec) { s.KVHeads = 3 }, "multiple of kv heads"},
		{func(s *Spec) { s.HeadDim = 15 }, "even"},
		{func(s *Spec) { s.FFN = 100 }, "ffn (100) to be a multiple of 32"},
		{func(s *Spec) { s.HeadDim = 6 }, "n_embd (24) to be a multiple of 32"},
		{func(s *Spec) { s.Vocab = 100 }, "vocab"},
		{func(s *Spec) { s.Layers = 0 }, "layers"},
		{func(s *Spec) { s.Type = 9 }, "weight type"},
	} {
		s := small(Q4_0)
		c.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
		}
	}
	s := small(F16)
	s.FFN = 100 // fine without Q4_0
	if err := s.Validate(); err != nil {
		t.Errorf("f16 with ffn 100: %v", err)
	}
}

func TestVocabulary(t *testing.T) {
	tokens, types := vocabulary(300)
	seen := map[string]bool{}
	for i, tok := range tokens {
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
		want := int32(1)
		if i == BOS || i == EOS {
			want = 3
		}
		if types[i] != want {
			t.Errorf("token %d %q has type %d", i, tok, types[i])
		}
	}
	// Spot checks of GPT-2's bytes_to_unicode: printable bytes map to
	// themselves, others to 256+n in byte order.
	for b, want := range map[int]string{'A': "A", ' ': "Ġ", '\n': "Ċ", 0: "Ā", 0xad: "Ń", 0xe3: "ã", 0x7f: "ġ"} {
		if tokens[b] != want {
			t.Errorf("byte %#x -> %q, want %q", b, tokens[b], want)
		}
	}
	if tokens[256] != "<s>" || tokens[257] != "</s>" || tokens[299] != "<f299>" {
		t.Errorf("special/filler tokens %q %q %q", tokens[256], tokens[257], tokens[299])
	}
}

// decode reads a written file's metadata and tensor table.
func decode(t *testing.T, path string) (*ggml.GGML, map[string]*ggml.Tensor) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	ts := map[string]*ggml.Tensor{}
	for _, tt := range g.Tensors().Items() {
		ts[tt.Name] = tt
	}
	return g, ts
}

// tensorData reads one tensor's raw bytes from a written file.
func tensorData(t *testing.T, path string, g *ggml.GGML, tt *ggml.Tensor) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, tt.Size())
	if _, err := f.ReadAt(b, int64(g.Tensors().Offset+tt.Offset)); err != nil {
		t.Fatalf("read %s: %v", tt.Name, err)
	}
	return b
}

func TestWriteMetadataAndShapes(t *testing.T) {
	for _, typ := range []WeightType{F32, F16, Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := small(typ)
			spec.Vocab = 300
			spec.ChatTemplate = "{{ .Prompt }}"
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := Write(path, spec, nil); err != nil {
				t.Fatal(err)
			}
			g, ts := decode(t, path)
			kv := g.KV()
			for key, want := range map[string]uint32{
				"general.file_type":             uint32(typ),
				"llama.context_length":          2048,
				"llama.embedding_length":        64,
				"llama.block_count":             2,
				"llama.feed_forward_length":     96,
				"llama.attention.head_count":    4,
				"llama.attention.head_count_kv": 2,
				"llama.rope.dimension_count":    16,
				"llama.vocab_size":              300,
				"tokenizer.ggml.bos_token_id":   256,
				"tokenizer.ggml.eos_token_id":   257,
			} {
				if got, ok := kv[key].(uint32); !ok || got != want {
					t.Errorf("%s = %v (%T), want uint32 %d", key, kv[key], kv[key], want)
				}
			}
			for key, want := range map[string]float32{
				"llama.attention.layer_norm_rms_epsilon": 1e-5,
				"llama.rope.freq_base":                   10000,
			} {
				if got, ok := kv[key].(float32); !ok || got != want {
					t.Errorf("%s = %v (%T), want float32 %g", key, kv[key], kv[key], want)
				}
			}
			for key, want := range map[string]string{
				"general.architecture":    "llama",
				"general.name":            "testmodel",
				"tokenizer.ggml.model":    "gpt2",
				"tokenizer.ggml.pre":      "default",
				"tokenizer.chat_template": "{{ .Prompt }}",
			} {
				if got := kv.String(key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			if !kv.Bool("tokenizer.ggml.add_bos_token") {
				t.Error("add_bos_token is not true")
			}
			if _, ok := kv["tokenizer.ggml.merges"]; !ok || len(kv.Strings("tokenizer.ggml.merges")) != 0 {
				t.Errorf("merges = %v, want an empty array", kv["tokenizer.ggml.merges"])
			}
			tokens, types := kv.Strings("tokenizer.ggml.tokens"), kv.Ints("tokenizer.ggml.token_type")
			if len(tokens) != 300 || len(types) != 300 || tokens[BOS] != "<s>" || types[BOS] != 3 || types['a'] != 1 {
				t.Errorf("tokens %d, types %d (int32 array?)", len(tokens), len(types))
			}

			want := map[string][]uint64{
				"token_embd.weight":  {64, 300},
				"output.weight":      {64, 300},
				"output_norm.weight": {64},
			}
			for l := range 2 {
				p := fmt.Sprintf("blk.%d.", l)
				want[p+"attn_norm.weight"] = []uint64{64}
				want[p+"ffn_norm.weight"] = []uint64{64}
				want[p+"attn_q.weight"] = []uint64{64, 64}
				want[p+"attn_k.weight"] = []uint64{64, 32}
				want[p+"attn_v.weight"] = []uint64{64, 32}
				want[p+"attn_output.weight"] = []uint64{64, 64}
				want[p+"ffn_gate.weight"] = []uint64{64, 96}
				want[p+"ffn_up.weight"] = []uint64{64, 96}
				want[p+"ffn_down.weight"] = []uint64{96, 64}
			}
			if len(ts) != len(want) {
				t.Errorf("%d tensors, want %d", len(ts), len(want))
			}
			for name, shape := range want {
				tt, ok := ts[name]
				if !ok {
					t.Errorf("missing %s", name)
					continue
				}
				if fmt.Sprint(tt.Shape) != fmt.Sprint(shape) {
					t.Errorf("%s shape %v, want %v", name, tt.Shape, shape)
				}
				wantKind := uint32(typ)
				if len(shape) == 1 {
					wantKind = 0
				}
				if tt.Kind != wantKind {
					t.Errorf("%s kind %d, want %d", name, tt.Kind, wantKind)
				}
			}
		})
	}
}

// The data in the file is Random(spec) in row-major [out][in] order, stored
// as spec.Type: check a square, a wide and a vector tensor.
func TestWriteData(t *testing.T) {
	for _, typ := range []WeightType{F32, F16, Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := small(typ)
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := Write(path, spec, nil); err != nil {
				t.Fatal(err)
			}
			g, ts := decode(t, path)
			w := Random(spec)
			for name, vals := range map[string][]float32{
				"token_embd.weight":      w.TokenEmbd,
				"blk.1.ffn_down.weight":  w.Layers[1].Down,
				"blk.0.attn_k.weight":    w.Layers[0].Wk,
				"blk.1.attn_norm.weight": w.Layers[1].AttnNorm,
			} {
				tt := ts[name]
				b := tensorData(t, path, g, tt)
				var got []float32
				switch {
				case tt.Kind == 2:
					got = DequantizeQ4_0(b)
				case tt.Kind == 1:
					got = DecodeF16(b)
				default:
					got = decodeF32(b)
				}
				want := vals
				if len(tt.Shape) == 2 {
					want = typ.round(vals)
				}
				if !equal32(got, want) {
					t.Errorf("%s: file data differs from Random(spec)", name)
				}
			}
		})
	}
}

func decodeF32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteDeterministic(t *testing.T) {
	dir := t.TempDir()
	spec := small(Q4_0)
	write := func(name string, s Spec, w *Weights) []byte {
		p := filepath.Join(dir, name)
		if err := Write(p, s, w); err != nil {
			t.Fatal(err)
		}
		return readAll(t, p)
	}
	a := write("a", spec, nil)
	if b := write("b", spec, nil); !bytes.Equal(a, b) {
		t.Error("same seed gave different files")
	}
	if c := write("c", spec, Random(spec)); !bytes.Equal(a, c) {
		t.Error("Write(nil) differs from Write(Random(spec))")
	}
	other := spec
	other.Seed++
	if d := write("d", other, nil); bytes.Equal(a, d) || len(a) != len(d) {
		t.Error("a different seed gave the same file (or a different size)")
	}
}

func TestWriteBiasAndErrors(t *testing.T) {
	dir := t.TempDir()
	spec := small(F16)
	w := Random(spec)
	w.Layers[1].AttnOutBias = make([]float32, spec.Embd())
	path := filepath.Join(dir, "bias.gguf")
	if err := Write(path, spec, w); err != nil {
		t.Fatal(err)
	}
	_, ts := decode(t, path)
	if b, ok := ts["blk.1.attn_output.bias"]; !ok || b.Kind != 0 || fmt.Sprint(b.Shape) != "[64]" {
		t.Errorf("bias tensor %+v", b)
	}
	if _, ok := ts["blk.0.attn_output.bias"]; ok {
		t.Error("layer 0 has a bias it was not given")
	}

	w.Layers[0].Wk = w.Layers[0].Wk[1:]
	bad := filepath.Join(dir, "bad.gguf")
	if err := Write(bad, spec, w); err == nil || !strings.Contains(err.Error(), "blk.0.attn_k.weight") {
		t.Errorf("short Wk: %v", err)
	}
	spec.KVHeads = 3
	if err := Write(bad, spec, nil); err == nil {
		t.Error("invalid spec written")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("failed write left %s behind", bad)
	}
}

// The TinyLlama shape streams from the seed: allocations stay far below the
// size of its weights.
func TestWriteTinyLlamaStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a ~130 MB file")
	}
	spec := TinyLlama()
	spec.Layers = 2
	path := filepath.Join(t.TempDir(), "tiny.gguf")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := Write(path, spec, nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	params := 2*spec.Vocab*spec.Embd() + spec.Layers*(2*spec.Embd()*spec.Embd()+2*spec.KVDim()*spec.Embd()+3*spec.FFN*spec.Embd())
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d params, %d MiB allocated in total", params, alloc>>20)
	if alloc > 64<<20 || alloc > uint64(params) {
		t.Errorf("allocated %d MiB writing %d parameters: not streaming", alloc>>20, params)
	}

	g, ts := decode(t, path)
	if got := g.KV().Uint("attention.head_count_kv"); got != 4 {
		t.Errorf("head_count_kv %d", got)
	}
	if tt := ts["blk.1.ffn_down.weight"]; tt == nil || tt.Kind != 2 || fmt.Sprint(tt.Shape) != "[5632 2048]" {
		t.Errorf("ffn_down %+v", tt)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(params) / 32 * 18; fi.Size() < want {
		t.Errorf("file is %d bytes, want at least %d", fi.Size(), want)
	}
}

var _ io.WriterTo = (*tensorWriter)(nil)

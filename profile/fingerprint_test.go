package profile

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

// ggufSpec is the shape of a test GGUF.
type ggufSpec struct {
	layers, heads, kvHeads, headDim, ffn int
	seed                                 uint32 // changes the weights, not the layout
	kind                                 uint32 // ggml type of the attn_q matrices (0 F32, 1 F16)
	valueLength                          uint32 // written as llama.attention.value_length when > 0
	headCountArray                       []uint32
	bias                                 bool   // add blk.<l>.attn_output.bias (a baked copy)
	bigTensor                            uint64 // extra F32 tensor of this many elements
	extraTokens                          int    // filler tokens appended to the vocabulary
}

// fill is a WriterTo of n deterministic values of size bytes each.
type fill struct {
	n    uint64
	size int
	seed uint32
}

func (f fill) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 0, 1<<16)
	var written int64
	flush := func() error {
		n, err := w.Write(buf)
		written += int64(n)
		buf = buf[:0]
		return err
	}
	x := f.seed*2654435761 + 1
	for i := uint64(0); i < f.n; i++ {
		x = x*1664525 + 1013904223
		v := float32(int32(x>>8)%1000) / 10000
		if f.size == 2 {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(math.Float32bits(v)>>16)) // bf16-ish bits; content does not matter
		} else {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		if len(buf) >= 1<<16-4 {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	return written, flush()
}

// byteTokens is GPT-2's bytes_to_unicode image of the bytes 0..255.
func byteTokens() []string {
	var printable []int
	for b := '!'; b <= '~'; b++ {
		printable = append(printable, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		printable = append(printable, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		printable = append(printable, b)
	}
	isPrintable := map[int]bool{}
	for _, b := range printable {
		isPrintable[b] = true
	}
	toks := make([]string, 256)
	n := 0
	for b := range 256 {
		if isPrintable[b] {
			toks[b] = string(rune(b))
		} else {
			toks[b] = string(rune(256 + n))
			n++
		}
	}
	return toks
}

// writeGGUF writes a small llama GGUF with the keys a llama.cpp llama model
// has (general.architecture, llama.block_count, llama.attention.head_count,
// ...), enough for the fingerprint.
func writeGGUF(t testing.TB, path string, s ggufSpec) {
	t.Helper()
	embd := s.heads * s.headDim
	tokens := append(byteTokens(), "<s>", "</s>")
	for i := range s.extraTokens {
		tokens = append(tokens, fmt.Sprintf("<filler-token-%08d>", i))
	}
	types := make([]int32, len(tokens))
	for i := range types {
		types[i] = 1
	}
	types[256], types[257] = 3, 3
	kv := ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           "fingerprint-test",
		"llama.context_length":                   uint32(256),
		"llama.embedding_length":                 uint32(embd),
		"llama.block_count":                      uint32(s.layers),
		"llama.feed_forward_length":              uint32(s.ffn),
		"llama.attention.head_count":             uint32(s.heads),
		"llama.attention.head_count_kv":          uint32(s.kvHeads),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.rope.dimension_count":             uint32(s.headDim),
		"llama.vocab_size":                       uint32(len(tokens)),
		"tokenizer.ggml.model":                   "gpt2",
		"tokenizer.ggml.pre":                     "default",
		"tokenizer.ggml.tokens":                  tokens,
		"tokenizer.ggml.token_type":              types,
		"tokenizer.ggml.merges":                  []string{},
		"tokenizer.ggml.bos_token_id":            uint32(256),
		"tokenizer.ggml.eos_token_id":            uint32(257),
	}
	if s.valueLength > 0 {
		kv["llama.attention.value_length"] = s.valueLength
	}
	if s.headCountArray != nil {
		kv["llama.attention.head_count"] = s.headCountArray
	}
	seed := s.seed
	tensor := func(name string, kind uint32, shape ...uint64) *ggml.Tensor {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		size := 4
		if kind == 1 {
			size = 2
		}
		seed++
		return &ggml.Tensor{Name: name, Kind: kind, Shape: shape, WriterTo: fill{n: n, size: size, seed: seed}}
	}
	e, v, kvd, ff := uint64(embd), uint64(len(tokens)), uint64(s.kvHeads*s.headDim), uint64(s.ffn)
	ts := []*ggml.Tensor{
		tensor("token_embd.weight", 0, e, v),
		tensor("output_norm.weight", 0, e),
		tensor("output.weight", 0, e, v),
	}
	for l := range s.layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			tensor(p+"attn_norm.weight", 0, e),
			tensor(p+"attn_q.weight", s.kind, e, e),
			tensor(p+"attn_k.weight", 0, e, kvd),
			tensor(p+"attn_v.weight", 0, e, kvd),
			tensor(p+"attn_output.weight", 0, e, e),
			tensor(p+"ffn_norm.weight", 0, e),
			tensor(p+"ffn_gate.weight", 0, e, ff),
			tensor(p+"ffn_up.weight", 0, e, ff),
			tensor(p+"ffn_down.weight", 0, ff, e),
		)
		if s.bias {
			ts = append(ts, tensor(p+"attn_output.bias", 0, e))
		}
	}
	if s.bigTensor > 0 {
		ts = append(ts, tensor("zz_big.weight", 0, s.bigTensor))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
}

func tinySpec() ggufSpec {
	return ggufSpec{layers: 3, heads: 4, kvHeads: 2, headDim: 32, ffn: 64, seed: 1}
}

var fingerprintForm = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func fingerprintOf(t *testing.T, s ggufSpec) ModelIdentity {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	writeGGUF(t, path, s)
	id, err := ModelFingerprint(path)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestModelFingerprint(t *testing.T) {
	id := fingerprintOf(t, tinySpec())
	want := ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32, Fingerprint: id.Fingerprint, File: "m.gguf"}
	if id != want {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	if !fingerprintForm.MatchString(id.Fingerprint) {
		t.Fatalf("fingerprint %q", id.Fingerprint)
	}

	// The fixture profile fits this model (it has no fingerprint), and a
	// profile made on it checks against it.
	p := tinyProfile()
	if err := p.CheckModel(id); err != nil {
		t.Fatal(err)
	}
	p.Model = id
	if err := p.Validate(); err != nil {
		t.Fatalf("a fingerprint from ModelFingerprint does not validate: %v", err)
	}

	// Layout, not weights: other weights, same fingerprint.
	s := tinySpec()
	s.seed = 99
	if other := fingerprintOf(t, s); other.Fingerprint != id.Fingerprint {
		t.Error("fingerprint depends on the weights")
	}

	// Anything in the layout changes it.
	changes := map[string]func(*ggufSpec){
		"layers":      func(s *ggufSpec) { s.layers = 4 },
		"ffn":         func(s *ggufSpec) { s.ffn = 96 },
		"kv heads":    func(s *ggufSpec) { s.kvHeads = 4 },
		"tensor type": func(s *ggufSpec) { s.kind = 1 },
		"baked bias":  func(s *ggufSpec) { s.bias = true },
		"vocabulary":  func(s *ggufSpec) { s.extraTokens = 2 },
	}
	seen := map[string]string{id.Fingerprint: "base"}
	for name, change := range changes {
		s := tinySpec()
		change(&s)
		fp := fingerprintOf(t, s).Fingerprint
		if prev, dup := seen[fp]; dup {
			t.Errorf("%s: same fingerprint as %s", name, prev)
		}
		seen[fp] = name
	}

	// Same shape, another layout: CheckModel says so.
	s = tinySpec()
	s.kind = 1
	q4 := fingerprintOf(t, s)
	p.Model = id
	if err := p.CheckModel(q4); err == nil || !strings.Contains(err.Error(), "another GGUF") {
		t.Errorf("CheckModel across quantizations: %v", err)
	}
}

func TestModelFingerprintHeadDim(t *testing.T) {
	s := tinySpec()
	s.valueLength = 16 // d_h of the value heads need not be n_embd/n_head
	if id := fingerprintOf(t, s); id.HeadDim != 16 {
		t.Errorf("head dim %d, want value_length 16", id.HeadDim)
	}

	s = tinySpec()
	s.headCountArray = []uint32{4, 4, 4}
	if id := fingerprintOf(t, s); id.Heads != 4 || id.HeadDim != 32 {
		t.Errorf("per-layer head counts: %+v", id)
	}

	s = tinySpec()
	s.headCountArray = []uint32{4, 2, 4}
	path := filepath.Join(t.TempDir(), "m.gguf")
	writeGGUF(t, path, s)
	if _, err := ModelFingerprint(path); err == nil || !strings.Contains(err.Error(), "varies per layer") {
		t.Errorf("varying head counts: %v", err)
	}
}

func TestModelFingerprintErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ModelFingerprint(filepath.Join(dir, "missing.gguf")); err == nil {
		t.Error("missing file")
	}
	notGGUF := filepath.Join(dir, "x.gguf")
	if err := os.WriteFile(notGGUF, []byte("version: 1\nkind: asmr-steering-profile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ModelFingerprint(notGGUF); err == nil || !strings.Contains(err.Error(), notGGUF) {
		t.Errorf("not a GGUF: %v", err)
	}
	// A truncated file: the header promises more tensor data than there is.
	good := filepath.Join(dir, "good.gguf")
	writeGGUF(t, good, tinySpec())
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{8, 100, len(data) / 2, len(data) - 1} {
		cut := filepath.Join(dir, "cut.gguf")
		if err := os.WriteFile(cut, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ModelFingerprint(cut); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	rs io.ReadSeeker
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rs.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.rs.Seek(off, whence) }

// headerBytesRead fingerprints path through a countingReader.
func headerBytesRead(t *testing.T, path string) (ModelIdentity, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := &countingReader{rs: f}
	id, err := fingerprintGGUF(cr)
	if err != nil {
		t.Fatal(err)
	}
	return id, cr.n
}

// headerLength is where the tensor data begins.
func headerLength(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	return int64(g.Tensors().Offset)
}

func TestModelFingerprintReadsHeaderOnly(t *testing.T) {
	// A narrow model (n_embd 4) keeps the file small while its vocabulary
	// is as long as a real one's.
	s := ggufSpec{layers: 2, heads: 2, kvHeads: 1, headDim: 2, ffn: 8, seed: 1}
	s.bigTensor = 4 << 20 // 16 MiB of tensor data
	s.extraTokens = 150_000
	path := filepath.Join(t.TempDir(), "big.gguf")
	writeGGUF(t, path, s)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	hdr := headerLength(t, path)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, n := headerBytesRead(t, path)
	runtime.ReadMemStats(&after)

	// The decoder reads through a 32 KiB buffer: allow that much past the
	// header, not the tensor data.
	if n > hdr+64<<10 {
		t.Errorf("read %d bytes of a %d-byte file whose header is %d bytes: tensor data was read", n, st.Size(), hdr)
	}
	// 150k tokens kept as strings would allocate about 6 MB; dropped ones
	// allocate nothing.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3<<20 {
		t.Errorf("fingerprinting allocated %d bytes: the tokenizer arrays were loaded", alloc)
	}
	t.Logf("file %d bytes, header %d, read %d, allocated %d", st.Size(), hdr, n, after.TotalAlloc-before.TotalAlloc)
}

// The third-party model in ../shared is an extra check on a file nobody here
// wrote; a fresh clone passes without it.
func TestModelFingerprintSharedModel(t *testing.T) {
	const path = "/work/shared/models/llama-2-tiny-random.gguf"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not present (optional third-party check): %v", path, err)
	}
	id, n := headerBytesRead(t, path)
	if id.Architecture != "llama" || id.Layers <= 0 || id.Heads <= 0 || id.HeadDim <= 0 || !fingerprintForm.MatchString(id.Fingerprint) {
		t.Fatalf("identity %+v", id)
	}
	id2, err := ModelFingerprint(path)
	if err != nil {
		t.Fatal(err)
	}
	if id2.Fingerprint != id.Fingerprint || id2.File != "llama-2-tiny-random.gguf" {
		t.Fatalf("%+v vs %+v", id2, id)
	}
	if hdr := headerLength(t, path); n > hdr+64<<10 {
		t.Errorf("read %d bytes, header is %d", n, hdr)
	}
	t.Logf("%s: %+v (read %d bytes)", path, id, n)
}

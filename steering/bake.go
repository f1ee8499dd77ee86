package steering

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/llama"
)

// ErrBakeUnsupported is wrapped by Bake's error for a model whose
// architecture has no attention-output bias in llama.cpp's graph.
var ErrBakeUnsupported = errors.New("architecture cannot carry baked steering")

// bakeArchitectures are the architectures whose llama.cpp graph loads
// blk.<l>.attn_output.bias and adds it to W_o's output, which then goes
// straight into the residual stream, so that a baked bias equals steering
// with scope "all" (tested for llama). Others either load no such bias
// (gemma3 passes NULL to build_attn) or normalise after W_o, where a
// bias would not be the same shift; a baked file would silently ignore it
// or steer differently.
var bakeArchitectures = map[string]bool{"llama": true}

// BakeResult says what Bake wrote.
type BakeResult struct {
	Shape         Shape
	Heads         int // steered heads
	Layers        int // layers whose attn_output.bias was written
	BiasesAdded   int // bias tensors created
	BiasesShifted int // bias tensors that existed and were shifted
}

// Bake writes a copy of the GGUF at src to dst in which every steered
// layer's blk.<l>.attn_output.bias holds W_o^l · shift_l (added to a bias
// that is already there). That is steering with scope "all", fixed into the
// weights: the copy runs in stock llama.cpp or Ollama, on any backend, with
// no callback. It shifts every token, prompt included, unlike the default
// "generation" scope.
//
// W_o may be of any type ggml can dequantize. Tensors are copied byte for
// byte; only the bias tensors and a general.asmr.steering note are new.
func Bake(src, dst string, iv Intervention, note string) (*BakeResult, error) {
	backendOnce.Do(llama.BackendInit)
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		return nil, fmt.Errorf("bake: read %s: %w", src, err)
	}
	kv := g.KV()
	shape := Shape{
		Arch:    kv.Architecture(),
		Layers:  int(kv.BlockCount()),
		Heads:   int(kv.HeadCountMax()),
		KVHeads: int(kv.HeadCountKVMax()),
		HeadDim: int(kv.EmbeddingHeadCountV()),
		Embd:    int(kv.EmbeddingLength()),
	}
	if !bakeArchitectures[shape.Arch] {
		return nil, fmt.Errorf("bake %s: %w: %q (llama.cpp adds no attn_output.bias after W_o for it); bake supports llama, steer %s at run time instead",
			src, ErrBakeUnsupported, shape.Arch, shape.Arch)
	}
	if err := iv.Validate(shape); err != nil {
		return nil, fmt.Errorf("bake %s: %w", src, err)
	}
	if len(iv) == 0 {
		return nil, errors.New("bake: the intervention is empty: nothing to bake (check the alphas and the profile's heads)")
	}

	byName := map[string]*ggml.Tensor{}
	for _, t := range g.Tensors().Items() {
		byName[t.Name] = t
	}
	dataStart := int64(g.Tensors().Offset)
	width := shape.Width()
	res := &BakeResult{Shape: shape, Heads: len(iv)}
	biases := map[int][]float32{}
	for _, l := range iv.Layers() {
		wo := byName[fmt.Sprintf("blk.%d.attn_output.weight", l)]
		if wo == nil || len(wo.Shape) != 2 || int(wo.Shape[0]) != width {
			return nil, fmt.Errorf("bake: layer %d has no attn_output.weight of %d input columns: %s is not an architecture whose W_o follows kqv_out", l, width, shape.Arch)
		}
		out := int(wo.Shape[1])
		shift := make([]float32, width)
		for h, v := range iv {
			if h.Layer == l {
				copy(shift[h.Head*shape.HeadDim:], v)
			}
		}
		bias := make([]float32, out)
		if old := byName[fmt.Sprintf("blk.%d.attn_output.bias", l)]; old != nil {
			vals, err := readFloats(f, dataStart, old)
			if err != nil {
				return nil, fmt.Errorf("bake: layer %d bias: %w", l, err)
			}
			copy(bias, vals)
			res.BiasesShifted++
		} else {
			res.BiasesAdded++
		}
		// Row r of W_o (output r) is contiguous over its input columns.
		raw := make([]byte, wo.Size()/uint64(out))
		row := make([]float32, width)
		for r := range out {
			if _, err := f.ReadAt(raw, dataStart+int64(wo.Offset)+int64(r)*int64(len(raw))); err != nil {
				return nil, fmt.Errorf("bake: read %s row %d: %w", wo.Name, r, err)
			}
			if !dequantize(wo.Kind, raw, row) {
				return nil, fmt.Errorf("bake: cannot dequantize %s of ggml type %d", wo.Name, wo.Kind)
			}
			s := 0.0
			for c, x := range shift {
				if x != 0 {
					s += float64(row[c]) * float64(x)
				}
			}
			bias[r] += float32(s)
		}
		biases[l] = bias
		res.Layers++
	}

	var ts []*ggml.Tensor
	for _, t := range g.Tensors().Items() {
		var l int
		if _, err := fmt.Sscanf(t.Name, "blk.%d.attn_output.bias", &l); err == nil && biases[l] != nil && t.Name == fmt.Sprintf("blk.%d.attn_output.bias", l) {
			continue // replaced below
		}
		ts = append(ts, &ggml.Tensor{Name: t.Name, Kind: t.Kind, Shape: t.Shape,
			WriterTo: sectionWriter{io.NewSectionReader(f, dataStart+int64(t.Offset), int64(t.Size()))}})
	}
	for l, b := range biases {
		ts = append(ts, &ggml.Tensor{Name: fmt.Sprintf("blk.%d.attn_output.bias", l), Kind: 0,
			Shape: []uint64{uint64(len(b))}, WriterTo: floatWriter(b)})
	}
	out := ggml.KV{}
	for k, v := range kv {
		out[k] = v
	}
	out["general.asmr.steering"] = fmt.Sprintf("ASMR steering baked into attn_output.bias of %d layers (%d heads), scope all: every token is shifted. %s", res.Layers, res.Heads, note)

	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bake-*.gguf")
	if err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := ggml.WriteGGUF(tmp, out, ts); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("bake: write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("bake: write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	return res, nil
}

func readFloats(f *os.File, dataStart int64, t *ggml.Tensor) ([]float32, error) {
	n := int(t.Elements())
	raw := make([]byte, t.Size())
	if _, err := f.ReadAt(raw, dataStart+int64(t.Offset)); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if !dequantize(t.Kind, raw, out) {
		return nil, fmt.Errorf("cannot dequantize %s of ggml type %d", t.Name, t.Kind)
	}
	return out, nil
}

type sectionWriter struct{ r *io.SectionReader }

func (s sectionWriter) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, s.r) }

type floatWriter []float32

func (fw floatWriter) WriteTo(w io.Writer) (int64, error) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&fw[0])), len(fw)*4)
	n, err := w.Write(b)
	return int64(n), err
}

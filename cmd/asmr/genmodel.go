package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// specFlags registers the model-shape flags shared by gen-model and bench.
type specFlags struct {
	shape                                    string
	layers, heads, kvHeads, headDim, ffn, vs int
	ctxLen                                   int
	typ                                      string
	seed                                     int64
}

func (f *specFlags) register(fs *flag.FlagSet, defaultShape string) {
	fs.StringVar(&f.shape, "shape", defaultShape, "base shape: tiny (3 layers, byte vocabulary) or tinyllama (TinyLlama-1.1B: 22 layers, 32 heads, 4 KV heads, n_embd 2048, Q4_0)")
	fs.IntVar(&f.layers, "layers", 0, "override the layer count")
	fs.IntVar(&f.heads, "heads", 0, "override the attention head count")
	fs.IntVar(&f.kvHeads, "kv-heads", 0, "override the key/value head count")
	fs.IntVar(&f.headDim, "head-dim", 0, "override the head size d_h")
	fs.IntVar(&f.ffn, "ffn", 0, "override the feed-forward width")
	fs.IntVar(&f.vs, "vocab", 0, "override the vocabulary size (>= 258; extra tokens are fillers)")
	fs.IntVar(&f.ctxLen, "context-length", 0, "override llama.context_length")
	fs.StringVar(&f.typ, "type", "", "weight type of the matrices: f32, f16 or q4_0 (default: the shape's)")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the random weights")
}

func (f *specFlags) spec() (testmodel.Spec, error) {
	var s testmodel.Spec
	switch f.shape {
	case "tiny":
		s = testmodel.Tiny()
		s.Name = "asmr-tiny"
	case "tinyllama":
		s = testmodel.TinyLlama()
	default:
		return s, fmt.Errorf("-shape %q: want tiny or tinyllama", f.shape)
	}
	for _, o := range []struct {
		v   int
		dst *int
	}{{f.layers, &s.Layers}, {f.heads, &s.Heads}, {f.kvHeads, &s.KVHeads}, {f.headDim, &s.HeadDim}, {f.ffn, &s.FFN}, {f.vs, &s.Vocab}, {f.ctxLen, &s.ContextLength}} {
		if o.v != 0 {
			*o.dst = o.v
		}
	}
	if f.typ != "" {
		t, err := testmodel.ParseWeightType(f.typ)
		if err != nil {
			return s, fmt.Errorf("-type: %w", err)
		}
		s.Type = t
	}
	s.Seed = f.seed
	return s, s.Validate()
}

func runGenModel(ctx context.Context, args []string) error {
	fs := newFlags("gen-model", "-o model.gguf [flags]")
	var sf specFlags
	sf.register(fs, "tiny")
	out := fs.String("o", "", "output GGUF path (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-o is required: the GGUF file to write")
	}
	spec, err := sf.spec()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := testmodel.Write(*out, spec, nil); err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Printf("wrote %s: %d layers x %d heads (d_h %d, %d KV heads), FFN %d, vocab %d, %s, %.1f MB in %s\n",
		*out, spec.Layers, spec.Heads, spec.HeadDim, spec.KVHeads, spec.FFN, max(spec.Vocab, testmodel.ByteVocab), spec.Type,
		float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))
	return nil
}

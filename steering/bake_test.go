package steering

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// bakeAndCompare bakes iv into a copy of path and checks that the copy,
// unsteered, gives the logits of the original steered with scope "all".
func bakeAndCompare(t *testing.T, path string, iv Intervention, tol float64) {
	t.Helper()
	o := Options{KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff}
	m := load(t, path, o)
	baked := filepath.Join(t.TempDir(), "baked.gguf")
	res, err := Bake(path, baked, iv, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Heads != len(iv) || res.Layers != len(iv.Layers()) {
		t.Fatalf("bake result %+v for %d heads over %d layers", res, len(iv), len(iv.Layers()))
	}
	b := load(t, baked, o)
	toks, _ := m.Tokenize(testPrompt)
	ctx := context.Background()
	want, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeAll})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := m.Evaluate(ctx, toks, nil)
	got, err := b.Evaluate(ctx, toks, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, moved := maxAbsDiff(got, want), maxAbsDiff(plain, want)
	t.Logf("%s: baked vs steered max diff %.3g (steering moved logits by %.3g)", filepath.Base(path), d, moved)
	if moved < 1e-3 || d > tol*moved {
		t.Fatalf("baked model differs from steering by %g (steering moved %g, tolerance %g of that)", d, moved, tol)
	}

	// Everything else is copied byte for byte, plus the note.
	f, _ := os.Open(baked)
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	if note := g.KV().String("general.asmr.steering"); !strings.Contains(note, "scope all") {
		t.Fatalf("note = %q", note)
	}
}

func TestBakeEqualsScopeAll(t *testing.T) {
	for _, typ := range []testmodel.WeightType{testmodel.F32, testmodel.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := tinySpec(typ)
			path := writeModel(t, spec, nil)
			m := load(t, path, Options{})
			iv := randomIntervention(m.Shape(), []Head{{0, 1}, {2, 0}, {2, 3}}, 0.5, 21)
			// F32 matches to rounding; Q4_0 matmuls quantize activations to
			// Q8_0 in llama.cpp, while Bake multiplies in float64.
			tol := 1e-5
			if typ == testmodel.Q4_0 {
				tol = 0.05
			}
			bakeAndCompare(t, path, iv, tol)
		})
	}
}

// Baking twice adds to the bias the first bake wrote.
func TestBakeAddsToExistingBias(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	path := writeModel(t, spec, nil)
	m := load(t, path, Options{})
	iv := randomIntervention(m.Shape(), []Head{{1, 1}}, 0.5, 2)
	once := filepath.Join(t.TempDir(), "once.gguf")
	if _, err := Bake(path, once, iv, ""); err != nil {
		t.Fatal(err)
	}
	twice := filepath.Join(t.TempDir(), "twice.gguf")
	res, err := Bake(once, twice, iv, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.BiasesShifted != 1 || res.BiasesAdded != 0 {
		t.Fatalf("second bake: %+v", res)
	}
	o := Options{KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff}
	toks, _ := m.Tokenize(testPrompt)
	want, _ := load(t, path, o).Evaluate(context.Background(), toks, &Steer{Intervention: iv.Scaled(2), Scope: config.TokenScopeAll})
	got, _ := load(t, twice, o).Evaluate(context.Background(), toks, nil)
	if d := maxAbsDiff(got, want); d > 1e-4 {
		t.Fatalf("twice-baked differs from 2x steering by %g", d)
	}
}

func TestBakeErrors(t *testing.T) {
	path := writeModel(t, tinySpec(testmodel.F32), nil)
	dst := filepath.Join(t.TempDir(), "x.gguf")
	if _, err := Bake(path, dst, Intervention{}, ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty intervention: %v", err)
	}
	if _, err := Bake(path, dst, Intervention{{5, 0}: make([]float32, 32)}, ""); err == nil || !strings.Contains(err.Error(), "layer 5 out of range") {
		t.Fatalf("bad layer: %v", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Fatal("a failed bake left a file")
	}
}

// A GGUF nobody here wrote (random weights, real LLaMA-2 vocabulary), when
// ../shared is present: Bake and the callback agree on it too.
func TestBakeThirdPartyModel(t *testing.T) {
	path := "../../shared/models/llama-2-tiny-random.gguf"
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared third-party model not present")
	}
	m := load(t, path, Options{})
	sh := m.Shape()
	iv := randomIntervention(sh, []Head{{0, 0}, {sh.Layers - 1, sh.Heads - 1}}, 1, 5)
	bakeAndCompare(t, path, iv, 1e-3)
}

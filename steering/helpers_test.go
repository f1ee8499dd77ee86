package steering

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// tinySpec is small enough that a test runs in milliseconds yet has GQA,
// several layers and a head size that Q4_0 blocks divide.
func tinySpec(t testmodel.WeightType) testmodel.Spec {
	s := testmodel.Tiny()
	s.Type, s.Seed, s.ContextLength, s.Name = t, 7, 512, "tiny"
	return s
}

// writeModel writes spec with w (nil = from the seed) and returns its path.
func writeModel(t testing.TB, spec testmodel.Spec, w *testmodel.Weights) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := testmodel.Write(path, spec, w); err != nil {
		t.Fatalf("write test model: %v", err)
	}
	return path
}

func load(t testing.TB, path string, o Options) *Model {
	t.Helper()
	if o.Threads == 0 {
		o.Threads = 2
	}
	if o.ContextSize == 0 {
		o.ContextSize = 512
	}
	m, err := Load(path, o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// noEOS makes the end-of-generation token's logit 0 while the others are
// spread around it, so greedy generation practically never stops early and
// length-based tests are deterministic.
func noEOS(spec testmodel.Spec, w *testmodel.Weights) {
	e := spec.Embd()
	clear(w.Output[257*e : 258*e])
}

func randomIntervention(shape Shape, heads []Head, scale float32, seed uint64) Intervention {
	r := rand.New(rand.NewPCG(seed, 1))
	iv := Intervention{}
	for _, h := range heads {
		v := make([]float32, shape.HeadDim)
		for i := range v {
			v[i] = scale * float32(r.NormFloat64())
		}
		iv[h] = v
	}
	return iv
}

func allHeads(s Shape) []Head {
	var hs []Head
	for l := range s.Layers {
		for h := range s.Heads {
			hs = append(hs, Head{l, h})
		}
	}
	return hs
}

func maxAbsDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}

func identical(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// flashModes lists both attention kernels with the tolerance each allows
// against an F32 reference: llama.cpp's CPU flash-attention kernel rounds Q
// and the softmax accumulators through F16, the other path stays in F32.
var flashModes = []struct {
	name string
	fa   config.FlashAttention
	tol  float64
}{{"fa-off", config.FlashAttentionOff, 1e-4}, {"fa-on", config.FlashAttentionOn, 2e-3}}

const testPrompt = "Wer hat das Telefon erfunden? Qui a inventé le téléphone? 誰が電話を発明したか"

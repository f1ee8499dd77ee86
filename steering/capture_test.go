package steering

import (
	"context"
	"math"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// (d) captured activations match a pure-Go forward pass of the model.
func TestCaptureMatchesReference(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) { testCaptureMatchesReference(t, fm.fa, fm.tol) })
	}
}

func testCaptureMatchesReference(t *testing.T, fa config.FlashAttention, tol float64) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	// A small batch and two sequences per decode force prompts to be split
	// across decodes and packed beside each other.
	m := load(t, writeModel(t, spec, w), Options{BatchSize: 16, CaptureSequences: 3, ContextSize: 128, KVCacheType: config.KVCacheF32, FlashAttention: fa})
	prompts := []string{"a", testPrompt, "Hola, ¿qué tal?", "สวัสดีครับ", "xy", "Guten Tag"}
	layers := []int{2, 0, 1}
	acts, err := m.CaptureLastToken(context.Background(), prompts, layers)
	if err != nil {
		t.Fatal(err)
	}
	sh := m.Shape()
	worst := 0.0
	for i, p := range prompts {
		toks, _ := m.Tokenize(p)
		tr, err := w.Forward(spec, toks)
		if err != nil {
			t.Fatal(err)
		}
		last := len(toks) - 1
		for li, l := range layers {
			ref := tr.KQVOut[l][last]
			for h := range sh.Heads {
				for j, x := range acts[i][li][h] {
					r := ref[h*sh.HeadDim+j]
					d := math.Abs(float64(x-r)) / (1 + math.Abs(float64(r)))
					worst = max(worst, d)
					if d > tol {
						t.Fatalf("prompt %d layer %d head %d [%d]: llama.cpp %g, reference %g", i, l, h, j, x, r)
					}
				}
			}
		}
	}
	t.Logf("max relative difference to the Go reference: %.3g", worst)

	// Packed capture equals one prompt at a time.
	single := load(t, writeModel(t, spec, w), Options{CaptureSequences: 1, ContextSize: 128, KVCacheType: config.KVCacheF32, FlashAttention: fa})
	for i, p := range prompts {
		one, err := single.CaptureLastToken(context.Background(), []string{p}, layers)
		if err != nil {
			t.Fatal(err)
		}
		for li := range layers {
			for h := range sh.Heads {
				for j := range one[0][li][h] {
					// Each is within tol of the reference, so of each other within 2 tol.
					a, b := float64(one[0][li][h][j]), float64(acts[i][li][h][j])
					if d := math.Abs(a-b) / (1 + math.Abs(b)); d > 2*tol {
						t.Fatalf("prompt %d: packed and single capture differ by %g", i, d)
					}
				}
			}
		}
	}

	if _, err := m.CaptureLastToken(context.Background(), prompts, []int{3}); err == nil {
		t.Fatal("capture of layer 3 of 3 accepted")
	}
}

package steering

import (
	"context"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// (a) alpha = 0, or an empty intervention, leaves the logits bit-identical.
func TestExactnessZeroShift(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			m := load(t, writeModel(t, spec, nil), Options{FlashAttention: fm.fa})
			toks, _ := m.Tokenize(testPrompt)
			base, err := m.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertZeroShiftIdentical(t, m, toks, base, randomIntervention(m.Shape(), allHeads(m.Shape()), 1, 3))
		})
	}
}

// assertZeroShiftIdentical checks that an empty intervention, and iv at
// alpha 0 in both scopes, leave every position's logits bit-identical to
// base (the unsteered logits of toks).
func assertZeroShiftIdentical(t *testing.T, m *Model, toks []int, base [][]float32, iv Intervention) {
	t.Helper()
	for _, st := range []*Steer{
		{Intervention: Intervention{}, Scope: config.TokenScopeAll},
		{Intervention: iv.Scaled(0), Scope: config.TokenScopeAll},
		{Intervention: iv.Scaled(0), Scope: config.TokenScopeGeneration},
	} {
		got, err := m.Evaluate(context.Background(), toks, st)
		if err != nil {
			t.Fatal(err)
		}
		for i := range base {
			if !identical(base[i], got[i]) {
				t.Fatalf("%d heads, alpha 0, scope %s: position %d differs (max diff %g)", len(st.Intervention), st.Scope, i, maxAbsDiff(base[i:i+1], got[i:i+1]))
			}
		}
	}
}

// (b) scope "all" equals an unsteered run of a copy whose attn_output.bias
// is W_o · shift.
func TestExactnessBakedBias(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			w := testmodel.Random(spec)
			// An F32 KV cache keeps the comparison free of F16 rounding.
			o := Options{FlashAttention: fm.fa, KVCacheType: config.KVCacheF32}
			m := load(t, writeModel(t, spec, w), o)
			sh := m.Shape()
			heads := []Head{{0, 1}, {0, 3}, {1, 0}, {2, 2}, {2, 3}}
			iv := randomIntervention(sh, heads, 0.5, 11)

			e := spec.Embd()
			for l := range w.Layers {
				shift := make([]float64, e)
				for h, v := range iv {
					if h.Layer == l {
						for i, x := range v {
							shift[h.Head*sh.HeadDim+i] = float64(x)
						}
					}
				}
				bias := make([]float32, e)
				for r := range e {
					s := 0.0
					for c := range e {
						s += float64(w.Layers[l].Wo[r*e+c]) * shift[c]
					}
					bias[r] = float32(s)
				}
				w.Layers[l].AttnOutBias = bias
			}
			baked := load(t, writeModel(t, spec, w), o)

			toks, _ := m.Tokenize(testPrompt)
			ctx := context.Background()
			steered, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeAll})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := m.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := baked.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			diff, moved := maxAbsDiff(steered, ref), maxAbsDiff(steered, plain)
			t.Logf("%s: %d tokens, max |steered - baked| = %.3g, max |steered - unsteered| = %.3g", fm.name, len(toks), diff, moved)
			if moved < 0.1 {
				t.Fatalf("steering barely moved the logits (%g): the test would not see a wrong shift", moved)
			}
			if diff > fm.tol {
				t.Fatalf("steered logits differ from the baked model by %g (tolerance %g)", diff, fm.tol)
			}
		})
	}
}

// (c) scope "generation" leaves every prompt position before the last
// unchanged and changes the last one and what follows.
func TestExactnessGenerationScope(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			w := testmodel.Random(spec)
			noEOS(spec, w)
			m := load(t, writeModel(t, spec, w), Options{FlashAttention: fm.fa, BatchSize: 16})
			sh := m.Shape()
			iv := randomIntervention(sh, allHeads(sh), 2, 5)
			toks, _ := m.Tokenize(testPrompt) // longer than a batch: several decodes
			if len(toks) <= 16 {
				t.Fatalf("prompt of %d tokens does not span batches", len(toks))
			}
			ctx := context.Background()
			plain, err := m.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			gen, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeGeneration})
			if err != nil {
				t.Fatal(err)
			}
			n := len(toks)
			for i := range n - 1 {
				if !identical(plain[i], gen[i]) {
					t.Fatalf("position %d of %d changed under generation scope", i, n)
				}
			}
			if d := maxAbsDiff(plain[n-1:], gen[n-1:]); d < 0.1 {
				t.Fatalf("last prompt position moved only %g", d)
			}
			all, _ := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeAll})
			if d := maxAbsDiff(plain[:1], all[:1]); d < 0.1 {
				t.Fatalf("scope all left position 0 unchanged (%g)", d)
			}

			// Generated tokens are steered too: the continuations differ.
			a, err := m.Generate(ctx, testPrompt, Params{MaxTokens: 16, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Generate(ctx, testPrompt, Params{MaxTokens: 16, Raw: true, Steer: &Steer{Intervention: iv}})
			if err != nil {
				t.Fatal(err)
			}
			if a.Text == b.Text {
				t.Fatalf("steering did not change the generation: %q", a.Text)
			}
			if b.SteeredHeads != len(iv) {
				t.Fatalf("SteeredHeads = %d, want %d", b.SteeredHeads, len(iv))
			}
		})
	}
}

package testmodel

import (
	"math"
	"testing"
)

func TestForwardShapes(t *testing.T) {
	spec := small(Q4_0)
	spec.Vocab = 300
	tokens := []int{BOS, 'h', 'i', 299}
	tr, err := Random(spec).Forward(spec, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.KQVOut) != spec.Layers || len(tr.Logits) != len(tokens) {
		t.Fatalf("%d layers, %d logit rows", len(tr.KQVOut), len(tr.Logits))
	}
	for l := range tr.KQVOut {
		if len(tr.KQVOut[l]) != len(tokens) {
			t.Fatalf("layer %d: %d tokens", l, len(tr.KQVOut[l]))
		}
		for _, row := range tr.KQVOut[l] {
			if len(row) != spec.Embd() {
				t.Fatalf("kqv_out row of %d", len(row))
			}
		}
	}
	for _, row := range tr.Logits {
		if len(row) != 300 {
			t.Fatalf("logit row of %d", len(row))
		}
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 50 {
				t.Fatalf("logit %g", v)
			}
		}
	}

	if _, err := Random(spec).Forward(spec, []int{300}); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
	if _, err := Random(spec).Forward(spec, nil); err == nil {
		t.Error("empty input accepted")
	}
	if _, err := Random(small(F32)).Forward(spec, []int{1}); err == nil {
		t.Error("weights of another vocabulary accepted")
	}
}

// Causal attention: appending tokens does not change earlier positions.
func TestForwardCausal(t *testing.T) {
	spec := small(F32)
	w := Random(spec)
	short, err := w.Forward(spec, []int{BOS, 'a', 'b'})
	if err != nil {
		t.Fatal(err)
	}
	long, err := w.Forward(spec, []int{BOS, 'a', 'b', 'c', 'd'})
	if err != nil {
		t.Fatal(err)
	}
	for i := range short.Logits {
		if !equal32(short.Logits[i], long.Logits[i]) || !equal32(short.KQVOut[1][i], long.KQVOut[1][i]) {
			t.Fatalf("position %d changed when tokens were appended", i)
		}
	}
}

// Forward uses the weights as the file stores them.
func TestForwardRoundsToSpecType(t *testing.T) {
	spec := small(Q4_0)
	w := Random(spec)
	q, err := w.Forward(spec, []int{BOS, 'x'})
	if err != nil {
		t.Fatal(err)
	}
	f32 := spec
	f32.Type = F32
	exact, err := w.Forward(f32, []int{BOS, 'x'})
	if err != nil {
		t.Fatal(err)
	}
	rounded, err := w.stored(Q4_0).Forward(f32, []int{BOS, 'x'})
	if err != nil {
		t.Fatal(err)
	}
	if !equal32(q.Logits[1], rounded.Logits[1]) {
		t.Error("Forward with a Q4_0 spec differs from F32 on Q4_0-rounded weights")
	}
	if equal32(q.Logits[1], exact.Logits[1]) {
		t.Error("Q4_0 rounding had no effect")
	}
}

// One layer, one head of width 4, identity projections: the output at
// position 1 can be computed by hand, and tells llama.cpp's "normal" RoPE
// (adjacent pairs, x0 cos - x1 sin) from NeoX's split halves or the
// opposite rotation.
func TestForwardRoPEByHand(t *testing.T) {
	spec := Spec{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 4, FFN: 4, Type: F32}
	const e = 4
	eye := func() []float32 { return []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1} }
	ones := func() []float32 { return []float32{1, 1, 1, 1} }
	w := &Weights{
		TokenEmbd:  make([]float32, ByteVocab*e),
		OutputNorm: ones(),
		Output:     append(eye(), make([]float32, (ByteVocab-e)*e)...),
		Layers: []Layer{{
			AttnNorm: ones(), FFNNorm: ones(),
			Wq: eye(), Wk: eye(), Wv: eye(), Wo: eye(),
			Gate: make([]float32, 16), Up: make([]float32, 16), Down: make([]float32, 16),
		}},
	}
	w.TokenEmbd[0*e+0] = 1 // token 0 = (1, 0, 0, 0)
	w.TokenEmbd[1*e+1] = 1 // token 1 = (0, 1, 0, 0)

	tr, err := w.Forward(spec, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}

	const eps = 1e-5
	c := 1 / math.Sqrt(0.25+eps) // rms norm of a one-hot 4-vector
	// Position 0: no rotation, attends only to itself.
	want0 := []float64{c, 0, 0, 0}
	// Position 1: q1 = k1 = R(1)·(0, c) = (-c sin 1, c cos 1, 0, 0) and
	// k0 = (c, 0, 0, 0); scores are scaled by 1/sqrt(4).
	s0, s1 := -c*c*math.Sin(1)/2, c*c/2
	p0 := 1 / (1 + math.Exp(s1-s0))
	want1 := []float64{p0 * c, (1 - p0) * c, 0, 0}
	near(t, "kqv_out[0]", tr.KQVOut[0][0], want0)
	near(t, "kqv_out[1]", tr.KQVOut[0][1], want1)

	// With a zero FFN, the residual is embedding + kqv_out; the identity
	// output head shows its RMS norm, and the other logits are 0.
	for tok, x := range [][]float64{{1 + c, 0, 0, 0}, {want1[0], 1 + want1[1], 0, 0}} {
		s := 1 / math.Sqrt((x[0]*x[0]+x[1]*x[1])/4+eps)
		near(t, "logits", tr.Logits[tok][:4], []float64{x[0] * s, x[1] * s, 0, 0})
		for _, v := range tr.Logits[tok][4:] {
			if v != 0 {
				t.Fatalf("logit %g for a zero output row", v)
			}
		}
	}

	// The rope helper on its own: pair 1 turns by pos·base^(-2/4) = pos/100.
	x := []float64{1, 0, 1, 0}
	rope(x, 2, 10000)
	near(t, "rope", narrow(x), []float64{math.Cos(2), math.Sin(2), math.Cos(0.02), math.Sin(0.02)})
}

// Grouped-query attention: query head h reads kv head h/(Heads/KVHeads).
// With Wq = 0 every head attends uniformly, so head h's output is the mean
// of its kv head's values so far.
func TestForwardGQA(t *testing.T) {
	spec := Spec{Layers: 1, Heads: 4, KVHeads: 2, HeadDim: 2, FFN: 2, Type: F32}
	w := Random(spec)
	ly := &w.Layers[0]
	clear(ly.Wq)
	clear(ly.Wv)
	for i := range 4 {
		ly.Wv[i*8+i] = 1 // v = h[0:4]: kv head 0 = h[0:2], kv head 1 = h[2:4]
	}
	tokens := []int{'a', 'b', 'c'}
	tr, err := w.Forward(spec, tokens)
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]float64, 4)
	for pos, tok := range tokens {
		h := rmsNorm(widen(w.TokenEmbd[tok*8:(tok+1)*8]), ly.AttnNorm, 1e-5)
		for i := range mean {
			mean[i] += (h[i] - mean[i]) / float64(pos+1)
		}
		want := []float64{mean[0], mean[1], mean[0], mean[1], mean[2], mean[3], mean[2], mean[3]}
		near(t, "gqa kqv_out", tr.KQVOut[0][pos], want)
	}
}

// Random weights are not degenerate: greedy decoding from a byte-level
// model wanders over several tokens instead of repeating one.
func TestRandomGreedyVaries(t *testing.T) {
	spec := small(Q4_0)
	w := Random(spec)
	tokens := []int{BOS, 'H', 'e', 'l', 'l', 'o'}
	seen := map[int]bool{}
	for range 24 {
		tr, err := w.Forward(spec, tokens)
		if err != nil {
			t.Fatal(err)
		}
		last := tr.Logits[len(tokens)-1]
		best := 0
		for i, v := range last {
			if v > last[best] {
				best = i
			}
		}
		seen[best] = true
		tokens = append(tokens, best)
	}
	t.Logf("generated %v", tokens[6:])
	if len(seen) < 5 {
		t.Errorf("greedy decoding produced only %d distinct tokens: %v", len(seen), tokens[6:])
	}
}

// The attention output bias is added after Wo: it leaves kqv_out alone and
// moves the logits.
func TestForwardBias(t *testing.T) {
	spec := small(F32)
	w := Random(spec)
	plain, err := w.Forward(spec, []int{BOS, 'q'})
	if err != nil {
		t.Fatal(err)
	}
	w.Layers[0].AttnOutBias = make([]float32, spec.Embd())
	for i := range w.Layers[0].AttnOutBias {
		w.Layers[0].AttnOutBias[i] = float32(i%3) - 1
	}
	biased, err := w.Forward(spec, []int{BOS, 'q'})
	if err != nil {
		t.Fatal(err)
	}
	if !equal32(plain.KQVOut[0][1], biased.KQVOut[0][1]) {
		t.Error("bias changed layer 0's kqv_out")
	}
	if equal32(plain.Logits[1], biased.Logits[1]) {
		t.Error("bias did not change the logits")
	}
}

func near(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

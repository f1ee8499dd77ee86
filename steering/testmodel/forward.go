package testmodel

import (
	"fmt"
	"math"
)

// Trace holds the reference activations of one forward pass.
type Trace struct {
	// KQVOut is [layer][token][n_embd]: the attention output of each token
	// before the Wo projection, heads concatenated (head h at
	// [h*HeadDim, (h+1)*HeadDim)). It is llama.cpp's "kqv_out-<l>" tensor.
	KQVOut [][][]float32
	// Logits is [token][vocab], for every position.
	Logits [][]float32
}

// Forward runs llama.cpp's llama graph over tokens (positions 0, 1, ...)
// in pure Go, so tests can check what llama.cpp computes.
//
// The weights are first rounded to spec.Type exactly as Write stores them
// (F16 or Q4_0 round trip), so the reference sees the weights llama.cpp
// loads from a file written with the same spec. Arithmetic is float64
// throughout, the results are rounded to float32. llama.cpp itself is less
// exact: it keeps K and V in an F16 cache by default and converts
// activations to Q8_0 (Q4_0 weights) or F16 (F16 weights) before its
// matrix products, so comparisons need a tolerance of that order.
func (w *Weights) Forward(spec Spec, tokens []int) (*Trace, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	spec = spec.withDefaults()
	if err := w.check(spec); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("forward: no tokens")
	}
	for i, t := range tokens {
		if t < 0 || t >= spec.Vocab {
			return nil, fmt.Errorf("forward: token %d at position %d is outside the vocabulary [0, %d)", t, i, spec.Vocab)
		}
	}
	w = w.stored(spec.Type)

	e, hd, n := spec.Embd(), spec.HeadDim, len(tokens)
	eps := float64(spec.RMSEps)
	group := spec.Heads / spec.KVHeads
	scale := 1 / math.Sqrt(float64(hd))

	x := make([][]float64, n) // residual stream
	for t, tok := range tokens {
		x[t] = widen(w.TokenEmbd[tok*e : (tok+1)*e])
	}
	tr := &Trace{KQVOut: make([][][]float32, spec.Layers), Logits: make([][]float32, n)}
	for l, ly := range w.Layers {
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for t := range n {
			h := rmsNorm(x[t], ly.AttnNorm, eps)
			q[t], k[t], v[t] = matVec(ly.Wq, h), matVec(ly.Wk, h), matVec(ly.Wv, h)
			for i := 0; i < len(q[t]); i += hd {
				rope(q[t][i:i+hd], t, float64(spec.RopeBase))
			}
			for i := 0; i < len(k[t]); i += hd {
				rope(k[t][i:i+hd], t, float64(spec.RopeBase))
			}
		}
		tr.KQVOut[l] = make([][]float32, n)
		scores := make([]float64, n)
		for t := range n {
			kqv := make([]float64, e)
			for h := range spec.Heads {
				qh := q[t][h*hd : (h+1)*hd]
				kvo := h / group * hd // query head h reads kv head h/group
				mx := math.Inf(-1)
				for j := 0; j <= t; j++ { // causal mask
					scores[j] = dot(qh, k[j][kvo:kvo+hd]) * scale
					mx = max(mx, scores[j])
				}
				var sum float64
				for j := 0; j <= t; j++ {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				out := kqv[h*hd : (h+1)*hd]
				for j := 0; j <= t; j++ {
					p := scores[j] / sum
					for i, vv := range v[j][kvo : kvo+hd] {
						out[i] += p * vv
					}
				}
			}
			tr.KQVOut[l][t] = narrow(kqv)

			attn := matVec(ly.Wo, kqv)
			for i := range attn {
				if ly.AttnOutBias != nil {
					attn[i] += float64(ly.AttnOutBias[i])
				}
				x[t][i] += attn[i]
			}
		}
		for t := range n {
			h := rmsNorm(x[t], ly.FFNNorm, eps)
			g, u := matVec(ly.Gate, h), matVec(ly.Up, h)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i] // silu(gate) * up
			}
			for i, d := range matVec(ly.Down, g) {
				x[t][i] += d
			}
		}
	}
	for t := range n {
		tr.Logits[t] = narrow(matVec(w.Output, rmsNorm(x[t], w.OutputNorm, eps)))
	}
	return tr, nil
}

// stored returns w with every matrix rounded through type t, as a file
// written with that type holds it; norms and biases stay F32.
func (w *Weights) stored(t WeightType) *Weights {
	if t == F32 {
		return w
	}
	s := &Weights{
		TokenEmbd:  t.round(w.TokenEmbd),
		Layers:     make([]Layer, len(w.Layers)),
		OutputNorm: w.OutputNorm,
		Output:     t.round(w.Output),
	}
	for l, ly := range w.Layers {
		ly.Wq, ly.Wk, ly.Wv, ly.Wo = t.round(ly.Wq), t.round(ly.Wk), t.round(ly.Wv), t.round(ly.Wo)
		ly.Gate, ly.Up, ly.Down = t.round(ly.Gate), t.round(ly.Up), t.round(ly.Down)
		s.Layers[l] = ly
	}
	return s
}

// rope applies llama.cpp's "normal" rotary embedding (LLAMA_ROPE_TYPE_NORM,
// ggml mode 0) to one head in place: pair i is (x[2i], x[2i+1]), adjacent
// values, not NeoX's (x[i], x[i+d/2]); its angle is pos*base^(-2i/d).
func rope(x []float64, pos int, base float64) {
	d := float64(len(x))
	for i := 0; i < len(x); i += 2 {
		theta := float64(pos) * math.Pow(base, -float64(i)/d)
		sin, cos := math.Sincos(theta)
		x0, x1 := x[i], x[i+1]
		x[i], x[i+1] = x0*cos-x1*sin, x0*sin+x1*cos
	}
}

// rmsNorm is ggml_rms_norm followed by the element-wise norm weight:
// x / sqrt(mean(x²) + eps) * weight.
func rmsNorm(x []float64, weight []float32, eps float64) []float64 {
	s := 1 / math.Sqrt(dot(x, x)/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * s * float64(weight[i])
	}
	return out
}

// matVec multiplies a row-major [len(m)/len(x)][len(x)] matrix by x.
func matVec(m []float32, x []float64) []float64 {
	out := make([]float64, len(m)/len(x))
	for r := range out {
		row := m[r*len(x) : (r+1)*len(x)]
		var s float64
		for i, v := range row {
			s += float64(v) * x[i]
		}
		out[r] = s
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func widen(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func narrow(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// RoundTrip returns w as a file written with spec.Type holds it: every
// matrix rounded through that type. Writing the result as F32 gives a twin
// of the quantized file, which tests use to check the quantized encodings
// through llama.cpp itself.
func RoundTrip(spec Spec, w *Weights) *Weights { return w.stored(spec.Type) }

package testmodel

import (
	"fmt"
)

// Plant describes one attention head planted to carry a binary property of
// the input: whether the text contains the Positive or the Negative marker
// byte. Tests use it to show that probing finds the head that really
// carries a signal, and that steering along the learned direction moves the
// output.
//
// The construction keeps the signal out of every other head exactly:
//   - residual dimension 0 holds the marker (+Strength for Positive,
//     -Strength for Negative, 0 for other bytes); the two marker embeddings
//     are otherwise identical, so no other head can tell them apart;
//   - only the planted head's value projection reads dimension 0 (its first
//     value channel is that dimension); every other Q/K/V, FFN and W_o
//     ignores and leaves alone dimensions 0 and 1;
//   - W_o writes the planted head's first channel, times Gain, into
//     residual dimension 1, which the output layer turns into extra logit
//     for the Target tokens.
//
// So a text with Positive markers makes the planted head's first channel
// positive and raises the Target tokens; steering that head toward the
// positive class does the same.
type Plant struct {
	Layer, Head        int
	Positive, Negative byte
	Target             []int   // token ids whose logits follow the head
	Strength           float32 // marker value in dimension 0; 0 = 4
	Gain               float32 // W_o gain into dimension 1; 0 = 4
	TargetGain         float32 // output weight of the targets on dimension 1; 0 = 8
}

// Planted returns Random(spec) rewired so that p.Head of p.Layer carries
// the marker property. It needs one KV head per query head, so that the
// planted value channel belongs to one head only.
func Planted(spec Spec, p Plant) (*Weights, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	switch {
	case spec.KVHeads != spec.Heads:
		return nil, fmt.Errorf("planted model: KVHeads (%d) must equal Heads (%d) so the planted value channel belongs to one head", spec.KVHeads, spec.Heads)
	case p.Layer < 0 || p.Layer >= spec.Layers || p.Head < 0 || p.Head >= spec.Heads:
		return nil, fmt.Errorf("planted head L%d.H%d outside %d layers x %d heads", p.Layer, p.Head, spec.Layers, spec.Heads)
	case p.Positive == p.Negative:
		return nil, fmt.Errorf("planted model: Positive and Negative markers are both %q", p.Positive)
	case spec.Embd() < 4:
		return nil, fmt.Errorf("planted model: n_embd %d too small", spec.Embd())
	}
	if p.Strength == 0 {
		p.Strength = 4
	}
	if p.Gain == 0 {
		p.Gain = 4
	}
	if p.TargetGain == 0 {
		p.TargetGain = 8
	}
	w := Random(spec)
	e, ff, hd := spec.Embd(), spec.FFN, spec.HeadDim
	const mark, out = 0, 1
	zeroCols := func(m []float32, rows int) {
		for r := range rows {
			m[r*e+mark], m[r*e+out] = 0, 0
		}
	}
	zeroRow := func(m []float32, r, cols int) { clear(m[r*cols : (r+1)*cols]) }

	for t := range spec.Vocab {
		w.TokenEmbd[t*e+mark], w.TokenEmbd[t*e+out] = 0, 0
	}
	pos, neg := int(p.Positive)*e, int(p.Negative)*e
	copy(w.TokenEmbd[pos:pos+e], w.TokenEmbd[neg:neg+e])
	w.TokenEmbd[pos+mark], w.TokenEmbd[neg+mark] = p.Strength, -p.Strength

	for l := range w.Layers {
		ly := &w.Layers[l]
		ly.AttnNorm[mark], ly.AttnNorm[out] = 1, 1
		zeroCols(ly.Wq, e)
		zeroCols(ly.Wk, spec.KVDim())
		zeroCols(ly.Wv, spec.KVDim())
		zeroRow(ly.Wo, mark, e)
		zeroRow(ly.Wo, out, e)
		zeroCols(ly.Gate, ff)
		zeroCols(ly.Up, ff)
		zeroRow(ly.Down, mark, ff)
		zeroRow(ly.Down, out, ff)
		if l == p.Layer {
			ch := p.Head * hd // the planted head's first value channel
			zeroRow(ly.Wv, ch, e)
			ly.Wv[ch*e+mark] = 1
			ly.Wo[out*e+ch] = p.Gain
		}
	}
	w.OutputNorm[mark], w.OutputNorm[out] = 1, 1
	for t := range spec.Vocab {
		w.Output[t*e+mark], w.Output[t*e+out] = 0, 0
	}
	for _, t := range p.Target {
		if t < 0 || t >= spec.Vocab {
			return nil, fmt.Errorf("planted model: target token %d outside the vocabulary of %d", t, spec.Vocab)
		}
		w.Output[t*e+out] = p.TargetGain
	}
	return w, nil
}

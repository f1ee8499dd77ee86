// Package evaltest makes a small GGUF model and a matching steering profile
// on which `asmr eval` shows a real, known effect: steering its CL heads
// makes the reader answer in Cyrillic script, which the answer-language
// metric recognises as Russian. Tests of the evaluation harness (in-process
// and through the Weaviate server) use it in place of real weights, which
// no build machine here can download.
//
// It is pure Go (no cgo): the model is written with steering/testmodel and
// the profile with config.
package evaltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// The construction, on top of testmodel.Planted (which keeps residual
// dimensions 0 and 1 out of every head, FFN and W_o except the planted
// head's channel into dimension 1, and turns dimension 1 into logit for the
// Target tokens):
//
//   - Target is the byte 0xD0, the lead byte of the Cyrillic letters
//     а..п (U+0430..U+043F are D0 B0..D0 BF in UTF-8).
//   - Residual dimension 2 is protected the same way, and holds a "just
//     emitted 0xD0" feature: the embedding of 0xD0 has ContStrength there,
//     every other token 0, and the output layer turns it into ContGain of
//     logit for the continuation bytes 0xB0..0xBF. So after a lead byte the
//     model always completes a valid Cyrillic letter.
//   - Besides the head that Planted wires, LanguageHeads-1 more heads write
//     their first value channel into dimension 1 with the same gain. Their
//     value projection of that channel is zeroed, so unsteered they add
//     nothing and the unsteered model is unchanged; steered, each adds
//     alpha*sigma*gain. More steered heads (larger K) push harder at the
//     same alpha, the trade-off the paper's Figure 3 shows.
//
// Unsteered, the random weights emit byte noise (no Cyrillic: 0xD0 is just
// one of 258 tokens with a random logit). Steered hard enough, 0xD0 wins
// whenever the previous token was not 0xD0 and a continuation byte wins
// right after it: the answer is Cyrillic letters, detected as Russian.
//
// The profile has both attributes. CL: the language heads, best first,
// with their exact direction (the unit vector of the written channel) and
// sigma Sigma, then the remaining heads as weak decoys with random
// directions. AC: every head, random directions, tiny sigma: steering AC
// does (almost) nothing, so the paper's default alphas can be used as is.

// Spec is the shape of the model: 2 layers x 4 heads x d_h 16, F32.
var Spec = testmodel.Spec{Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, FFN: 64, Type: testmodel.F32, Seed: 5, Name: "asmr-eval-cyrillic"}

// Heads that write the Cyrillic drive, in the profile's order (best first).
// The first is the head testmodel.Planted wires.
var LanguageHeads = [][2]int{{1, 2}, {0, 1}, {1, 0}, {0, 3}}

// Construction constants.
const (
	Lead         = 0xD0 // the steering target: lead byte of а..п
	ContFirst    = 0xB0 // continuation bytes of а..п
	ContLast     = 0xBF
	ContStrength = 8
	ContGain     = 8
	// Sigma is the profile's sigma of the language heads. With the planted
	// gains, the Cyrillic drive is about 0.16*K*alpha logits for K language
	// heads: alpha 20 at K = 1, 10 at K = 2 and 5 at K = 4 reach the level
	// where the lead byte starts to win (about 3 logits over noise).
	Sigma = 0.005
	// DecoySigma is the sigma of every decoy direction.
	DecoySigma = 0.005
)

// ScriptModel writes the model (cyrillic.gguf) and its profile
// (cyrillic-profile.yaml) into dir and returns both paths.
func ScriptModel(dir string) (modelPath, profilePath string, err error) {
	spec := Spec
	plant := testmodel.Plant{
		Layer: LanguageHeads[0][0], Head: LanguageHeads[0][1],
		Positive: 0x01, Negative: 0x02, // control bytes: never in a prompt
		Target: []int{Lead},
	}
	w, err := testmodel.Planted(spec, plant)
	if err != nil {
		return "", "", err
	}
	e, ff, hd := spec.Embd(), spec.FFN, spec.HeadDim
	const gain = 4 // testmodel.Plant's default Gain
	const cont = 2
	kv := spec.KVHeads * hd

	// Dimension 2: protected, carries "previous token was the lead byte".
	for t := range testmodel.ByteVocab {
		w.TokenEmbd[t*e+cont] = 0
		w.Output[t*e+cont] = 0
	}
	w.TokenEmbd[Lead*e+cont] = ContStrength
	for t := ContFirst; t <= ContLast; t++ {
		w.Output[t*e+cont] = ContGain
	}
	w.OutputNorm[cont] = 1
	for l := range w.Layers {
		ly := &w.Layers[l]
		ly.AttnNorm[cont] = 1
		for r := range e {
			ly.Wq[r*e+cont] = 0
		}
		for r := range kv {
			ly.Wk[r*e+cont], ly.Wv[r*e+cont] = 0, 0
		}
		for r := range ff {
			ly.Gate[r*e+cont], ly.Up[r*e+cont] = 0, 0
		}
		clear(ly.Wo[cont*e : (cont+1)*e])
		clear(ly.Down[cont*ff : (cont+1)*ff])
	}
	// The other language heads: a silent value channel written into
	// dimension 1.
	for _, lh := range LanguageHeads[1:] {
		ly := &w.Layers[lh[0]]
		ch := lh[1] * hd
		clear(ly.Wv[ch*e : (ch+1)*e])
		ly.Wo[1*e+ch] = gain
	}

	modelPath = filepath.Join(dir, "cyrillic.gguf")
	if err := testmodel.Write(modelPath, spec, w); err != nil {
		return "", "", err
	}
	id, err := profile.ModelFingerprint(modelPath)
	if err != nil {
		return "", "", err
	}
	p := profile.New(id, "evaltest.ScriptModel")
	p.Attributes[profile.AttributeCL] = clAttribute(spec)
	p.Attributes[profile.AttributeAC] = acAttribute(spec)
	if err := p.Validate(); err != nil {
		return "", "", fmt.Errorf("evaltest profile: %w", err)
	}
	profilePath = filepath.Join(dir, "cyrillic-profile.yaml")
	if err := p.Save(profilePath); err != nil {
		return "", "", err
	}
	return modelPath, profilePath, nil
}

func unit(hd, i int) []float32 {
	v := make([]float32, hd)
	v[i] = 1
	return v
}

func randomUnit(r *rand.Rand, hd int) []float32 {
	v := make([]float32, hd)
	n := 0.0
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(n))
	}
	return v
}

func accuracyMap(spec testmodel.Spec) [][]float64 {
	acc := make([][]float64, spec.Layers)
	for l := range acc {
		acc[l] = make([]float64, spec.Heads)
	}
	return acc
}

func clAttribute(spec testmodel.Spec) *profile.Attribute {
	r := rand.New(rand.NewPCG(7, 11))
	a := &profile.Attribute{
		Desired: "both sentences in the same language (planted: answer in Cyrillic script)",
		Data: profile.DataInfo{Description: "built by hand from the planted construction (evaltest.ScriptModel)",
			Samples: 0, Split: "4:1", Seed: 1},
		Accuracy: accuracyMap(spec),
	}
	lang := map[[2]int]bool{}
	acc := 0.95
	for _, lh := range LanguageHeads {
		lang[lh] = true
		d := profile.Direction{Sigma: Sigma, Vector: unit(spec.HeadDim, 0)}
		a.Heads = append(a.Heads, profile.HeadEntry{Layer: lh[0], Head: lh[1], Accuracy: acc, Probe: d, MassMean: d})
		a.Accuracy[lh[0]][lh[1]] = acc
		acc -= 0.05
	}
	acc = 0.6
	for l := range spec.Layers {
		for h := range spec.Heads {
			if lang[[2]int{l, h}] {
				continue
			}
			d := profile.Direction{Sigma: DecoySigma, Vector: randomUnit(r, spec.HeadDim)}
			a.Heads = append(a.Heads, profile.HeadEntry{Layer: l, Head: h, Accuracy: acc, Probe: d, MassMean: d})
			a.Accuracy[l][h] = acc
			acc -= 0.025
		}
	}
	return a
}

func acAttribute(spec testmodel.Spec) *profile.Attribute {
	r := rand.New(rand.NewPCG(13, 17))
	a := &profile.Attribute{
		Desired: "answer present (decoys only: steering AC has no planted effect)",
		Data: profile.DataInfo{Description: "random decoy directions (evaltest.ScriptModel)",
			Samples: 0, Split: "4:1", Seed: 1},
		Accuracy: accuracyMap(spec),
	}
	acc := 0.7
	for l := range spec.Layers {
		for h := range spec.Heads {
			d := profile.Direction{Sigma: DecoySigma, Vector: randomUnit(r, spec.HeadDim)}
			a.Heads = append(a.Heads, profile.HeadEntry{Layer: l, Head: h, Accuracy: acc, Probe: d, MassMean: d})
			a.Accuracy[l][h] = acc
			acc -= 0.02
		}
	}
	return a
}

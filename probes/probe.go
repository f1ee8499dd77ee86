package probes

import (
	"context"
	"fmt"

	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Desired names each attribute's desired class, the one its directions
// point to.
var Desired = map[string]string{
	profile.AttributeAC: "the passage contains the answer",
	profile.AttributeCL: "both sentences are in the same language",
}

// ProbeOptions controls one attribute's probing.
type ProbeOptions struct {
	// TopK heads are kept in the profile (the paper's best is 64).
	TopK  int
	Train TrainOptions
	// ChunkSize is how many prompts are captured per call before their
	// activations are moved into the training matrix, which bounds memory
	// to one matrix plus one chunk; 0 = 256.
	ChunkSize int
	// Progress, if set, is told about each stage ("capture", "train").
	Progress func(stage string, done, total int)
}

// desiredOf is the Desired text of an attribute's directions.
func desiredOf(attr string) string {
	if code, ok := profile.LanguageOfAttribute(attr); ok {
		return profile.LanguageDesired(code)
	}
	return Desired[attr]
}

// Probe captures every head's last-token activation for each sample of ds,
// trains one probe per head, and returns the profile attribute with the
// whole accuracy map and the TopK heads, plus every head's result.
func Probe(ctx context.Context, m *steering.Model, ds Dataset, o ProbeOptions) (*profile.Attribute, []HeadResult, error) {
	if len(ds.Samples) == 0 {
		return nil, nil, fmt.Errorf("probe %s: the dataset is empty", ds.Attribute)
	}
	texts := make([]string, len(ds.Samples))
	for i, s := range ds.Samples {
		texts[i] = s.Text
	}
	hm, err := capture(ctx, m, texts, o, "probe "+ds.Attribute+": ", "sample")
	if err != nil {
		return nil, nil, err
	}
	return train(ctx, hm, ds, o)
}

// Captured holds the last-token activations of distinct texts, captured
// once for several datasets that share their texts: the one-vs-rest
// datasets of BuildLanguageDatasets all draw from one pool of sentences,
// so probing n languages captures n*PerLanguage sentences instead of
// 2*n*PerLanguage, n times over.
type Captured struct {
	// Acts has one row per distinct text, in order of first appearance.
	Acts *HeadMatrix
	row  map[string]int
}

// CaptureDistinct captures the activations of every distinct sample text of
// datasets once (progress stage "capture", counting distinct texts).
func CaptureDistinct(ctx context.Context, m *steering.Model, datasets []Dataset, o ProbeOptions) (*Captured, error) {
	c := &Captured{row: map[string]int{}}
	var texts []string
	for _, ds := range datasets {
		for _, s := range ds.Samples {
			if _, ok := c.row[s.Text]; !ok {
				c.row[s.Text] = len(texts)
				texts = append(texts, s.Text)
			}
		}
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("capture: the datasets are empty")
	}
	hm, err := capture(ctx, m, texts, o, "capture: ", "text")
	if err != nil {
		return nil, err
	}
	c.Acts = hm
	return c, nil
}

// Len is the number of distinct texts captured.
func (c *Captured) Len() int { return len(c.row) }

// Probe is the package-level Probe of ds on activations already captured
// (progress stage "train" only): every sample's text must be among them.
// The samples' rows are copied into ds's own matrix, so the result is what
// Probe gives on the same activations.
func (c *Captured) Probe(ctx context.Context, ds Dataset, o ProbeOptions) (*profile.Attribute, []HeadResult, error) {
	if len(ds.Samples) == 0 {
		return nil, nil, fmt.Errorf("probe %s: the dataset is empty", ds.Attribute)
	}
	a := c.Acts
	hm := NewHeadMatrix(a.Layers, a.Heads, a.Dim, len(ds.Samples))
	for i, s := range ds.Samples {
		r, ok := c.row[s.Text]
		if !ok {
			return nil, nil, fmt.Errorf("probe %s: sample %d was not captured (%.40q)", ds.Attribute, i, s.Text)
		}
		for k, block := range a.Data {
			copy(hm.Data[k][i*a.Dim:(i+1)*a.Dim], block[r*a.Dim:(r+1)*a.Dim])
		}
	}
	return train(ctx, hm, ds, o)
}

// capture tokenizes texts and captures their activations in chunks of
// o.ChunkSize (progress stage "capture"). Errors start with prefix and
// call a text a what.
func capture(ctx context.Context, m *steering.Model, texts []string, o ProbeOptions, prefix, what string) (*HeadMatrix, error) {
	chunk := o.ChunkSize
	if chunk <= 0 {
		chunk = 256
	}
	sh := m.Shape()
	n := len(texts)
	hm := NewHeadMatrix(sh.Layers, sh.Heads, sh.HeadDim, n)
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		toks := make([][]int, end-start)
		for i := range toks {
			t, err := m.Tokenize(texts[start+i])
			if err != nil {
				return nil, fmt.Errorf("%stokenize %s %d: %w", prefix, what, start+i, err)
			}
			toks[i] = t
		}
		acts, err := m.CaptureTokens(ctx, toks, nil, func(done int) { o.progress("capture", start+done, n) })
		if err != nil {
			return nil, fmt.Errorf("%scapture %ss %d..%d: %w", prefix, what, start, end-1, err)
		}
		for i, a := range acts {
			for l := range a {
				for h := range a[l] {
					hm.Set(start+i, l, h, a[l][h])
				}
			}
		}
	}
	return hm, nil
}

func (o ProbeOptions) progress(stage string, done, total int) {
	if o.Progress != nil {
		o.Progress(stage, done, total)
	}
}

// train trains ds's probes on hm (row i = sample i; progress stage
// "train") and makes the profile attribute: the accuracy map and the TopK
// usable heads.
func train(ctx context.Context, hm *HeadMatrix, ds Dataset, o ProbeOptions) (*profile.Attribute, []HeadResult, error) {
	if o.TopK <= 0 {
		o.TopK = 64
	}
	n := len(ds.Samples)
	labels := make([]int, n)
	pos := 0
	for i, s := range ds.Samples {
		labels[i] = s.Label
		pos += s.Label
	}
	to := o.Train
	userProgress := to.Progress
	to.Progress = func(done, total int) {
		o.progress("train", done, total)
		if userProgress != nil {
			userProgress(done, total)
		}
	}
	results, err := Train(ctx, hm, labels, to)
	if err != nil {
		return nil, nil, fmt.Errorf("probe %s: %w", ds.Attribute, err)
	}
	tod, _ := o.Train.withDefaults()
	attr := &profile.Attribute{
		Desired: desiredOf(ds.Attribute),
		Data: profile.DataInfo{
			Description: ds.Description, Samples: n, Positive: pos, Negative: n - pos,
			Split: fmt.Sprintf("%g:1 train:validation, stratified", (1-tod.ValFraction)/tod.ValFraction), Seed: tod.Seed,
		},
		Accuracy: AccuracyMap(results, hm.Layers, hm.Heads),
	}
	// A head whose activations never vary (sigma 0) cannot be steered along
	// a unit direction; it is left out of the selection.
	var usable []HeadResult
	for _, r := range results {
		if r.ProbeSigma > 0 && r.MassMeanSigma > 0 {
			usable = append(usable, r)
		}
	}
	for _, r := range Select(usable, o.TopK) {
		attr.Heads = append(attr.Heads, profile.HeadEntry{
			Layer: r.Layer, Head: r.Head, Accuracy: r.ValAccuracy,
			Probe:    profile.Direction{Sigma: r.ProbeSigma, Vector: r.Probe},
			MassMean: profile.Direction{Sigma: r.MassMeanSigma, Vector: r.MassMean},
		})
	}
	return attr, results, nil
}

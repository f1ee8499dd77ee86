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

// Probe captures every head's last-token activation for each sample of ds,
// trains one probe per head, and returns the profile attribute with the
// whole accuracy map and the TopK heads, plus every head's result.
func Probe(ctx context.Context, m *steering.Model, ds Dataset, o ProbeOptions) (*profile.Attribute, []HeadResult, error) {
	if len(ds.Samples) == 0 {
		return nil, nil, fmt.Errorf("probe %s: the dataset is empty", ds.Attribute)
	}
	if o.TopK <= 0 {
		o.TopK = 64
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 256
	}
	progress := func(stage string, done, total int) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	sh := m.Shape()
	n := len(ds.Samples)
	hm := NewHeadMatrix(sh.Layers, sh.Heads, sh.HeadDim, n)
	labels := make([]int, n)
	pos := 0
	for i, s := range ds.Samples {
		labels[i] = s.Label
		pos += s.Label
	}
	for start := 0; start < n; start += o.ChunkSize {
		end := min(start+o.ChunkSize, n)
		toks := make([][]int, end-start)
		for i := range toks {
			t, err := m.Tokenize(ds.Samples[start+i].Text)
			if err != nil {
				return nil, nil, fmt.Errorf("probe %s: tokenize sample %d: %w", ds.Attribute, start+i, err)
			}
			toks[i] = t
		}
		acts, err := m.CaptureTokens(ctx, toks, nil, func(done int) { progress("capture", start+done, n) })
		if err != nil {
			return nil, nil, fmt.Errorf("probe %s: capture samples %d..%d: %w", ds.Attribute, start, end-1, err)
		}
		for i, a := range acts {
			for l := range a {
				for h := range a[l] {
					hm.Set(start+i, l, h, a[l][h])
				}
			}
		}
	}
	to := o.Train
	userProgress := to.Progress
	to.Progress = func(done, total int) {
		progress("train", done, total)
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
		Desired: Desired[ds.Attribute],
		Data: profile.DataInfo{
			Description: ds.Description, Samples: n, Positive: pos, Negative: n - pos,
			Split: fmt.Sprintf("%g:1 train:validation, stratified", (1-tod.ValFraction)/tod.ValFraction), Seed: tod.Seed,
		},
		Accuracy: AccuracyMap(results, sh.Layers, sh.Heads),
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

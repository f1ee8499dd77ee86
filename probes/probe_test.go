package probes

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// plantedModel writes a model whose head L1.H2 alone carries "the text
// has '#' markers (desired) rather than '%' markers", and whose output
// raises the capital letters when that head points to the desired class.
func plantedModel(t *testing.T) (*steering.Model, string, testmodel.Plant) {
	t.Helper()
	spec := testmodel.Spec{Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, FFN: 64, Type: testmodel.F32, Seed: 5, Name: "planted"}
	var caps []int
	for b := 'A'; b <= 'Z'; b++ {
		caps = append(caps, int(b))
	}
	plant := testmodel.Plant{Layer: 1, Head: 2, Positive: '#', Negative: '%', Target: caps}
	w, err := testmodel.Planted(spec, plant)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "planted.gguf")
	if err := testmodel.Write(path, spec, w); err != nil {
		t.Fatal(err)
	}
	m, err := steering.Load(path, steering.Options{Threads: 2, ContextSize: 256, KVCacheType: "f32"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, path, plant
}

// markerText is lowercase words with 2..4 markers at random places.
func markerText(r *rand.Rand, marker byte) string {
	words := []string{"the", "cat", "river", "blue", "house", "runs", "under", "a", "tree", "while", "rain", "falls", "on", "market", "day"}
	var b []byte
	n := 4 + r.IntN(6)
	marks := map[int]bool{}
	for range 2 + r.IntN(3) {
		marks[r.IntN(n)] = true
	}
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[r.IntN(len(words))]...)
		if marks[i] {
			b = append(b, ' ', marker)
		}
	}
	return string(b)
}

func markerDataset(n int, seed uint64) Dataset {
	r := rand.New(rand.NewPCG(seed, 3))
	ds := Dataset{Attribute: profile.AttributeAC, Description: "planted markers: '#' (1) vs '%' (0)"}
	for i := range n {
		label := i % 2
		marker := byte('%')
		if label == 1 {
			marker = '#'
		}
		ds.Samples = append(ds.Samples, Sample{Text: markerText(r, marker), Label: label})
	}
	return ds
}

// The pipeline finds the planted head, and steering along the learned
// direction moves the output toward the head's target.
func TestProbeFindsPlantedHeadAndSteeringMovesOutput(t *testing.T) {
	m, path, plant := plantedModel(t)
	ctx := context.Background()
	attr, results, err := Probe(ctx, m, markerDataset(600, 1), ProbeOptions{TopK: 4, Train: TrainOptions{Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	best := attr.Heads[0]
	if best.Layer != plant.Layer || best.Head != plant.Head || best.Accuracy < 0.95 {
		t.Fatalf("best head L%d.H%d acc %.3f, want the planted L%d.H%d with >= 0.95", best.Layer, best.Head, best.Accuracy, plant.Layer, plant.Head)
	}
	sum, worst, others := 0.0, 0.0, 0
	for _, r := range results {
		if r.Layer == plant.Layer && r.Head == plant.Head {
			continue
		}
		sum += r.ValAccuracy
		worst = max(worst, r.ValAccuracy)
		others++
	}
	mean := sum / float64(others)
	t.Logf("planted head: validation accuracy %.3f; other %d heads: mean %.3f, max %.3f", best.Accuracy, others, mean, worst)
	if math.Abs(mean-0.5) > 0.08 || worst > 0.7 {
		t.Fatalf("unplanted heads are not near chance: mean %.3f, max %.3f", mean, worst)
	}

	// Write and reload the profile, then steer with it.
	id, err := profile.ModelFingerprint(path)
	if err != nil {
		t.Fatal(err)
	}
	p := profile.New(id, "probes test")
	p.Attributes[profile.AttributeAC] = attr
	saved := filepath.Join(t.TempDir(), "profile.yaml")
	if err := p.Save(saved); err != nil {
		t.Fatal(err)
	}
	p, err = profile.Load(saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckModel(id); err != nil {
		t.Fatal(err)
	}
	prompts := []string{"the river runs under a tree %", "market day %", "rain falls on the blue house"}
	for _, kind := range []profile.DirectionKind{profile.DirectionProbe, profile.DirectionMassMean} {
		iv, _, err := steering.ProfileIntervention(p, kind, "", 8, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range prompts {
			toks, _ := m.Tokenize(text)
			plain, err := m.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			steered, err := m.Evaluate(ctx, toks, &steering.Steer{Intervention: iv})
			if err != nil {
				t.Fatal(err)
			}
			last := len(toks) - 1
			before, after := mass(plain[last], plant.Target), mass(steered[last], plant.Target)
			t.Logf("%s %q: P(capital letter) %.3f -> %.3f", kind, text, before, after)
			if after < before+0.3 {
				t.Fatalf("%s steering moved P(target) only from %.3f to %.3f on %q", kind, before, after, text)
			}
		}
	}
}

func mass(logits []float32, ids []int) float64 {
	mx := math.Inf(-1)
	for _, x := range logits {
		mx = math.Max(mx, float64(x))
	}
	z, in := 0.0, 0.0
	set := map[int]bool{}
	for _, id := range ids {
		set[id] = true
	}
	for i, x := range logits {
		v := math.Exp(float64(x) - mx)
		z += v
		if set[i] {
			in += v
		}
	}
	return in / z
}

package profile

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/profile-tiny.yaml from tinyProfile")

const tinyFixture = "testdata/profile-tiny.yaml"

// tinyModel is the shape of the fixture: 3 layers x 4 heads x d_h 32.
func tinyModel() ModelIdentity {
	return ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32, File: "tiny.gguf"}
}

// unitVector returns a deterministic random unit vector.
func unitVector(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	var ss float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	norm := math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// tinyAttribute makes an attribute with a deterministic accuracy map (values
// k/40, as a 40-prompt validation split gives) and the top nHeads heads.
func tinyAttribute(r *rand.Rand, m ModelIdentity, desired, desc string, nHeads int) *Attribute {
	a := &Attribute{
		Desired: desired,
		Data: DataInfo{
			Description: desc,
			Samples:     200, Positive: 100, Negative: 100,
			Split: "4:1", Seed: 1,
		},
	}
	type cand struct {
		l, h int
		acc  float64
	}
	var cands []cand
	for l := range m.Layers {
		row := make([]float64, m.Heads)
		for h := range row {
			row[h] = float64(20+r.IntN(21)) / 40 // 0.5 .. 1
			cands = append(cands, cand{l, h, row[h]})
		}
		a.Accuracy = append(a.Accuracy, row)
	}
	slices.SortStableFunc(cands, func(x, y cand) int {
		switch {
		case x.acc > y.acc:
			return -1
		case x.acc < y.acc:
			return 1
		}
		return 0
	})
	for _, c := range cands[:nHeads] {
		a.Heads = append(a.Heads, HeadEntry{
			Layer: c.l, Head: c.h, Accuracy: c.acc,
			Probe:    Direction{Sigma: 0.5 + r.Float64(), Vector: unitVector(r, m.HeadDim)},
			MassMean: Direction{Sigma: 0.5 + r.Float64(), Vector: unitVector(r, m.HeadDim)},
		})
	}
	return a
}

// tinyProfile is the fixture profile: deterministic (PCG), valid, both
// attributes.
func tinyProfile() *Profile {
	r := rand.New(rand.NewPCG(1, 2))
	m := tinyModel()
	p := New(m, "asmr probe (test fixture)")
	p.Attributes[AttributeAC] = tinyAttribute(r, m, "answer present",
		"synthetic (question, passage) pairs; passage contains the answer = desired", 5)
	p.Attributes[AttributeCL] = tinyAttribute(r, m, "same language",
		"synthetic sentence pairs; both sentences in the same language = desired", 4)
	return p
}

func cloneProfile(p *Profile) *Profile {
	c := *p
	c.Attributes = map[string]*Attribute{}
	for k, a := range p.Attributes {
		if a == nil {
			c.Attributes[k] = nil
			continue
		}
		c.Attributes[k] = a.clone()
	}
	return &c
}

func TestTinyFixtureUpToDate(t *testing.T) {
	p := tinyProfile()
	if *update {
		if err := p.Save(tinyFixture); err != nil {
			t.Fatal(err)
		}
	}
	want, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(tinyFixture)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestTinyFixture -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go test ./config -run TestTinyFixture -update", tinyFixture)
	}
	loaded, err := Load(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, p) {
		t.Fatal("fixture does not load back to tinyProfile()")
	}
	if err := loaded.CheckModel(ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32}); err != nil {
		t.Fatal(err)
	}
}

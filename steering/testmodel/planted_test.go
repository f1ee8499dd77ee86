package testmodel

import (
	"math"
	"strings"
	"testing"
)

func plantedSpec() (Spec, Plant) {
	spec := Spec{Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, FFN: 64, Type: F32, Seed: 5}
	var targets []int
	for b := 'A'; b <= 'Z'; b++ {
		targets = append(targets, int(b))
	}
	return spec, Plant{Layer: 1, Head: 2, Positive: '#', Negative: '%', Target: targets}
}

func tokens(s string) []int {
	t := []int{BOS}
	for _, b := range []byte(s) {
		t = append(t, int(b))
	}
	return t
}

func TestPlantedHeadCarriesTheMarker(t *testing.T) {
	spec, p := plantedSpec()
	w, err := Planted(spec, p)
	if err != nil {
		t.Fatal(err)
	}
	text := "the cat sat on X mat and X slept"
	posTr, _ := w.Forward(spec, tokens(strings.ReplaceAll(text, "X", "#")))
	negTr, _ := w.Forward(spec, tokens(strings.ReplaceAll(text, "X", "%")))
	last := len(text)
	hd := spec.HeadDim
	for l := range spec.Layers {
		for h := range spec.Heads {
			a := posTr.KQVOut[l][last][h*hd : (h+1)*hd]
			b := negTr.KQVOut[l][last][h*hd : (h+1)*hd]
			planted := l == p.Layer && h == p.Head
			for j := range a {
				same := a[j] == b[j]
				if planted && j == 0 {
					if a[0] <= 0 || b[0] >= 0 {
						t.Fatalf("planted channel: positive %g, negative %g", a[0], b[0])
					}
					continue
				}
				if !same {
					t.Fatalf("L%d.H%d[%d] differs between the markers (%g vs %g): the signal leaks", l, h, j, a[j], b[j])
				}
			}
		}
	}
	// Targets gain probability with the positive marker.
	if pt, nt := targetMass(posTr.Logits[last], p.Target), targetMass(negTr.Logits[last], p.Target); pt <= nt {
		t.Fatalf("target mass positive %.3f <= negative %.3f", pt, nt)
	}
}

func targetMass(logits []float32, targets []int) float64 {
	mx := math.Inf(-1)
	for _, x := range logits {
		mx = math.Max(mx, float64(x))
	}
	z, m := 0.0, 0.0
	for i, x := range logits {
		v := math.Exp(float64(x) - mx)
		z += v
		for _, tg := range targets {
			if tg == i {
				m += v
			}
		}
	}
	return m / z
}

func TestPlantedErrors(t *testing.T) {
	spec, p := plantedSpec()
	gqa := spec
	gqa.KVHeads = 2
	if _, err := Planted(gqa, p); err == nil {
		t.Fatal("GQA accepted")
	}
	bad := p
	bad.Layer = 2
	if _, err := Planted(spec, bad); err == nil {
		t.Fatal("layer out of range accepted")
	}
	same := p
	same.Negative = same.Positive
	if _, err := Planted(spec, same); err == nil {
		t.Fatal("equal markers accepted")
	}
}

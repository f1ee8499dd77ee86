package profile

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func norm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func TestShifts(t *testing.T) {
	p := tinyProfile()
	a := p.Attributes[AttributeAC]
	const alpha = 20.0

	for _, c := range []struct{ topK, want int }{{0, 5}, {-1, 5}, {2, 2}, {5, 5}, {64, 5}} {
		s, err := p.Shifts(AttributeAC, DirectionProbe, alpha, c.topK)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != c.want {
			t.Fatalf("topK %d: %d shifts, want %d", c.topK, len(s), c.want)
		}
		for i, sh := range s {
			if sh.Layer != a.Heads[i].Layer || sh.Head != a.Heads[i].Head {
				t.Fatalf("topK %d: shift %d is L%d.H%d, want the %d-th best head L%d.H%d", c.topK, i, sh.Layer, sh.Head, i, a.Heads[i].Layer, a.Heads[i].Head)
			}
		}
	}

	for _, kind := range []DirectionKind{DirectionProbe, DirectionMassMean} {
		s, err := p.Shifts(AttributeAC, kind, alpha, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, sh := range s {
			d, _ := a.Heads[i].DirectionOf(kind)
			wantNorm := alpha * d.Sigma
			if got := norm(sh.Vector); math.Abs(got-wantNorm) > 1e-5*wantNorm {
				t.Errorf("%s head %d: norm %v, want alpha*sigma = %v", kind, i, got, wantNorm)
			}
			n := norm(d.Vector)
			for j, x := range sh.Vector {
				want := alpha * d.Sigma * float64(d.Vector[j]) / n
				if math.Abs(float64(x)-want) > 1e-5*math.Abs(want)+1e-6 {
					t.Fatalf("%s head %d [%d]: %v, want %v", kind, i, j, x, want)
				}
			}
		}
	}
	// The two kinds give different vectors (the fixture's directions differ).
	sp, _ := p.Shifts(AttributeCL, DirectionProbe, 1, 1)
	sm, _ := p.Shifts(AttributeCL, DirectionMassMean, 1, 1)
	if slices.Equal(sp[0].Vector, sm[0].Vector) {
		t.Error("probe and mass-mean shifts are equal")
	}
	// Negative alpha steers away; zero alpha adds nothing.
	neg, _ := p.Shifts(AttributeCL, DirectionProbe, -1, 1)
	for j := range neg[0].Vector {
		if neg[0].Vector[j] != -sp[0].Vector[j] {
			t.Fatal("alpha -1 is not the negation of alpha 1")
		}
	}
	zero, _ := p.Shifts(AttributeCL, DirectionProbe, 0, 0)
	for _, s := range zero {
		if norm(s.Vector) != 0 {
			t.Fatal("alpha 0 shifted")
		}
	}
	// The result does not alias the profile.
	sp[0].Vector[0] = 99
	if p.Attributes[AttributeCL].Heads[0].Probe.Vector[0] == 99 {
		t.Fatal("shift aliases the profile")
	}

	if _, err := p.Shifts("XX", DirectionProbe, 1, 0); err == nil || !strings.Contains(err.Error(), `no attribute "XX" (it has: AC, CL)`) {
		t.Errorf("unknown attribute: %v", err)
	}
	if _, err := p.Shifts(AttributeAC, "mean", 1, 0); err == nil || !strings.Contains(err.Error(), "unknown direction kind") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := p.Shifts(AttributeAC, DirectionProbe, math.NaN(), 0); err == nil {
		t.Error("NaN alpha accepted")
	}
}

package steering

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

func TestInterventionValidation(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	sh := m.Shape()
	cases := []struct {
		iv   Intervention
		want string
	}{
		{Intervention{{3, 0}: make([]float32, 32)}, "layer 3 out of range: the model has 3 layers"},
		{Intervention{{0, 4}: make([]float32, 32)}, "head 4 out of range: the model has 4 heads"},
		{Intervention{{1, 1}: make([]float32, 64)}, "length 64, but the model's head size d_h is 32"},
		{Intervention{{1, 1}: append(make([]float32, 31), float32(math.NaN()))}, "not finite"},
	}
	for _, tc := range cases {
		err := tc.iv.Validate(sh)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want %q", tc.iv.Heads(), err, tc.want)
		}
		if _, err := m.Generate(context.Background(), "x", Params{Steer: &Steer{Intervention: tc.iv}}); err == nil {
			t.Errorf("Generate accepted %v", tc.iv.Heads())
		}
	}
	ok := randomIntervention(sh, []Head{{0, 0}, {2, 3}}, 1, 1)
	if err := ok.Validate(sh); err != nil {
		t.Fatal(err)
	}
	iv := Intervention{}
	iv.Add(1, 2, []float32{1, 2})
	iv.Add(1, 2, []float32{10, 20})
	if got := iv[Head{1, 2}]; got[0] != 11 || got[1] != 22 {
		t.Fatalf("Add did not accumulate: %v", got)
	}
}

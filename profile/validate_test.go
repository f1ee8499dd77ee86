package profile

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

func TestValidateErrors(t *testing.T) {
	ac := func(p *Profile) *Attribute { return p.Attributes[AttributeAC] }
	cases := []struct {
		name   string
		mutate func(p *Profile)
		want   []string // substrings of the error, the first is the path
	}{
		{"version missing", func(p *Profile) { p.Version = 0 }, []string{"version: missing"}},
		{"version newer", func(p *Profile) { p.Version = 2 }, []string{"version: 2 is newer", "upgrade asmr", "asmr probe"}},
		{"version older", func(p *Profile) { p.Version = -1 }, []string{"version: -1 is older", "regenerate"}},
		{"kind", func(p *Profile) { p.Kind = "other" }, []string{"kind: is \"other\""}},
		{"architecture", func(p *Profile) { p.Model.Architecture = "" }, []string{"model.architecture: missing"}},
		{"layers", func(p *Profile) { p.Model.Layers = 0 }, []string{"model.layers: 0, must be > 0"}},
		{"heads", func(p *Profile) { p.Model.Heads = -1 }, []string{"model.heads: -1"}},
		{"headDim", func(p *Profile) { p.Model.HeadDim = 0 }, []string{"model.headDim: 0"}},
		{"fingerprint", func(p *Profile) { p.Model.Fingerprint = "md5:abc" }, []string{"model.fingerprint:"}},
		{"no attributes", func(p *Profile) { p.Attributes = nil }, []string{"attributes: none"}},
		{"nil attribute", func(p *Profile) { p.Attributes["XY"] = nil }, []string{"attributes.XY: empty"}},
		{"attribute name", func(p *Profile) { p.Attributes["a b"] = ac(p) }, []string{"attributes.a b: attribute name"}},
		{"desired", func(p *Profile) { ac(p).Desired = " " }, []string{"attributes.AC.desired: missing"}},
		{"data counts", func(p *Profile) { ac(p).Data.Positive = 7 }, []string{"attributes.AC.data: positive 7 + negative 100 != samples 200"}},
		{"data negative", func(p *Profile) { ac(p).Data.Samples = -1 }, []string{"attributes.AC.data: negative counts"}},
		{"accuracy layers", func(p *Profile) { ac(p).Accuracy = ac(p).Accuracy[:2] }, []string{"attributes.AC.accuracy: has 2 layers, want 3"}},
		{"accuracy heads", func(p *Profile) { ac(p).Accuracy[1] = ac(p).Accuracy[1][:3] }, []string{"attributes.AC.accuracy[1]: has 3 heads, want 4"}},
		{"accuracy range", func(p *Profile) { ac(p).Accuracy[2][3] = 1.5 }, []string{"attributes.AC.accuracy[2][3]: 1.5 is not in [0,1]"}},
		{"accuracy NaN", func(p *Profile) { ac(p).Accuracy[0][0] = math.NaN() }, []string{"attributes.AC.accuracy[0][0]: NaN"}},
		{"accuracy many", func(p *Profile) {
			for _, row := range ac(p).Accuracy {
				for h := range row {
					row[h] = -1
				}
			}
		}, []string{"attributes.AC.accuracy: 9 more values not in [0,1]"}},
		{"no heads", func(p *Profile) { ac(p).Heads = nil }, []string{"attributes.AC.heads: no heads selected"}},
		{"layer range", func(p *Profile) { ac(p).Heads[1].Layer = 3 }, []string{"attributes.AC.heads[1].layer: 3 out of range [0,3)"}},
		{"head range", func(p *Profile) { ac(p).Heads[2].Head = -1 }, []string{"attributes.AC.heads[2].head: -1 out of range [0,4)"}},
		{"duplicate", func(p *Profile) {
			h := ac(p).Heads
			h[1].Layer, h[1].Head, h[1].Accuracy = h[0].Layer, h[0].Head, h[0].Accuracy
		}, []string{"attributes.AC.heads[1]: layer", "already selected at heads[0]"}},
		{"unsorted", func(p *Profile) {
			h := ac(p).Heads
			h[3], h[4] = h[4], h[3]
			// make them differ, keeping the map consistent
			ac(p).Accuracy[h[3].Layer][h[3].Head] = 0.5
			h[3].Accuracy = 0.5
			ac(p).Accuracy[h[4].Layer][h[4].Head] = 0.6
			h[4].Accuracy = 0.6
		}, []string{"attributes.AC.heads[4].accuracy: 0.6 is higher than heads[3]'s 0.5"}},
		{"accuracy disagrees", func(p *Profile) { ac(p).Heads[0].Accuracy -= 1e-3 }, []string{"attributes.AC.heads[0].accuracy:", "differs from accuracy["}},
		{"head accuracy range", func(p *Profile) { ac(p).Heads[0].Accuracy = 2 }, []string{"attributes.AC.heads[0].accuracy: 2 is not in [0,1]"}},
		{"direction length", func(p *Profile) {
			d := &p.Attributes[AttributeCL].Heads[3].Probe
			d.Vector = d.Vector[:31]
		}, []string{"attributes.CL.heads[3].probe.direction: has 31 values, want 32"}},
		{"direction empty", func(p *Profile) { ac(p).Heads[0].MassMean.Vector = nil }, []string{"attributes.AC.heads[0].massMean.direction: has 0 values"}},
		{"direction not unit", func(p *Profile) {
			v := ac(p).Heads[0].MassMean.Vector
			for i := range v {
				v[i] *= 2
			}
		}, []string{"attributes.AC.heads[0].massMean.direction: norm 2"}},
		{"direction NaN", func(p *Profile) { ac(p).Heads[1].Probe.Vector[5] = float32(math.NaN()) }, []string{"attributes.AC.heads[1].probe.direction[5]: NaN is not finite"}},
		{"direction Inf", func(p *Profile) { ac(p).Heads[1].Probe.Vector[6] = float32(math.Inf(-1)) }, []string{"attributes.AC.heads[1].probe.direction[6]: -Inf is not finite"}},
		{"sigma zero", func(p *Profile) { ac(p).Heads[2].Probe.Sigma = 0 }, []string{"attributes.AC.heads[2].probe.sigma: 0, must be finite and > 0"}},
		{"sigma Inf", func(p *Profile) { ac(p).Heads[2].MassMean.Sigma = math.Inf(1) }, []string{"attributes.AC.heads[2].massMean.sigma: +Inf"}},
		{"sigma NaN", func(p *Profile) { ac(p).Heads[2].MassMean.Sigma = math.NaN() }, []string{"attributes.AC.heads[2].massMean.sigma: NaN"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := cloneProfile(tinyProfile())
			c.mutate(p)
			err := p.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			var ve *problems.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *problems.Error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			// Marshal and Save refuse an invalid profile.
			if _, err := p.Marshal(); err == nil {
				t.Error("Marshal accepted an invalid profile")
			}
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	p := tinyProfile()
	p.Kind = "x"
	p.Attributes[AttributeAC].Heads[0].Probe.Sigma = -1
	p.Attributes[AttributeCL].Heads[1].MassMean.Vector[0] += 1
	err := p.Validate()
	var ve *problems.Error
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for _, w := range []string{"3 problems", "kind:", "attributes.AC.heads[0].probe.sigma", "attributes.CL.heads[1].massMean.direction: norm"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if err := (*Profile)(nil).Validate(); err == nil {
		t.Error("nil profile validated")
	}
}

package steering

import (
	"reflect"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
)

// basis is the unit vector e_i of length 4.
func basis(i int) []float32 {
	v := make([]float32, 4)
	v[i] = 1
	return v
}

// langHead is a selected head whose probe and mass-mean directions are
// basis vectors with their own sigmas.
type langHead struct {
	layer, head     int
	acc             float64
	probe, massMean int
	sProbe, sMM     float64
}

// languageProfile is a hand-made profile of a 2-layer, 2-head, d_h 4 model
// whose attributes steer different heads along different basis vectors:
//
//	AC      L1.H1 probe e0 (sigma 1),   mass-mean e3 (sigma 5)
//	CL      L0.H0 probe e1 (sigma 1),   mass-mean e2 (sigma 4),
//	        then L0.H1 and L1.H0 (mass-mean e1, e3, sigma 1, 2)
//	LANG.de L0.H1 mass-mean e0 (sigma 2), then L1.H0 mass-mean e1 (sigma 3)
//	LANG.ru L1.H1 mass-mean e2 (sigma 0.5), then L0.H0 mass-mean e3 (sigma 1)
//
// The language direction steers CL's best heads (L0.H0, L0.H1, L1.H0 in
// that order) along the language's vectors where it has that head.
func languageProfile() *profile.Profile {
	p := profile.New(profile.ModelIdentity{Architecture: "llama", Layers: 2, Heads: 2, HeadDim: 4}, "test")
	attr := func(desired string, heads ...langHead) *profile.Attribute {
		a := &profile.Attribute{Desired: desired, Accuracy: [][]float64{{0.5, 0.5}, {0.5, 0.5}}}
		for _, h := range heads {
			a.Accuracy[h.layer][h.head] = h.acc
			a.Heads = append(a.Heads, profile.HeadEntry{Layer: h.layer, Head: h.head, Accuracy: h.acc,
				Probe:    profile.Direction{Sigma: h.sProbe, Vector: basis(h.probe)},
				MassMean: profile.Direction{Sigma: h.sMM, Vector: basis(h.massMean)}})
		}
		return a
	}
	p.Attributes[profile.AttributeAC] = attr("answer present", langHead{1, 1, 0.9, 0, 3, 1, 5})
	p.Attributes[profile.AttributeCL] = attr("same language", langHead{0, 0, 0.9, 1, 2, 1, 4}, langHead{0, 1, 0.8, 0, 1, 1, 1}, langHead{1, 0, 0.7, 2, 3, 1, 2})
	p.Attributes["LANG.de"] = attr(profile.LanguageDesired("de"), langHead{0, 1, 1, 3, 0, 1, 2}, langHead{1, 0, 0.9, 3, 1, 1, 3})
	p.Attributes["LANG.ru"] = attr(profile.LanguageDesired("ru"), langHead{1, 1, 1, 3, 2, 1, 0.5}, langHead{0, 0, 0.8, 3, 3, 1, 1})
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// scaled is s*e_i.
func scaled(i int, s float32) []float32 {
	v := basis(i)
	v[i] = s
	return v
}

func TestProfileInterventionLanguage(t *testing.T) {
	p := languageProfile()
	for _, c := range []struct {
		name             string
		kind             profile.DirectionKind
		lang             string
		alphaAC, alphaCL float64
		topK             int
		want             Intervention
		warning          []string // substrings; none: no warning
	}{
		{"German, CL's best head, which LANG.de lacks: nothing", profile.DirectionLanguage, "de", 0, 2, 1,
			Intervention{}, nil},
		{"German, CL's two best heads: LANG.de's mass-mean on L0.H1 scaled by alpha*sigma", profile.DirectionLanguage, "de", 0, 2, 2,
			Intervention{{0, 1}: scaled(0, 2*2)}, nil},
		{"German, all heads, code in capitals", profile.DirectionLanguage, " DE", 0, 2, 0,
			Intervention{{0, 1}: scaled(0, 2*2), {1, 0}: scaled(1, 2*3)}, nil},
		{"Russian: LANG.ru's vectors on CL's heads (not its own best, L1.H1)", profile.DirectionLanguage, "ru", 0, -2, 0,
			Intervention{{0, 0}: scaled(3, -2*1)}, nil},
		{"AC takes AC's mass-mean directions", profile.DirectionLanguage, "de", 3, 2, 2,
			Intervention{{1, 1}: scaled(3, 3*5), {0, 1}: scaled(0, 2*2)}, nil},
		{"AC alone needs no language", profile.DirectionLanguage, "", 3, 0, 0,
			Intervention{{1, 1}: scaled(3, 3*5)}, nil},
		{"French: no LANG.fr, CL mass-mean with a warning", profile.DirectionLanguage, "fr", 0, 2, 1,
			Intervention{{0, 0}: scaled(2, 2*4)}, []string{"no LANG.fr for the answer language fr", "CL was steered along its mass-mean directions", "language attributes for de ru"}},
		{"unknown language: CL mass-mean with a warning", profile.DirectionLanguage, "", 0, 2, 1,
			Intervention{{0, 0}: scaled(2, 2*4)}, []string{"the answer language is unknown", "de ru"}},
		{"probe ignores the language", profile.DirectionProbe, "de", 0, 2, 1,
			Intervention{{0, 0}: scaled(1, 2*1)}, nil},
		{"mass-mean ignores the language", profile.DirectionMassMean, "ru", 0, 2, 1,
			Intervention{{0, 0}: scaled(2, 2*4)}, nil},
	} {
		iv, warning, err := ProfileIntervention(p, c.kind, c.lang, c.alphaAC, c.alphaCL, c.topK)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(iv, c.want) {
			t.Errorf("%s: intervention %v, want %v", c.name, iv, c.want)
		}
		if len(c.warning) == 0 && warning != "" {
			t.Errorf("%s: unexpected warning %q", c.name, warning)
		}
		for _, w := range c.warning {
			if !strings.Contains(warning, w) {
				t.Errorf("%s: warning %q lacks %q", c.name, warning, w)
			}
		}
	}

	// A profile without any language attribute says so.
	delete(p.Attributes, "LANG.de")
	delete(p.Attributes, "LANG.ru")
	_, warning, err := ProfileIntervention(p, profile.DirectionLanguage, "de", 0, 1, 0)
	if err != nil || !strings.Contains(warning, "no LANG.de") || !strings.Contains(warning, "the profile has no language attributes") {
		t.Errorf("profile without languages: %q, %v", warning, err)
	}
}

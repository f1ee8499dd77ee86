package rag

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// langProfile has CL on L0.H0 and language attributes LANG.de (L0.H1,
// direction e0) and LANG.ru (L1.H0, direction e1), on a 2 x 2 x d_h 2
// model.
func langProfile() *profile.Profile {
	p := profile.New(profile.ModelIdentity{Architecture: "llama", Layers: 2, Heads: 2, HeadDim: 2}, "test")
	attr := func(layer, head int, mm []float32, sigma float64) *profile.Attribute {
		a := &profile.Attribute{Desired: "x", Accuracy: [][]float64{{0.5, 0.5}, {0.5, 0.5}}}
		a.Accuracy[layer][head] = 1
		a.Heads = []profile.HeadEntry{{Layer: layer, Head: head, Accuracy: 1,
			Probe:    profile.Direction{Sigma: 1, Vector: []float32{0.6, 0.8}},
			MassMean: profile.Direction{Sigma: sigma, Vector: mm}}}
		return a
	}
	p.Attributes[profile.AttributeCL] = attr(0, 0, []float32{0, 1}, 4)
	// The language direction steers CL's heads: L0.H1 and L1.H0 too, below
	// L0.H0, so that LANG.de's and LANG.ru's heads are among them.
	cl := p.Attributes[profile.AttributeCL]
	for i, h := range [][2]int{{0, 1}, {1, 0}} {
		acc := 0.9 - 0.1*float64(i)
		cl.Accuracy[h[0]][h[1]] = acc
		cl.Heads = append(cl.Heads, profile.HeadEntry{Layer: h[0], Head: h[1], Accuracy: acc,
			Probe:    profile.Direction{Sigma: 1, Vector: []float32{0.6, 0.8}},
			MassMean: profile.Direction{Sigma: 1, Vector: []float32{1, 0}}})
	}
	p.Attributes["LANG.de"] = attr(0, 1, []float32{1, 0}, 2)
	p.Attributes["LANG.ru"] = attr(1, 0, []float32{0, 1}, 3)
	return p
}

var langShape = steering.Shape{Layers: 2, Heads: 2, HeadDim: 2}

func TestResolveSteerLanguage(t *testing.T) {
	p := langProfile()
	s := Steering{Profile: "gemma", Direction: profile.DirectionLanguage, AlphaCL: 5, Scope: config.TokenScopeGeneration}
	st, warning, err := ResolveSteer(p, s, "de", "m", langShape)
	if err != nil || warning != "" {
		t.Fatalf("de: %v, warning %q", err, warning)
	}
	if want := (steering.Intervention{{Layer: 0, Head: 1}: {5 * 2, 0}}); !equalIV(st.Intervention, want) {
		t.Errorf("de: %v, want %v", st.Intervention, want)
	}
	st, _, _ = ResolveSteer(p, s, "ru", "m", langShape)
	if want := (steering.Intervention{{Layer: 1, Head: 0}: {0, 5 * 3}}); !equalIV(st.Intervention, want) {
		t.Errorf("ru: %v, want %v", st.Intervention, want)
	}
	st, warning, err = ResolveSteer(p, s, "th", "m", langShape)
	if err != nil {
		t.Fatal(err)
	}
	if want := (steering.Intervention{{Layer: 0, Head: 0}: {0, 5 * 4}, {Layer: 0, Head: 1}: {5, 0}, {Layer: 1, Head: 0}: {5, 0}}); !equalIV(st.Intervention, want) {
		t.Errorf("th falls back to CL: %v, want %v", st.Intervention, want)
	}
	for _, w := range []string{`profile "gemma": direction language: `, "no LANG.th", "answer language th", "de ru"} {
		if !strings.Contains(warning, w) {
			t.Errorf("th: warning %q lacks %q", warning, w)
		}
	}
	// Unsteered: no steering, no warning, whatever the language.
	if st, warning, err := ResolveSteer(p, Steering{Profile: "gemma", Direction: profile.DirectionLanguage}, "", "m", langShape); st != nil || warning != "" || err != nil {
		t.Errorf("inactive: %v, %q, %v", st, warning, err)
	}
}

func equalIV(a, b steering.Intervention) bool {
	if len(a) != len(b) {
		return false
	}
	for h, v := range a {
		if !slices.Equal(v, b[h]) {
			return false
		}
	}
	return true
}

// fakeReader counts a token per byte and records what it was asked.
type fakeReader struct {
	params steering.Params
}

func (f *fakeReader) TokenizePrompt(system, user string) ([]int, string, error) {
	return make([]int, len(system)+len(user)), system + "\n" + user, nil
}
func (f *fakeReader) ContextSize() int      { return 4096 }
func (f *fakeReader) Shape() steering.Shape { return langShape }
func (f *fakeReader) Generate(_ context.Context, _ string, p steering.Params) (*steering.Result, error) {
	f.params = p
	heads := 0
	if p.Steer != nil {
		heads = len(p.Steer.Intervention)
	}
	return &steering.Result{Text: "ok", SteeredHeads: heads}, nil
}

// Answer steers toward the answer language's LANG vectors, and a language
// the profile lacks falls back to CL with a metadata warning.
func TestAnswerLanguageDirection(t *testing.T) {
	p := langProfile()
	answer := func(lang lingua.Language) (*Result, *fakeReader) {
		t.Helper()
		r := &fakeReader{}
		res, err := Answer(context.Background(), r, Request{
			Model: "m", Prompt: GroupedOf(config.DefaultPromptTemplate, "Wer erfand das Telefon?", []string{"Bell."}, 0),
			Question: "Wer erfand das Telefon?", AnswerLanguage: &lang, MaxTokens: 8,
			Profile: p, Steering: Steering{Profile: "gemma", Direction: profile.DirectionLanguage, AlphaCL: 5, Scope: config.TokenScopeGeneration},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res, r
	}
	res, r := answer(lingua.German)
	if want := (steering.Intervention{{Layer: 0, Head: 1}: {10, 0}}); !equalIV(r.params.Steer.Intervention, want) {
		t.Errorf("German: %v, want %v", r.params.Steer.Intervention, want)
	}
	if len(res.Meta.Warnings) != 0 {
		t.Errorf("German: warnings %q", res.Meta.Warnings)
	}
	res, r = answer(lingua.Thai)
	if want := (steering.Intervention{{Layer: 0, Head: 0}: {0, 20}, {Layer: 0, Head: 1}: {5, 0}, {Layer: 1, Head: 0}: {5, 0}}); !equalIV(r.params.Steer.Intervention, want) {
		t.Errorf("Thai: %v, want %v", r.params.Steer.Intervention, want)
	}
	warnings := res.Meta.Map()[MetaWarnings].([]string)
	if len(warnings) != 1 || !strings.Contains(warnings[0], `profile "gemma"`) || !strings.Contains(warnings[0], "no LANG.th for the answer language th") {
		t.Errorf("Thai: metadata warnings %q", warnings)
	}
	if len(res.Prompt.Warnings) != 0 {
		t.Errorf("the steering warning went into the prompt's warnings: %q", res.Prompt.Warnings)
	}
}

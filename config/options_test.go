package config

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/pemistahl/lingua-go"
)

func TestMergeOrder(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	defaults := Options{Model: "a", Profile: "p", AlphaAC: f(20), AlphaCL: f(20), TopK: i(64)}
	class := Options{Model: "b", AlphaCL: f(5)}
	query := Options{AlphaCL: f(0), TopK: i(8), Direction: "mass-mean"}
	got := defaults.Merge(class).Merge(query)
	if got.Model != "b" || got.Profile != "p" || *got.AlphaAC != 20 || *got.AlphaCL != 0 || *got.TopK != 8 || got.Direction != "mass-mean" {
		t.Errorf("merge: %+v", got)
	}
	// Merging copies: changing the result leaves the layers alone.
	*got.AlphaAC = 1
	if *defaults.AlphaAC != 20 {
		t.Error("Merge shares pointers with its input")
	}
	if !(Options{}).IsZero() || query.IsZero() {
		t.Error("IsZero")
	}
}

func TestResolveDefaults(t *testing.T) {
	r, err := Options{}.Resolve("test")
	if err != nil {
		t.Fatal(err)
	}
	if r.AlphaAC != DefaultAlpha || r.AlphaCL != DefaultAlpha || r.TopK != DefaultTopK || r.Direction != profile.DirectionProbe ||
		r.TokenScope != TokenScopeGeneration || r.MaxTokens != DefaultMaxTokens || r.Temperature != 0 ||
		r.PromptTemplate != DefaultPromptTemplate || r.AnswerLanguage != nil || r.Profile != "" || r.Steered() {
		t.Errorf("defaults: %+v", r)
	}
	r, err = Options{AnswerLanguage: "deu", Direction: "Mass-Mean", TokenScope: "ALL", Profile: "p"}.Resolve("test")
	if err != nil {
		t.Fatal(err)
	}
	if r.AnswerLanguage == nil || *r.AnswerLanguage != lingua.German || r.Direction != profile.DirectionMassMean || r.TokenScope != TokenScopeAll || !r.Steered() {
		t.Errorf("resolved: %+v", r)
	}
}

func TestResolveReportsEveryProblem(t *testing.T) {
	nan, neg, big := math.NaN(), -1, MaxMaxTokens+1
	hot := 9.0
	_, err := Options{AlphaCL: &nan, TopK: &neg, MaxTokens: &big, Temperature: &hot, Direction: "sideways",
		TokenScope: "prompt", PromptTemplate: "{{passages}} only", AnswerLanguage: "elvish"}.Resolve("query asmr options")
	var oe *problems.Error
	if !errors.As(err, &oe) || oe.Subject != "invalid query asmr options" {
		t.Fatalf("want *problems.Error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"invalid query asmr options: 8 problems",
		"alphaCL: NaN is outside -100..100",
		"topK: -1 is negative",
		"maxTokens: 32769 is out of range",
		"temperature: 9 is out of range",
		`direction: unknown direction kind "sideways"`,
		`tokenScope: "prompt" is not a scope`,
		"promptTemplate: missing {{question}}",
		`answerLanguage: unknown language "elvish"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
}

// Alpha has a documented range; past it (1e30, 1e6, 101) is refused with
// the range in the message, and the bounds themselves are accepted.
func TestAlphaRange(t *testing.T) {
	for _, v := range []float64{1e30, 1e6, 101, -100.5, math.Inf(1)} {
		_, err := Options{AlphaAC: &v}.Resolve("query asmr options")
		if err == nil || !strings.Contains(err.Error(), "alphaAC") || !strings.Contains(err.Error(), "-100..100") {
			t.Errorf("alphaAC %v: %v, want refused with the range -100..100", v, err)
		}
	}
	for _, v := range []float64{100, -100, 0, 20, 0.5} {
		if _, err := (Options{AlphaCL: &v}).Resolve("q"); err != nil {
			t.Errorf("alphaCL %v refused: %v", v, err)
		}
	}
}

// seed: unset draws a fresh seed per request (Resolved.Seed nil); set, it
// is reproducible; it must be a whole number that fits uint32.
func TestSeedOption(t *testing.T) {
	r, err := Options{}.Resolve("q")
	if err != nil || r.Seed != nil {
		t.Fatalf("unset seed: %v %v", r.Seed, err)
	}
	o, err := OptionsFromMap(map[string]any{"seed": 42.0}, "class moduleConfig")
	if err != nil || o.Seed == nil || *o.Seed != 42 {
		t.Fatalf("seed 42: %+v %v", o, err)
	}
	r, err = Options{}.Merge(o).Resolve("q")
	if err != nil || r.Seed == nil || *r.Seed != 42 {
		t.Errorf("resolved seed: %v %v", r.Seed, err)
	}
	o, err = OptionsFromMap(map[string]any{"seed": json.Number("4294967295")}, "q")
	if err != nil || *o.Seed != math.MaxUint32 {
		t.Errorf("largest seed: %+v %v", o, err)
	}
	// The query's seed overrides the class's; Merge copies it.
	s1, s2 := int64(1), int64(2)
	m := Options{Seed: &s1}.Merge(Options{Seed: &s2})
	if *m.Seed != 2 || m.Seed == &s2 {
		t.Errorf("merge: %v", m.Seed)
	}
	for v, want := range map[any]string{
		-1.0:                 "seed: -1 is out of range; give 0 to 4294967295",
		4294967296.0:         "seed: 4294967296 is out of range; give 0 to 4294967295",
		1e30:                 "seed: 1e+30 is out of range; give 0 to 4294967295",
		1.5:                  "seed: want a whole number from 0 to 4294967295, got the number 1.5",
		"7":                  `seed: want a whole number from 0 to 4294967295, got the string "7"`,
		json.Number("1e999"): "seed: want a whole number from 0 to 4294967295",
	} {
		_, err := OptionsFromMap(map[string]any{"seed": v}, "q")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("seed %v: %v; want %q", v, err, want)
		}
	}
	neg := int64(-5)
	if _, err := (Options{Seed: &neg}).Resolve("defaults"); err == nil || !strings.Contains(err.Error(), "seed: -5 is out of range; give 0 to 4294967295") {
		t.Errorf("Resolve seed -5: %v", err)
	}
	if !strings.Contains(strings.Join(OptionNames, ","), "seed") {
		t.Error("OptionNames lacks seed")
	}
}

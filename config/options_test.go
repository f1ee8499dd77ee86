package config

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/profile"
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

func TestOptionsFromMap(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"model":"m","profile":"p","alphaAC":10,"alphaCL":2.5,"topK":16,"direction":"mass-mean",
		"tokenScope":"all","maxTokens":100,"temperature":0.2,"promptTemplate":"{{passages}} {{question}}","answerLanguage":"fr"}`), &m); err != nil {
		t.Fatal(err)
	}
	o, err := OptionsFromMap(m, "class moduleConfig")
	if err != nil {
		t.Fatal(err)
	}
	if o.Model != "m" || o.Profile != "p" || *o.AlphaAC != 10 || *o.AlphaCL != 2.5 || *o.TopK != 16 || o.Direction != "mass-mean" ||
		o.TokenScope != "all" || *o.MaxTokens != 100 || *o.Temperature != 0.2 || o.AnswerLanguage != "fr" {
		t.Errorf("from map: %+v", o)
	}
	// json.Number, as Weaviate's decoder with UseNumber gives it.
	o, err = OptionsFromMap(map[string]any{"topK": json.Number("8"), "alphaCL": json.Number("1.5")}, "x")
	if err != nil || *o.TopK != 8 || *o.AlphaCL != 1.5 {
		t.Errorf("json.Number: %+v %v", o, err)
	}

	_, err = OptionsFromMap(map[string]any{"alphaCl": 3.0, "topK": 1.5, "model": 7.0, "maxTokens": "many", "temprature": 1.0}, "class moduleConfig")
	if err == nil {
		t.Fatal("bad map accepted")
	}
	for _, want := range []string{
		`alphaCl: unknown option (did you mean "alphaCL"?); the options are model, profile, alphaAC`,
		"topK: want a whole number, got the number 1.5",
		"model: want a string, got the number 7",
		`maxTokens: want a whole number, got the string "many"`,
		`temprature: unknown option (did you mean "temperature"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestParseLanguage(t *testing.T) {
	for in, want := range map[string]lingua.Language{
		"de": lingua.German, "DE": lingua.German, "deu": lingua.German, "german": lingua.German,
		"zh": lingua.Chinese, "Japanese": lingua.Japanese, "te": lingua.Telugu, " ko ": lingua.Korean,
	} {
		got, err := ParseLanguage(in)
		if err != nil || got != want {
			t.Errorf("ParseLanguage(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xx", "Klingon"} {
		if _, err := ParseLanguage(bad); err == nil {
			t.Errorf("ParseLanguage(%q) accepted", bad)
		}
	}
	if LanguageCode(lingua.Bengali) != "bn" {
		t.Error("LanguageCode")
	}
}

func TestCheckPromptTemplate(t *testing.T) {
	if err := CheckPromptTemplate(DefaultPromptTemplate); err != nil {
		t.Error(err)
	}
	if err := CheckPromptTemplate("{{ passages }}\n{{question}} in {{language}}"); err != nil {
		t.Errorf("spaces inside braces: %v", err)
	}
	for tmpl, want := range map[string]string{
		"":                                "empty",
		"{{question}}":                    "missing {{passages}}",
		"{{passages}} {{question}} {{x}}": "unknown placeholder {{x}}",
	} {
		if err := CheckPromptTemplate(tmpl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPromptTemplate(%q) = %v; want %q", tmpl, err, want)
		}
	}
}

// A class config with several bad fields reports every one of them: wrong
// types and values out of range together (issue 12, item 8).
func TestOptionsFromMapReportsEveryBadField(t *testing.T) {
	_, err := OptionsFromMap(map[string]any{"topK": "many", "direction": "sideways", "maxTokens": 0.0, "alphaAC": 1.0}, "class moduleConfig")
	var oe *problems.Error
	if !errors.As(err, &oe) {
		t.Fatalf("want *problems.Error, got %v", err)
	}
	if len(oe.Problems) != 3 {
		t.Errorf("want 3 problems, got %d: %v", len(oe.Problems), err)
	}
	for _, want := range []string{
		`topK: want a whole number, got the string "many"`,
		`direction: unknown direction kind "sideways"`,
		"maxTokens: 0 is out of range",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
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

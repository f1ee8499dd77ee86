package config

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

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
	if r.AlphaAC != DefaultAlpha || r.AlphaCL != DefaultAlpha || r.TopK != DefaultTopK || r.Direction != DirectionProbe ||
		r.TokenScope != TokenScopeGeneration || r.MaxTokens != DefaultMaxTokens || r.Temperature != 0 ||
		r.PromptTemplate != DefaultPromptTemplate || r.AnswerLanguage != nil || r.Profile != "" || r.Steered() {
		t.Errorf("defaults: %+v", r)
	}
	r, err = Options{AnswerLanguage: "deu", Direction: "Mass-Mean", TokenScope: "ALL", Profile: "p"}.Resolve("test")
	if err != nil {
		t.Fatal(err)
	}
	if r.AnswerLanguage == nil || *r.AnswerLanguage != lingua.German || r.Direction != DirectionMassMean || r.TokenScope != TokenScopeAll || !r.Steered() {
		t.Errorf("resolved: %+v", r)
	}
}

func TestResolveReportsEveryProblem(t *testing.T) {
	nan, neg, big := math.NaN(), -1, MaxMaxTokens+1
	hot := 9.0
	_, err := Options{AlphaCL: &nan, TopK: &neg, MaxTokens: &big, Temperature: &hot, Direction: "sideways",
		TokenScope: "prompt", PromptTemplate: "{{passages}} only", AnswerLanguage: "elvish"}.Resolve("query asmr options")
	var oe *OptionsError
	if !errors.As(err, &oe) || oe.Where != "query asmr options" {
		t.Fatalf("want *OptionsError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"invalid query asmr options: 8 problems",
		"alphaCL: NaN is not a finite number",
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

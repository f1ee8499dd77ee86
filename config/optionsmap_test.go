package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

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

package probing

import (
	"io"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/probes"
)

func TestDataSources(t *testing.T) {
	if _, err := (&ACData{AC: "a.jsonl", SQuAD: "s.json"}).dataset(1, io.Discard); err == nil || !strings.Contains(err.Error(), "give one of -ac, -nq and -squad") {
		t.Errorf("two AC sources: %v", err)
	}
	if _, err := (&CLData{Sentences: Sentences{Sentences: "s.jsonl", Flores: "f"}}).dataset(1); err == nil || !strings.Contains(err.Error(), "give one of -sentences, -flores and -xquad") {
		t.Errorf("two CL sources: %v", err)
	}
	ac, err := (&ACData{}).dataset(1, io.Discard)
	if err != nil || ac.Description == "" || len(ac.Samples) == 0 {
		t.Fatalf("shipped AC: %v", err)
	}
	cl, err := (&CLData{Pairs: probes.PairOptions{Languages: probes.DefaultCLLanguages, PerLanguage: 5, Same: 20, Different: 20}}).dataset(1)
	if err != nil || len(cl.Samples) != 40 {
		t.Fatalf("shipped CL: %d samples, %v", len(cl.Samples), err)
	}
	// LANG from the shipped sentences: every language of them (the ten
	// CL languages), 20 sentences each.
	sets, err := (&LangData{Languages: probes.LanguageOptions{PerLanguage: 20}}).datasets(1)
	if err != nil || len(sets) != len(probes.DefaultCLLanguages) || len(sets[0].Samples) != 40 {
		t.Fatalf("shipped LANG: %d datasets, %v", len(sets), err)
	}
	if sets[0].Attribute != "LANG.de" || !strings.Contains(sets[0].Description, "from "+probes.ShippedSourceSentences) {
		t.Errorf("shipped LANG: %s: %s", sets[0].Attribute, sets[0].Description)
	}
	if _, err := (&LangData{Sentences: Sentences{XQuAD: "x", Flores: "f"}}).datasets(1); err == nil || !strings.Contains(err.Error(), "give one of -sentences, -flores and -xquad") {
		t.Errorf("two LANG sources: %v", err)
	}
	if _, err := (&LangData{Languages: probes.LanguageOptions{PerLanguage: 21}}).datasets(1); err == nil || !strings.Contains(err.Error(), `has 20 distinct sentences, need 21`) {
		t.Errorf("too few shipped sentences: %v", err)
	}
}

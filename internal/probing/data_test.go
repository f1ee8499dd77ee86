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
	if _, err := (&CLData{Sentences: "s.jsonl", Flores: "f"}).dataset(1); err == nil || !strings.Contains(err.Error(), "give one of -sentences, -flores and -xquad") {
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
}

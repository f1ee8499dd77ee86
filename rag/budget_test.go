package rag

import (
	"strings"
	"testing"
	"time"

	"github.com/pemistahl/lingua-go"
)

func TestBudget(t *testing.T) {
	for _, c := range []struct{ ctx, maxTokens, maxPrompt, want int }{
		{512, 4, 0, 508}, {512, 4, 200, 200}, {512, 4, 600, 508},
	} {
		if got, err := Budget("tiny", c.ctx, c.maxTokens, c.maxPrompt); err != nil || got != c.want {
			t.Errorf("Budget(%d, %d, %d) = %d, %v; want %d", c.ctx, c.maxTokens, c.maxPrompt, got, err, c.want)
		}
	}
	if _, err := Budget("tiny", 512, 600, 0); err == nil || !strings.Contains(err.Error(), `maxTokens 600 leaves no room for a prompt in model "tiny"'s context of 512 tokens`) {
		t.Errorf("no room: %v", err)
	}
}

// Map gives the module's value types: language fields empty without a
// detection, warnings never nil, durations and the seed as float64.
func TestMetadataMap(t *testing.T) {
	m := Metadata{Model: "tiny", SteeredHeads: 2, Duration: 1500 * time.Microsecond, Seed: 7}.Map()
	if m[MetaLanguage] != "" || m[MetaLanguageName] != "" || m[MetaLanguageDetected] != false || m[MetaSteered] != true ||
		m[MetaDurationMs] != 1.5 || m[MetaSeed] != 7.0 || m[MetaWarnings] == nil || len(m[MetaWarnings].([]string)) != 0 {
		t.Errorf("Map = %v", m)
	}
	m = Metadata{Detection: Detection{Language: lingua.German, Confidence: 0.9, OK: true}}.Map()
	if m[MetaLanguage] != "de" || m[MetaLanguageName] != "German" || m[MetaSteered] != false {
		t.Errorf("Map = %v", m)
	}
	if l := ChooseLanguage(nil, Detection{}); l.Name != UnknownLanguage || l.Labels.Answer != "Answer" {
		t.Errorf("ChooseLanguage without a language = %+v", l)
	}
}

package eval

import (
	"fmt"
	"strings"

	"github.com/pemistahl/lingua-go"
)

// LangDetector tells the language of a prediction with lingua-go, choosing
// only among the evaluated languages plus English. The restriction is the
// point: it keeps a Japanese answer written only in kanji from being taken
// for Chinese in XOR-TyDi (no zh there), and English stays a candidate
// because answering in English is the failure the metric exists to catch.
type LangDetector struct {
	d lingua.LanguageDetector
}

// NewLangDetector builds a detector for langs (paper codes or MKQA keys;
// zh_cn, zh_hk and zh_tw mean Chinese) plus English. Models load lazily, on
// the first detection that needs them.
func NewLangDetector(langs ...string) (*LangDetector, error) {
	seen := map[lingua.Language]bool{lingua.English: true}
	ls := []lingua.Language{lingua.English}
	for _, code := range langs {
		l := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(baseLang(code)))
		if l == lingua.Unknown {
			return nil, fmt.Errorf("eval: lingua-go does not know language %q", code)
		}
		if !seen[l] {
			seen[l] = true
			ls = append(ls, l)
		}
	}
	if len(ls) < 2 {
		return nil, fmt.Errorf("eval: language detection needs a language besides English")
	}
	return &LangDetector{lingua.NewLanguageDetectorBuilder().FromLanguages(ls...).Build()}, nil
}

// Detect returns the ISO 639-1 code of text's language, or "" when lingua
// cannot decide (empty text, digits only, a tie).
func (d *LangDetector) Detect(text string) string {
	l, ok := d.d.DetectLanguageOf(text)
	if !ok {
		return ""
	}
	return strings.ToLower(l.IsoCode639_1().String())
}

// InLanguage reports whether pred is detected as lang. Predictions that
// cannot be detected (empty, only digits or symbols) count as wrong: the
// metric asks for an answer recognisably in the question's language.
func (d *LangDetector) InLanguage(pred, lang string) bool {
	got := d.Detect(pred)
	return got != "" && got == baseLang(lang)
}

// ScoreLanguage scores the answer-language rate: 1 when an item's prediction
// is detected in the item's language. Every item counts, unanswerable ones
// too. A missing prediction is an error.
func ScoreLanguage(items []Item, preds map[Key]string, d *LangDetector) ([]Score, error) {
	out := make([]Score, 0, len(items))
	for _, it := range items {
		pred, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		out = append(out, Score{it.Key(), b2f(d.InLanguage(pred, it.Lang))})
	}
	return out, nil
}

// baseLang drops a region: zh_cn -> zh.
func baseLang(code string) string {
	code, _, _ = strings.Cut(strings.ToLower(code), "_")
	return code
}

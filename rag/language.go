package rag

import (
	"fmt"
	"strings"
	"sync"
	"unicode"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/config"
)

// Detector finds the language of a question among the configured
// languages. Restricting lingua to those languages keeps its n-gram models
// small in memory and rules out confusions with languages nobody asks in.
// The detector is built on first use or by WarmUp, whichever comes first
// (loading the models takes about a second). It is safe for concurrent use.
type Detector struct {
	languages []lingua.Language
	build     func() lingua.LanguageDetector
}

// NewDetector makes a detector for languages (codes or names, see
// config.ParseLanguage; ones it cannot read are skipped, config.Ops has
// checked them), as the ops file's languages and
// languageDetection.accuracy configure it: lowAccuracy uses lingua's
// trigram-only mode.
func NewDetector(languages []string, lowAccuracy bool) *Detector {
	d := &Detector{}
	for _, s := range languages {
		if l, err := config.ParseLanguage(s); err == nil {
			d.languages = append(d.languages, l)
		}
	}
	d.build = sync.OnceValue(func() lingua.LanguageDetector {
		if len(d.languages) < 2 {
			return nil // nothing to choose between; lingua refuses it too
		}
		b := lingua.NewLanguageDetectorBuilder().FromLanguages(d.languages...).WithPreloadedLanguageModels()
		if lowAccuracy {
			b = b.WithLowAccuracyMode()
		}
		return b.Build()
	})
	return d
}

// OpsDetector is NewDetector with the ops file's languages and accuracy.
func OpsDetector(ops *config.Ops) *Detector {
	return NewDetector(ops.Languages, ops.LanguageDetection.LowAccuracy())
}

// WarmUp loads the language models in the background.
func (d *Detector) WarmUp() { go d.build() }

// Detection is what the detector found: OK when it found a language,
// Language with its Confidence (0..1; lingua's confidences of the
// configured languages sum to 1).
type Detection struct {
	Language   lingua.Language
	Confidence float64
	OK         bool
}

// Detect returns the most likely configured language of text. It reports
// no language when the text has no letters or when the two best candidates
// tie (lingua's own rule for "cannot tell").
func (d *Detector) Detect(text string) Detection {
	if !hasLetters(text) {
		return Detection{}
	}
	if len(d.languages) == 1 {
		return Detection{Language: d.languages[0], Confidence: 1, OK: true}
	}
	det := d.build()
	if det == nil {
		return Detection{}
	}
	vals := det.ComputeLanguageConfidenceValues(text)
	if len(vals) == 0 || vals[0].Value() == 0 || (len(vals) > 1 && vals[0].Value() == vals[1].Value()) {
		return Detection{}
	}
	return Detection{Language: vals[0].Language(), Confidence: vals[0].Value(), OK: true}
}

// MinLanguageConfidence is the confidence below which a detection is not
// trusted. lingua's confidences of the configured languages sum to 1; with
// the default set, short questions came out: "Was ist ?" (the {title}
// taken out) English 0.21, "Was ist Telefon?" German 0.21, "Hi"
// Vietnamese 0.18, while real short questions scored "Telefonu kim icat
// etti?" Turkish 0.40, "Wer erfand das Telefon?" German 0.46 and longer
// ones 0.7 to 1.
const MinLanguageConfidence = 0.3

// DetectQuestion detects the question's language. When question alone is
// below MinLanguageConfidence, filled (the filled-in prompt: more text,
// though its property values may be in another language) is tried; when
// that is not sure either, no language is claimed and warning says what was
// guessed, so that the reader is told UnknownLanguage (or a fixed answer
// language applies) instead of a confident wrong language.
func (d *Detector) DetectQuestion(question, filled string) (det Detection, warning string) {
	det = d.Detect(question)
	if det.OK && det.Confidence >= MinLanguageConfidence {
		return det, ""
	}
	if filled != "" && filled != question {
		if alt := d.Detect(filled); alt.OK && alt.Confidence >= MinLanguageConfidence {
			return alt, ""
		}
	}
	if !det.OK {
		return det, ""
	}
	warning = fmt.Sprintf("the question's language is uncertain (best guess %s at confidence %.2f, under %.2f): the reader was told to answer in the language of the question; set answerLanguage to fix it",
		det.Language, det.Confidence, MinLanguageConfidence)
	return Detection{Confidence: det.Confidence}, warning
}

func hasLetters(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// ChooseLanguage is the answer language of a request: fixed when the
// options fix one (nil: "auto"), else the detected one, else
// UnknownLanguage with English labels.
func ChooseLanguage(fixed *lingua.Language, det Detection) AnswerLanguage {
	var lang *lingua.Language
	switch {
	case fixed != nil:
		lang = fixed
	case det.OK:
		lang = &det.Language
	}
	out := AnswerLanguage{Name: UnknownLanguage, Labels: config.LabelsFor(lang)}
	if lang != nil {
		out.Name, out.Code = lang.String(), config.LanguageCode(*lang)
	}
	return out
}

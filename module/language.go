package module

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/config"
)

// languageDetector finds the language of a question among the configured
// languages. Restricting lingua to those languages keeps its n-gram models
// small in memory and rules out confusions with languages nobody asks in.
// The detector is built on first use or by warm-up at start (loading the
// models takes about a second), whichever comes first.
type languageDetector struct {
	languages []lingua.Language
	build     func() lingua.LanguageDetector
}

func newLanguageDetector(ops *config.Ops) *languageDetector {
	d := &languageDetector{}
	for _, s := range ops.Languages {
		if l, err := config.ParseLanguage(s); err == nil {
			d.languages = append(d.languages, l)
		}
	}
	low := ops.LanguageDetection.LowAccuracy()
	d.build = sync.OnceValue(func() lingua.LanguageDetector {
		if len(d.languages) < 2 {
			return nil // nothing to choose between; lingua refuses it too
		}
		b := lingua.NewLanguageDetectorBuilder().FromLanguages(d.languages...).WithPreloadedLanguageModels()
		if low {
			b = b.WithLowAccuracyMode()
		}
		return b.Build()
	})
	return d
}

// warmUp loads the language models in the background.
func (d *languageDetector) warmUp() { go d.build() }

// detection is what detect found.
type detection struct {
	Language   lingua.Language
	Confidence float64
	OK         bool
}

// detect returns the most likely configured language of text. It reports
// no language when the text has no letters or when the two best candidates
// tie (lingua's own rule for "cannot tell").
func (d *languageDetector) detect(text string) detection {
	if !hasLetters(text) {
		return detection{}
	}
	if len(d.languages) == 1 {
		return detection{Language: d.languages[0], Confidence: 1, OK: true}
	}
	det := d.build()
	if det == nil {
		return detection{}
	}
	vals := det.ComputeLanguageConfidenceValues(text)
	if len(vals) == 0 || vals[0].Value() == 0 || (len(vals) > 1 && vals[0].Value() == vals[1].Value()) {
		return detection{}
	}
	return detection{Language: vals[0].Language(), Confidence: vals[0].Value(), OK: true}
}

// minLanguageConfidence is the confidence below which a detection is not
// trusted. lingua's confidences of the configured languages sum to 1; with
// the default set, short questions came out: "Was ist ?" (the {title}
// taken out) English 0.21, "Was ist Telefon?" German 0.21, "Hi"
// Vietnamese 0.18, while real short questions scored "Telefonu kim icat
// etti?" Turkish 0.40, "Wer erfand das Telefon?" German 0.46 and longer
// ones 0.7 to 1.
const minLanguageConfidence = 0.3

// detectQuestion detects the question's language. When question alone is
// below minLanguageConfidence, the filled-in prompt (more text, though its
// property values may be in another language) is tried; when that is not
// sure either, no language is claimed and warning says what was guessed, so
// that the reader is told "the language of the question" (or the class's
// answerLanguage applies) instead of a confident wrong language.
func (d *languageDetector) detectQuestion(question, filled string) (detection, string) {
	det := d.detect(question)
	if det.OK && det.Confidence >= minLanguageConfidence {
		return det, ""
	}
	if filled != "" && filled != question {
		if alt := d.detect(filled); alt.OK && alt.Confidence >= minLanguageConfidence {
			return alt, ""
		}
	}
	if !det.OK {
		return det, ""
	}
	warning := fmt.Sprintf("the question's language is uncertain (best guess %s at confidence %.2f, under %.2f): the reader was told to answer in the language of the question; set answerLanguage to fix it",
		det.Language, det.Confidence, minLanguageConfidence)
	return detection{Confidence: det.Confidence}, warning
}

func hasLetters(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// weaviateProperty is Weaviate's pattern for {property} references in
// prompts (usecases/modulecomponents/generative).
var weaviateProperty = regexp.MustCompile(`{([\w\s]*?)}`)

// questionText is the text whose language is the question's: the prompt as
// the user wrote it, without {property} references, whose values come from
// the stored objects and may be in any language (that is the multilingual
// retrieval setting ASMR is about). When nothing but references is left
// (prompt "{question}"), the filled-in prompt is used instead.
func questionText(template, filled string) string {
	stripped := strings.Join(strings.Fields(weaviateProperty.ReplaceAllString(template, " ")), " ")
	if letters(stripped) >= 3 {
		return stripped
	}
	return filled
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

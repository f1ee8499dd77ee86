package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Placeholders of a prompt template.
const (
	PlaceholderQuestion = "{{question}}"
	PlaceholderPassages = "{{passages}}"
	PlaceholderLanguage = "{{language}}"
	// PlaceholderQuestionLabel and PlaceholderAnswerLabel are the words
	// "Question" and "Answer" in the answer language (LabelsFor), to cue a
	// completion model in that language.
	PlaceholderQuestionLabel = "{{questionLabel}}"
	PlaceholderAnswerLabel   = "{{answerLabel}}"
)

// DefaultPromptTemplate is the reader's prompt for groupedResult, in the
// spirit of the paper's reader prompt: passages first, the question last
// (closest to where the answer starts), and the answer language named
// explicitly, because a multilingual reader otherwise drifts into the
// language of the passages.
//
// {{passages}} becomes the retrieved passages, best ranked first, as
// "[1] ...", one block each; {{question}} the groupedResult task with its
// {property} references filled in as Weaviate fills them; {{language}} the
// English name of the answer language (or "the language of the question"
// when it could not be detected).
const DefaultPromptTemplate = "Answer the question using the passages below. Answer in {{language}}.\n\n" +
	"Passages:\n{{passages}}\n\n" +
	"Question: {{question}}"

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// NormalizeTemplate writes every placeholder without inner spaces
// ("{{ question }}" becomes "{{question}}"), so that both spellings work.
func NormalizeTemplate(t string) string { return placeholderRE.ReplaceAllString(t, "{{$1}}") }

// CheckPromptTemplate requires {{question}} and {{passages}} (a RAG prompt
// without either answers nothing useful) and rejects unknown placeholders,
// which would otherwise reach the reader verbatim.
func CheckPromptTemplate(t string) error {
	if strings.TrimSpace(t) == "" {
		return fmt.Errorf("empty; leave it unset for the default, or write one with %s and %s", PlaceholderQuestion, PlaceholderPassages)
	}
	t = NormalizeTemplate(t)
	var unknown []string
	for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
		switch "{{" + m[1] + "}}" {
		case PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage, PlaceholderQuestionLabel, PlaceholderAnswerLabel:
		default:
			unknown = append(unknown, m[0])
		}
	}
	var missing []string
	for _, p := range []string{PlaceholderQuestion, PlaceholderPassages} {
		if !strings.Contains(t, p) {
			missing = append(missing, p)
		}
	}
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("unknown placeholder %s; the placeholders are %s, %s, %s, %s and %s", strings.Join(unknown, ", "),
			PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage, PlaceholderQuestionLabel, PlaceholderAnswerLabel)
	case len(missing) > 0:
		return fmt.Errorf("missing %s; a template needs %s and %s (and may use %s)", strings.Join(missing, " and "), PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage)
	}
	return nil
}

// PassageField is one text property of a retrieved object: its name and
// its value.
type PassageField struct{ Name, Value string }

// PassageText renders one retrieved object as the passage the reader sees
// (the module's groupedResult; the evaluation mirrors it): the trimmed
// value when the object has one field, else "name: value" lines of the
// non-empty ones, in the order given. An object without text gives "".
func PassageText(fields []PassageField) string {
	if len(fields) == 1 {
		return strings.TrimSpace(fields[0].Value)
	}
	var lines []string
	for _, f := range fields {
		if v := strings.TrimSpace(f.Value); v != "" {
			lines = append(lines, f.Name+": "+v)
		}
	}
	return strings.Join(lines, "\n")
}

// NumberPassages writes passages as {{passages}} shows them to the reader:
// "[1] text", one block each, best ranked first, separated by a blank line.
func NumberPassages(passages []string) string {
	var b strings.Builder
	for i, p := range passages {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "[%d] %s", i+1, p)
	}
	return b.String()
}

package rag

import (
	"strings"

	"github.com/asmr-search/generative-asmr/config"
)

// FillTemplate fills a prompt template: {{question}}, {{passages}} (each
// passage "[n] text", separated by a blank line, see config.NumberPassages),
// {{language}} (lang.Name), {{questionLabel}} and {{answerLabel}}
// (lang.Labels). Placeholders may be written with inner spaces. system is
// LanguageInstruction(lang.Name) when the template has no {{language}} of
// its own, else "".
func FillTemplate(template, question string, lang AnswerLanguage, passages []string) (system, user string) {
	template = config.NormalizeTemplate(template)
	if !strings.Contains(template, config.PlaceholderLanguage) {
		system = LanguageInstruction(lang.Name)
	}
	user = strings.NewReplacer(
		config.PlaceholderQuestion, question,
		config.PlaceholderPassages, config.NumberPassages(passages),
		config.PlaceholderLanguage, lang.Name,
		config.PlaceholderQuestionLabel, lang.Labels.Question,
		config.PlaceholderAnswerLabel, lang.Labels.Answer,
	).Replace(template)
	return system, user
}

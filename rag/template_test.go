package rag

import (
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
)

func lang(name string) AnswerLanguage {
	return AnswerLanguage{Name: name, Labels: config.EnglishLabels}
}

// FillTemplate fills templates as the module always did (moved here from
// eval's TestPrompts with eval.FillTemplate): numbered passages, the
// system message only without {{language}}, spaced placeholders, and the
// 1-shot template through the same filler.
func TestFillTemplate(t *testing.T) {
	sys, user := FillTemplate(config.DefaultPromptTemplate, "Кто?", lang(eval.LanguageName("ru")), []string{"A.", "B."})
	want := "Answer the question using the passages below. Answer in Russian.\n\nPassages:\n[1] A.\n\n[2] B.\n\nQuestion: Кто?"
	if sys != "" || user != want {
		t.Fatalf("FillTemplate = %q, %q; want no system message and %q", sys, user, want)
	}
	sys, _ = FillTemplate("Q: {{ question }}\n{{passages}}", "q", lang("German"), nil)
	if sys != "Answer in German." {
		t.Fatalf("system = %q", sys)
	}

	ru, _ := eval.ShotFor(eval.DefaultShots(), "ru")
	tmpl := eval.OneShotTemplate(config.DefaultPromptTemplate, ru)
	_, user = FillTemplate(tmpl, "Кто написал «Войну и мир»?", lang("Russian"), []string{"War and Peace is by Tolstoy."})
	if !strings.Contains(user, "Question: Какой город является столицей Франции?\nAnswer: Париж\n\nAnswer the question") ||
		!strings.HasSuffix(user, "[1] War and Peace is by Tolstoy.\n\nQuestion: Кто написал «Войну и мир»?") ||
		strings.Count(user, "Answer in Russian.") != 2 {
		t.Fatalf("1-shot prompt:\n%s", user)
	}

	// The labels placeholders take the answer language's words.
	de := AnswerLanguage{Name: "German", Labels: config.Labels{Question: "Frage", Answer: "Antwort"}}
	_, user = FillTemplate("{{passages}}\n{{questionLabel}}: {{question}}\n{{answerLabel}}:", "Wer?", de, []string{"P."})
	if user != "[1] P.\nFrage: Wer?\nAntwort:" {
		t.Fatalf("labels: %q", user)
	}
}

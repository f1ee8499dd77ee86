package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pemistahl/lingua-go"

	asmrconfig "github.com/asmr-search/generative-asmr/config"
)

// The reader's prompt. Both ways of running the reader use the same
// template, so that a table made in-process over given contexts and one
// made through the Weaviate server are comparable:
//
//   - through the server, the template is sent as the query's
//     asmr: {promptTemplate: ...} and the module fills it in;
//   - in-process, eval/harness answers through the module's own request
//     path (package rag: rag.GroupedPrompt fills the template with
//     rag.FillTemplate and fits the passages to the context).
//
// Package eval only chooses the template (a 1-shot one from
// OneShotTemplate) and the answer language; it does not fill templates.

// defaultTemplate is the module's default groupedResult prompt.
const defaultTemplate = asmrconfig.DefaultPromptTemplate

// unknownLanguage is what the reader is told when the answer language is
// not known (the module says the same).
const unknownLanguage = "the language of the question"

// CodeLanguage is the language of a language code as the reader is told to
// answer in it ("ru" -> Russian, "zh_cn" -> Chinese); ok is false for ""
// and for codes lingua does not know.
func CodeLanguage(code string) (l lingua.Language, ok bool) {
	if code == "" {
		return lingua.Unknown, false
	}
	l, err := asmrconfig.ParseLanguage(baseLang(code))
	return l, err == nil
}

// LanguageName is the English name the reader is told to answer in, for a
// language code ("ru" -> "Russian", "zh_cn" -> "Chinese"); the module
// names languages the same way (lingua's names). An unknown code gives
// "the language of the question".
func LanguageName(code string) string {
	l, ok := CodeLanguage(code)
	if !ok {
		return unknownLanguage
	}
	return l.String()
}

// Shot is the worked example of 1-shot prompting: a question, the passage
// that answers it, and the answer, all in the example's language except the
// passage (English, as the paper's retrieved Wikipedia passages are).
type Shot struct {
	Lang     string `json:"lang"`
	Question string `json:"question"`
	Passage  string `json:"passage"`
	Answer   string `json:"answer"`
}

// shotPassage is the passage of the built-in examples.
const shotPassage = "Paris is the capital and most populous city of France. It lies on the Seine River, in the north of the country."

// DefaultShots are the built-in 1-shot examples: one question ("What is the
// capital of France?"), with its answer written the way that language
// writes it, for English and the 17 languages of the paper's experiments
// (XOR-TyDi: ar bn fi ja ko ru te; MKQA: de es fr it nl pt th tr vi zh).
// The passage is the same English sentence for all. A language without an
// example here gets the English one (ShotFor says which was used).
func DefaultShots() map[string]Shot {
	qa := map[string][2]string{
		"en": {"What is the capital of France?", "Paris"},
		"ar": {"ما هي عاصمة فرنسا؟", "باريس"},
		"bn": {"ফ্রান্সের রাজধানী কোথায়?", "প্যারিস"},
		"fi": {"Mikä on Ranskan pääkaupunki?", "Pariisi"},
		"ja": {"フランスの首都はどこですか？", "パリ"},
		"ko": {"프랑스의 수도는 어디인가?", "파리"},
		"ru": {"Какой город является столицей Франции?", "Париж"},
		"te": {"ఫ్రాన్స్ రాజధాని ఏది?", "పారిస్"},
		"de": {"Was ist die Hauptstadt von Frankreich?", "Paris"},
		"es": {"¿Cuál es la capital de Francia?", "París"},
		"fr": {"Quelle est la capitale de la France ?", "Paris"},
		"it": {"Qual è la capitale della Francia?", "Parigi"},
		"nl": {"Wat is de hoofdstad van Frankrijk?", "Parijs"},
		"pt": {"Qual é a capital da França?", "Paris"},
		"th": {"เมืองหลวงของประเทศฝรั่งเศสคืออะไร", "ปารีส"},
		"tr": {"Fransa'nın başkenti neresidir?", "Paris"},
		"vi": {"Thủ đô của Pháp là gì?", "Paris"},
		"zh": {"法国的首都是哪里？", "巴黎"},
		"el": {"Ποια είναι η πρωτεύουσα της Γαλλίας;", "Παρίσι"},
		"hi": {"फ़्रांस की राजधानी क्या है?", "पेरिस"},
		"ro": {"Care este capitala Franței?", "Paris"},
	}
	out := make(map[string]Shot, len(qa))
	for l, v := range qa {
		out[l] = Shot{Lang: l, Question: v[0], Passage: shotPassage, Answer: v[1]}
	}
	return out
}

// ReadShots reads 1-shot examples, one JSON object a line:
// {"lang", "question", "passage", "answer"}. One example per language; a
// later line for the same language is an error.
func ReadShots(path string) (map[string]Shot, error) {
	out := map[string]Shot{}
	err := jsonLines(path, func(line int, data []byte) error {
		var s Shot
		if err := json.Unmarshal(data, &s); err != nil {
			return &FormatError{path, line, "", fmt.Sprintf("invalid JSON: %v", err)}
		}
		for field, v := range map[string]string{"lang": s.Lang, "question": s.Question, "passage": s.Passage, "answer": s.Answer} {
			if strings.TrimSpace(v) == "" {
				return &FormatError{path, line, field, "missing or empty"}
			}
		}
		if strings.Contains(s.Question+s.Passage+s.Answer, "{{") {
			return &FormatError{path, line, "", `"{{" would be read as a prompt placeholder`}
		}
		if _, dup := out[s.Lang]; dup {
			return &FormatError{path, line, "lang", fmt.Sprintf("second example for %q", s.Lang)}
		}
		out[s.Lang] = s
		return nil
	})
	return out, err
}

// ShotFor picks the example for lang: the one in lang (zh_cn also finds
// zh), else the English one. ok is false when there is neither.
func ShotFor(shots map[string]Shot, lang string) (Shot, bool) {
	for _, l := range []string{lang, baseLang(lang), "en"} {
		if s, ok := shots[l]; ok {
			return s, true
		}
	}
	return Shot{}, false
}

// OneShotTemplate makes the 1-shot prompt from a zero-shot template: the
// template filled with the example's passage and question, followed by
// "Answer: <answer>" (or, when the template ends with its own answer cue
// such as "{{answerLabel}}:", the answer after that cue), a blank line,
// and the template itself. {{language}}
// stays a placeholder in both parts (the example is in the question's
// language when there is one, so the instruction holds for both); the
// reader fills the result as any template (rag.FillTemplate).
//
//	Answer the question using the passages below. Answer in {{language}}.
//
//	Passages:
//	[1] Paris is the capital and most populous city of France. …
//
//	Question: Какой город является столицей Франции?
//	Answer: Париж
//
//	Answer the question using the passages below. Answer in {{language}}.
//	…
func OneShotTemplate(template string, s Shot) string {
	template = asmrconfig.NormalizeTemplate(template)
	example := strings.NewReplacer(
		asmrconfig.PlaceholderQuestion, s.Question,
		asmrconfig.PlaceholderPassages, asmrconfig.NumberPassages([]string{s.Passage}),
	).Replace(template)
	// A template that ends with its own answer cue ("{{answerLabel}}:",
	// "Answer:") gets the example's answer after the cue, as the reader is
	// asked to write it; another gets an "Answer:" line.
	if strings.HasSuffix(strings.TrimRight(example, " "), ":") {
		return strings.TrimRight(example, " ") + " " + s.Answer + "\n\n" + template
	}
	return example + "\nAnswer: " + s.Answer + "\n\n" + template
}

// CleanAnswer turns the reader's raw output into the prediction that is
// scored: the first non-blank line, without a leading "Answer:" label
// (which 1-shot prompts invite) and surrounding space. Every system's
// output is cleaned the same way; the raw text is kept in the record.
func CleanAnswer(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "answer:") {
		s = strings.TrimSpace(s[7:])
	}
	return s
}

// ReadQueryVectors reads question vectors for nearVector retrieval, one JSON
// object a line: {"id", "lang", "vector": [float...]}; lang may be omitted
// when one vector serves every language of the item.
func ReadQueryVectors(path string) (map[Key][]float32, error) {
	out := map[Key][]float32{}
	err := jsonLines(path, func(line int, data []byte) error {
		var rec struct {
			ID     json.RawMessage `json:"id"`
			Lang   string          `json:"lang"`
			Vector []float32       `json:"vector"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return &FormatError{path, line, "", fmt.Sprintf("invalid JSON: %v", err)}
		}
		id, err := idString(rec.ID)
		if err != nil {
			return &FormatError{path, line, "id", err.Error()}
		}
		if len(rec.Vector) == 0 {
			return &FormatError{path, line, "vector", "missing or empty"}
		}
		k := Key{rec.Lang, id}
		if _, dup := out[k]; dup {
			return &FormatError{path, line, "id", fmt.Sprintf("duplicate vector for %q (lang %q)", id, rec.Lang)}
		}
		out[k] = rec.Vector
		return nil
	})
	return out, err
}

// writeFile writes path through a buffered writer (used by the report
// writers).
func writeFile(path string, fill func(w *bufio.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		return err
	}
	return w.Flush()
}

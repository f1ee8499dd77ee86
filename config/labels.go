package config

import "github.com/pemistahl/lingua-go"

// Labels are the words "Question" and "Answer" in one language, for prompt
// templates that cue a completion model in the answer language
// ({{questionLabel}}: ... {{answerLabel}}:). A base checkpoint such as
// Gemma 3 270M answers in the language of the cue far more often than it
// follows an instruction "Answer in German." (measured on XQuAD dev
// questions over English passages; see docs/).
type Labels struct{ Question, Answer string }

// EnglishLabels are used for languages without an entry and when the
// answer language is unknown.
var EnglishLabels = Labels{"Question", "Answer"}

// labels holds the common everyday words, as a reader sees them in quiz
// and exam texts.
var labels = map[lingua.Language]Labels{
	lingua.English:    EnglishLabels,
	lingua.German:     {"Frage", "Antwort"},
	lingua.Spanish:    {"Pregunta", "Respuesta"},
	lingua.French:     {"Question", "Réponse"},
	lingua.Italian:    {"Domanda", "Risposta"},
	lingua.Dutch:      {"Vraag", "Antwoord"},
	lingua.Portuguese: {"Pergunta", "Resposta"},
	lingua.Russian:    {"Вопрос", "Ответ"},
	lingua.Ukrainian:  {"Питання", "Відповідь"},
	lingua.Polish:     {"Pytanie", "Odpowiedź"},
	lingua.Czech:      {"Otázka", "Odpověď"},
	lingua.Romanian:   {"Întrebare", "Răspuns"},
	lingua.Hungarian:  {"Kérdés", "Válasz"},
	lingua.Finnish:    {"Kysymys", "Vastaus"},
	lingua.Swedish:    {"Fråga", "Svar"},
	lingua.Danish:     {"Spørgsmål", "Svar"},
	lingua.Bokmal:     {"Spørsmål", "Svar"},
	lingua.Greek:      {"Ερώτηση", "Απάντηση"},
	lingua.Turkish:    {"Soru", "Cevap"},
	lingua.Arabic:     {"سؤال", "الجواب"},
	lingua.Persian:    {"سوال", "پاسخ"},
	lingua.Hebrew:     {"שאלה", "תשובה"},
	lingua.Hindi:      {"प्रश्न", "उत्तर"},
	lingua.Bengali:    {"প্রশ্ন", "উত্তর"},
	lingua.Telugu:     {"ప్రశ్న", "సమాధానం"},
	lingua.Thai:       {"คำถาม", "คำตอบ"},
	lingua.Vietnamese: {"Câu hỏi", "Trả lời"},
	lingua.Indonesian: {"Pertanyaan", "Jawaban"},
	lingua.Chinese:    {"问题", "答案"},
	lingua.Japanese:   {"質問", "答え"},
	lingua.Korean:     {"질문", "답변"},
}

// LabelsFor returns the labels of lang, or EnglishLabels when lang is nil
// or has no entry.
func LabelsFor(lang *lingua.Language) Labels {
	if lang == nil {
		return EnglishLabels
	}
	if l, ok := labels[*lang]; ok {
		return l
	}
	return EnglishLabels
}

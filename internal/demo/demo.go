// Package demo is the demo collection of `make run` (asmr run) and its
// sample query, shared with the end-to-end test that checks the sample's
// answer.
package demo

// Articles is the demo collection (class Article, properties title and body): short English passages, written for
// this project, on facts a reader can check; the questions come in other
// languages.
var Articles = []map[string]string{
	{"title": "Telephone", "body": "Alexander Graham Bell was awarded the first United States patent for the telephone in 1876."},
	{"title": "Printing press", "body": "Johannes Gutenberg introduced printing with movable metal type in Mainz around 1440."},
	{"title": "Eiffel Tower", "body": "The Eiffel Tower in Paris was completed in 1889 for the World's Fair. It is 330 metres tall."},
	{"title": "Marie Curie", "body": "Marie Curie won the Nobel Prize in Physics in 1903 and the Nobel Prize in Chemistry in 1911."},
	{"title": "Mount Everest", "body": "Mount Everest is the highest mountain above sea level, at 8,849 metres, on the border of Nepal and China."},
	{"title": "Moon landing", "body": "Neil Armstrong was the first person to walk on the Moon, on 20 July 1969, during the Apollo 11 mission."},
}

// Query asks, in Russian, about English passages: the grouped answer
// (steered with the default profile) gives the year, " 1876" with the
// defaults tuned on XQuAD (profiles.GemmaDirection etc.); each single result answers an Arabic question about its own
// passage, unsteered (asmr: {profile: "none"}): each half of a query keeps
// its own options. The passages are found with bm25 on English words, as
// the embedded default has no (multilingual) vectorizer.
const Query = `{
  Get {
    Article(bm25: {query: "telephone patent"}, limit: 2) {
      title
      _additional {
        generate(
          singleResult: {prompt: "{body}\n\nسؤال: في أي عام؟\nالجواب:", asmr: {profile: "none"}}
          groupedResult: {task: "В каком году был запатентован телефон?", properties: ["body"]}
        ) {
          singleResult groupedResult error
          asmr { steered steeredHeads language answerLanguage promptTokens completionTokens passagesUsed
                 grouped { steered steeredHeads language answerLanguage promptTokens completionTokens passagesUsed } }
        }
      }
    }
  }
}`

// QueryGold is what the grouped answer of Query must contain, and
// QueryLanguage the language detected in its question (the language the
// reader is told to answer in).
const (
	QueryGold     = "1876"
	QueryLanguage = "ru"
)

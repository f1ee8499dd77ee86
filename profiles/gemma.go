package profiles

import "fmt"

// The ops settings under which Gemma 3 270M is served by default (`make
// run`, `asmr cluster` without -config) and tested end to end.
const (
	// GemmaChatTemplate: the pinned GGUF is the base checkpoint and has no
	// chat template; it is prompted as a completion model.
	GemmaChatTemplate = "none"
	// GemmaStop ends an answer at the end of its line: a completion model
	// writes on past its answer otherwise.
	GemmaStop = "\n"
	// GemmaPromptTemplate cues the base checkpoint with "Question"/"Answer"
	// in the answer language; it answers in the cue's language far more
	// often than it follows the instruction alone. The passages come first,
	// so that the prompts of one set of passages share their beginning and
	// the prompt cache decodes it once (the questions of 11 languages over
	// the same passages: docs/results-xquad.md); on the tuning articles it
	// scored within noise of the instruction-first order (F1 8.6 vs 10.1,
	// answer language 35.5% vs 29.1%, 50 questions).
	GemmaPromptTemplate = "Passages:\n{{passages}}\n\n" +
		"Answer the question using the passages above. Answer in {{language}}.\n\n" +
		"{{questionLabel}}: {{question}}\n{{answerLabel}}:"
	// Steering defaults (alphas in units of each head's sigma): CL only,
	// along the answer language's targeted direction (LANG.<code> on the
	// 64 heads CL ranks best), alpha 1. Chosen by a K x alpha sweep on
	// XQuAD's development articles 0-3 (15 questions x 11 languages),
	// never on the articles the report uses: the highest answer-language
	// rate among the points whose F1 stayed within 0.5 of the baseline's
	// (44.8% vs 32.7%, F1 4.6 vs 4.7). See docs/results-xquad.md.
	GemmaDirection = "language"
	GemmaAlphaAC   = 0.0
	GemmaAlphaCL   = 1.0
	GemmaTopK      = 64
)

// GemmaOps is an ops file (YAML) serving the GGUF at modelPath as model
// "gemma", steered by the profile at profilePath (Gemma3_270M written out),
// with the settings above, slots generations at once and contextSize tokens
// each.
func GemmaOps(modelPath, profilePath string, slots, contextSize int) string {
	return fmt.Sprintf(`models:
  gemma:
    path: %q
    chatTemplate: %s
    stop: [%q]
    contextSize: %d
    slots: %d
profiles:
  gemma:
    path: %q
    model: gemma
defaults:
  model: gemma
  profile: gemma
  alphaAC: %v
  alphaCL: %v
  topK: %d
  direction: %s
  maxTokens: 48
  promptTemplate: %q
limits:
  queueLength: 16
  requestTimeout: 120s
`, modelPath, GemmaChatTemplate, GemmaStop, contextSize, slots, profilePath, GemmaAlphaAC, GemmaAlphaCL, GemmaTopK, GemmaDirection, GemmaPromptTemplate)
}

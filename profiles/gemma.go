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
	// often than it follows the instruction alone.
	GemmaPromptTemplate = "Answer the question using the passages below. Answer in {{language}}.\n\n" +
		"Passages:\n{{passages}}\n\n{{questionLabel}}: {{question}}\n{{answerLabel}}:"
	// Steering defaults (alphas in units of each head's sigma): CL only,
	// over the 64 best heads. Chosen on the 21 demo questions
	// (internal/demo, docs/gemma.md), not on XQuAD: alphaCL 16 broke
	// Japanese and Arabic answers there, topK 16 left Russian ones bare
	// numbers, and AC steering changed nothing.
	GemmaAlphaAC = 0.0
	GemmaAlphaCL = 8.0
	GemmaTopK    = 64
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
  maxTokens: 48
  promptTemplate: %q
limits:
  queueLength: 16
  requestTimeout: 120s
`, modelPath, GemmaChatTemplate, GemmaStop, contextSize, slots, profilePath, GemmaAlphaAC, GemmaAlphaCL, GemmaTopK, GemmaPromptTemplate)
}

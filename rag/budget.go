package rag

import "fmt"

// Budget is the most tokens a prompt may have: the model's context
// (contextSize tokens) less the answer's maxTokens, capped by
// maxPromptTokens when that is > 0 (limits.maxPromptTokens). It is an
// error, naming model (the configured model's name), when nothing is left.
func Budget(model string, contextSize, maxTokens, maxPromptTokens int) (int, error) {
	budget := contextSize - maxTokens
	if maxPromptTokens > 0 {
		budget = min(budget, maxPromptTokens)
	}
	if budget < 1 {
		return 0, fmt.Errorf("maxTokens %d leaves no room for a prompt in model %q's context of %d tokens; lower maxTokens or raise models.%s.contextSize",
			maxTokens, model, contextSize, model)
	}
	return budget, nil
}

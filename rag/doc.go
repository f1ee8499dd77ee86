// Package rag is the request path of one generation over retrieved
// passages, shared by the Weaviate module and the evaluation: the answer
// language (Detector), the token budget (Budget), the prompt and its fit to
// the budget (FillTemplate, GroupedPrompt, SinglePrompt), the steering of
// the request (ResolveSteer), the generation and the response's metadata
// (Answer, Metadata).
//
// Both callers go through Answer, so that a table made in-process over
// given passages and one made through the Weaviate server read the same
// prompt for the same question and passages. rag knows nothing of Weaviate:
// the module turns retrieved objects into passage texts, and owns
// admission, timeouts and the errors' "generative-asmr: " prefix.
package rag

package rag

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/config"
)

// Tokenizer is what prompt building needs from a model: its chat framing
// and tokenizer, to count what fits. *steering.Model implements it.
type Tokenizer interface {
	// TokenizePrompt frames system and user with the chat template and
	// tokenizes them; the messages stay text whatever they contain.
	TokenizePrompt(system, user string) (tokens []int, formatted string, err error)
}

// Prompt is a finished prompt and how it was made.
type Prompt struct {
	System string
	User   string
	// Formatted is the text the model reads: System and User in the
	// model's chat template. It is what the module's debug returns.
	Formatted string
	// Tokens is the length of Formatted in tokens; Budget the most it
	// was allowed (see Budget).
	Tokens int
	Budget int

	// PassagesGiven is the number of passages the request had,
	// PassagesUsed how many are in the prompt (a shortened one counts) and
	// PassagesCut how many were left out entirely. Truncated says that the
	// last one used was shortened (it ends with TruncationMark).
	PassagesGiven int
	PassagesUsed  int
	PassagesCut   int
	Truncated     bool
	// Warnings say what was cut and why, for the response's metadata.
	Warnings []string
}

// MinTruncatedRunes is the shortest cut-down passage worth keeping; a
// shorter stub is more likely to mislead the reader than to help.
const MinTruncatedRunes = 40

// TruncationMark ends a passage that was shortened to fit.
const TruncationMark = " …"

// UnknownLanguage is what the reader is told when the answer language is
// neither fixed nor detected.
const UnknownLanguage = "the language of the question"

// AnswerLanguage is what a prompt says about the answer's language: its
// English name (or UnknownLanguage) and its words for "Question" and
// "Answer"; Code is its ISO 639-1 code ("" when unknown), which direction
// language steers toward.
type AnswerLanguage struct {
	Name   string
	Code   string
	Labels config.Labels
}

// LanguageInstruction tells the reader which language to answer in. It is
// explicit because a multilingual reader over passages in other languages
// tends to answer in the passages' language (the problem ASMR's CL
// steering addresses; the instruction is the baseline it builds on).
func LanguageInstruction(language string) string {
	return "Answer in " + language + "."
}

// PromptFunc builds the prompt of one request for the answer language and
// the token budget; SingleOf and GroupedOf make one.
type PromptFunc func(t Tokenizer, lang AnswerLanguage, budget int) (*Prompt, error)

// SingleOf is the PromptFunc of SinglePrompt over user.
func SingleOf(user string) PromptFunc {
	return func(t Tokenizer, lang AnswerLanguage, budget int) (*Prompt, error) {
		return SinglePrompt(t, user, lang.Name, budget)
	}
}

// GroupedOf is the PromptFunc of GroupedPrompt over template, question and
// passages (best ranked first), at most maxPassages of them (0: no limit).
func GroupedOf(template, question string, passages []string, maxPassages int) PromptFunc {
	return func(t Tokenizer, lang AnswerLanguage, budget int) (*Prompt, error) {
		return GroupedPrompt(t, template, question, lang, passages, maxPassages, budget)
	}
}

// SinglePrompt frames a singleResult prompt (already filled in from the
// object's properties): the language instruction as the system message,
// the prompt as the user message. A prompt over budget tokens is an error.
func SinglePrompt(t Tokenizer, user, language string, budget int) (*Prompt, error) {
	p := &Prompt{System: LanguageInstruction(language), User: user, Budget: budget}
	if err := p.finish(t); err != nil {
		return nil, err
	}
	if p.Tokens > budget {
		return nil, fmt.Errorf("the prompt has %d tokens, over the budget of %d; shorten the prompt, lower maxTokens or raise the model's contextSize", p.Tokens, budget)
	}
	return p, nil
}

func (p *Prompt) finish(t Tokenizer) error {
	toks, formatted, err := t.TokenizePrompt(p.System, p.User)
	if err != nil {
		return fmt.Errorf("tokenize prompt: %w", err)
	}
	p.Formatted, p.Tokens = formatted, len(toks)
	return nil
}

// GroupedPrompt builds a RAG prompt: the template filled by FillTemplate
// with the question, the language and as many passages as fit in budget
// tokens, best ranked first. Passages past maxPassages (when > 0) are left
// out; then, while the prompt is over budget, the worst ranked ones; the
// next passage is shortened into the space left if at least
// MinTruncatedRunes of it fit. Every cut is reported in Warnings. It is an
// error when the question and template alone are over budget.
func GroupedPrompt(t Tokenizer, template, question string, lang AnswerLanguage, passages []string, maxPassages, budget int) (*Prompt, error) {
	build := func(ps []string) (*Prompt, error) {
		system, user := FillTemplate(template, question, lang, ps)
		p := &Prompt{System: system, User: user, Budget: budget, PassagesGiven: len(passages), PassagesUsed: len(ps)}
		return p, p.finish(t)
	}

	given := len(passages)
	ps := passages
	var warnings []string
	if given == 0 {
		warnings = append(warnings, "no passages: none of the retrieved objects has text in the requested properties")
	}
	if maxPassages > 0 && given > maxPassages {
		ps = passages[:maxPassages]
		warnings = append(warnings, fmt.Sprintf("%d of %d passages left out: limits.maxPassages is %d", given-maxPassages, given, maxPassages))
	}
	p, err := build(ps)
	if err != nil {
		return nil, err
	}
	if p.Tokens > budget {
		none, err := build(nil)
		if err != nil {
			return nil, err
		}
		if none.Tokens > budget {
			return nil, fmt.Errorf("the question and prompt template alone have %d tokens, over the budget of %d; shorten the question, lower maxTokens or raise the model's contextSize", none.Tokens, budget)
		}
		// Largest k whose prompt fits: lo fits, hi does not.
		lo, hi, best := 0, len(ps), none
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			q, err := build(ps[:mid])
			if err != nil {
				return nil, err
			}
			if q.Tokens <= budget {
				lo, best = mid, q
			} else {
				hi = mid
			}
		}
		k := lo
		// Shorten passage k into the space left.
		runes := []rune(ps[k])
		rlo, rhi := 0, len(runes) // rlo fits (as nothing), rhi does not
		var cut *Prompt
		for rhi-rlo > 1 {
			mid := (rlo + rhi) / 2
			q, err := build(append(slices.Clone(ps[:k]), strings.TrimSpace(string(runes[:mid]))+TruncationMark))
			if err != nil {
				return nil, err
			}
			if q.Tokens <= budget {
				rlo, cut = mid, q
			} else {
				rhi = mid
			}
		}
		p = best
		if cut != nil && rlo >= MinTruncatedRunes {
			p = cut
			p.Truncated = true
		}
		dropped := len(ps) - p.PassagesUsed
		msg := fmt.Sprintf("%d of %d passages left out to fit the prompt budget of %d tokens", dropped, len(ps), budget)
		if p.Truncated {
			msg += fmt.Sprintf("; passage %d was shortened to %d of %d characters", p.PassagesUsed, rlo, len(runes))
		}
		warnings = append(warnings, msg)
	}
	// A shortened passage counts as used; cut means left out entirely.
	p.PassagesCut = given - p.PassagesUsed
	p.Warnings = warnings
	return p, nil
}

package module

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
	"github.com/weaviate/weaviate/entities/schema"

	"github.com/asmr-search/generative-asmr/config"
)

// reader is what prompt building needs from a model: its chat framing and
// tokenizer, to count what fits. *steering.Model implements it.
type reader interface {
	// TokenizePrompt frames system and user with the chat template and
	// tokenizes them; the messages stay text whatever they contain.
	TokenizePrompt(system, user string) (tokens []int, formatted string, err error)
}

// builtPrompt is a finished prompt and how it was made.
type builtPrompt struct {
	System string
	User   string
	// Formatted is the text the model reads: System and User in the
	// model's chat template. It is what debug returns.
	Formatted string
	Tokens    int
	Budget    int

	PassagesGiven int
	PassagesUsed  int
	PassagesCut   int
	Truncated     bool
	Warnings      []string
}

// minTruncatedRunes is the shortest cut-down passage worth keeping; a
// shorter stub is more likely to mislead the reader than to help.
const minTruncatedRunes = 40

// truncationMark ends a passage that was shortened to fit.
const truncationMark = " …"

// answerLanguage is what a prompt says about the answer's language: its
// English name (or "the language of the question") and its words for
// "Question" and "Answer".
type answerLanguage struct {
	Name   string
	Labels config.Labels
}

// languageInstruction tells the reader which language to answer in. It is
// explicit because a multilingual reader over passages in other languages
// tends to answer in the passages' language (the problem ASMR's CL
// steering addresses; the instruction is the baseline it builds on).
func languageInstruction(language string) string {
	return "Answer in " + language + "."
}

// singlePrompt frames a singleResult prompt (already filled in from the
// object's properties): the language instruction as the system message,
// the prompt as the user message.
func singlePrompt(r reader, user, language string, budget int) (*builtPrompt, error) {
	p := &builtPrompt{System: languageInstruction(language), User: user, Budget: budget}
	if err := p.finish(r); err != nil {
		return nil, err
	}
	if p.Tokens > budget {
		return nil, fmt.Errorf("the prompt has %d tokens, over the budget of %d; shorten the prompt, lower maxTokens or raise the model's contextSize", p.Tokens, budget)
	}
	return p, nil
}

func (p *builtPrompt) finish(r reader) error {
	toks, formatted, err := r.TokenizePrompt(p.System, p.User)
	if err != nil {
		return fmt.Errorf("tokenize prompt: %w", err)
	}
	p.Formatted, p.Tokens = formatted, len(toks)
	return nil
}

// passageTexts renders each retrieved object as one passage, best ranked
// first (Weaviate's order). An object with one text property is its value;
// with several, "name: value" lines, so that the reader sees what each value
// is (title, body, ...), in the order of order (the groupedResult's
// properties as the request listed them) and then, for names order lacks, in
// name order. Objects without text are skipped.
func passageTexts(props []*modulecapabilities.GenerateProperties, order []string) []string {
	var out []string
	for _, p := range props {
		if p == nil || len(p.Text) == 0 {
			continue
		}
		var text string
		if len(p.Text) == 1 {
			for _, v := range p.Text {
				text = strings.TrimSpace(v)
			}
		} else {
			var lines []string
			for _, k := range propertyNames(p.Text, order) {
				if v := strings.TrimSpace(p.Text[k]); v != "" {
					lines = append(lines, k+": "+v)
				}
			}
			text = strings.Join(lines, "\n")
		}
		if text != "" {
			out = append(out, text)
		}
	}
	return out
}

// propertyNames returns the keys of text: first those order lists, in its
// order, then the rest sorted.
func propertyNames(text map[string]string, order []string) []string {
	names := make([]string, 0, len(text))
	seen := make(map[string]bool, len(text))
	for _, k := range order {
		if _, ok := text[k]; ok && !seen[k] {
			names, seen[k] = append(names, k), true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(text)) {
		if !seen[k] {
			names = append(names, k)
		}
	}
	return names
}

// fillTask replaces {property} references in a groupedResult task exactly
// as Weaviate's generative.MakeTaskPrompt does: with the value from the
// first object that has the property, or with the bare name when none has
// it. MakeTaskPrompt itself also appends every object as JSON, which this
// module replaces with numbered passages fitted to the context.
func fillTask(texts []map[string]string, task string) string {
	return weaviateProperty.ReplaceAllStringFunc(task, func(match string) string {
		match = strings.Trim(match, "{}")
		for _, t := range texts {
			if v, ok := t[match]; ok {
				return v
			}
		}
		return match
	})
}

// groupedPrompt builds the RAG prompt of a groupedResult: the template with
// the question, the language and as many passages as fit, best ranked
// first. Passages past maxPassages are left out; then, while the prompt is
// over budget, the worst ranked ones; the next passage is shortened into
// the space left if a useful part of it fits. Every cut is reported.
func groupedPrompt(r reader, template, question string, lang answerLanguage, passages []string, maxPassages, budget int) (*builtPrompt, error) {
	language := lang.Name
	var system string
	if !strings.Contains(template, config.PlaceholderLanguage) {
		system = languageInstruction(language)
	}
	build := func(ps []string) (*builtPrompt, error) {
		var b strings.Builder
		for i, t := range ps {
			if i > 0 {
				b.WriteString("\n\n")
			}
			fmt.Fprintf(&b, "[%d] %s", i+1, t)
		}
		user := strings.NewReplacer(
			config.PlaceholderQuestion, question,
			config.PlaceholderPassages, b.String(),
			config.PlaceholderLanguage, language,
			config.PlaceholderQuestionLabel, lang.Labels.Question,
			config.PlaceholderAnswerLabel, lang.Labels.Answer,
		).Replace(template)
		p := &builtPrompt{System: system, User: user, Budget: budget, PassagesGiven: len(passages), PassagesUsed: len(ps)}
		return p, p.finish(r)
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
		var cut *builtPrompt
		for rhi-rlo > 1 {
			mid := (rlo + rhi) / 2
			q, err := build(append(slices.Clone(ps[:k]), strings.TrimSpace(string(runes[:mid]))+truncationMark))
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
		if cut != nil && rlo >= minTruncatedRunes {
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

// refsInPrompt refuses {property} references to cross-reference
// properties, whose values Weaviate does not hand to generative modules
// (it reported "has empty value"), naming every such property at once.
func refsInPrompt(cfg moduletools.ClassConfig, prompt string) error {
	if cfg == nil {
		return nil
	}
	types := cfg.PropertiesDataTypes()
	var refs []string
	for _, m := range weaviateProperty.FindAllStringSubmatch(prompt, -1) {
		name := strings.TrimSpace(m[1])
		if types[name] == schema.DataTypeCRef && !slices.Contains(refs, name) {
			refs = append(refs, name)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return fmt.Errorf("the prompt uses {%s}, a cross-reference property: generate prompts can use the object's own properties only (text, numbers, dates, ...), not the objects it references; copy the text you need into a property of this class",
		strings.Join(refs, "}, {"))
}

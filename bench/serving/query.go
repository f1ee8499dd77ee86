package serving

import (
	"context"
	"errors"
	"fmt"

	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// answer is what one query returned.
type answer struct {
	// generations asked (one grouped, or one per object), genErrors of
	// them failed (firstErr is the first).
	generations, genErrors int
	firstErr               string
	// Ours only, from the module's metadata: the generations that carried
	// it and their tokens.
	counted, promptTokens, completionTokens int
	// prompt is the first generation's prompt, with debug on.
	prompt string
}

// tokens is our module's metadata of one answer.
type tokens struct {
	PromptTokens     int `json:"promptTokens"`
	CompletionTokens int `json:"completionTokens"`
}

// queryText is query number i of s's class: a groupedResult query over
// GroupedLimit passages or a singleResult query over SingleLimit objects,
// the question and passages chosen by i alone, so both classes get the
// same ones. Ours also asks for the token counts of its metadata; debug
// asks for the prompts.
func (b *bench) queryText(s *side, grouped bool, i int, debug bool) string {
	var arg, fields string
	limit := b.cfg.SingleLimit
	if grouped {
		limit = b.cfg.GroupedLimit
		arg = fmt.Sprintf(`groupedResult: {task: %q, properties: ["text"]`, groupedTask(i))
		fields = "groupedResult error"
		if s.ours {
			fields += " asmr { grouped { promptTokens completionTokens } }"
		}
	} else {
		arg = fmt.Sprintf(`singleResult: {prompt: %q`, singlePrompt(i))
		fields = "singleResult error"
		if s.ours {
			fields += " asmr { promptTokens completionTokens }"
		}
	}
	if debug {
		arg += ", debug: true"
		fields += " debug { prompt }"
	}
	return fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: %d) { _additional { generate(%s}) { %s } } } } }`,
		s.class, queryVector(i), limit, arg, fields)
}

// query sends query number i to s's class. Its error is the request's
// (HTTP or GraphQL); a generation's error is counted in the answer.
func (b *bench) query(ctx context.Context, s *side, grouped bool, i int, debug bool) (answer, error) {
	var data struct {
		Get map[string][]struct {
			Additional struct {
				Generate *struct {
					SingleResult  *string `json:"singleResult"`
					GroupedResult *string `json:"groupedResult"`
					Error         *string `json:"error"`
					Debug         *struct {
						Prompt string `json:"prompt"`
					} `json:"debug"`
					Asmr *struct {
						tokens
						Grouped *tokens `json:"grouped"`
					} `json:"asmr"`
				} `json:"generate"`
			} `json:"_additional"`
		}
	}
	var a answer
	if err := weaviatehttp.GraphQL(ctx, b.client, b.queryText(s, grouped, i, debug), &data); err != nil {
		return a, err
	}
	rows := data.Get[s.class]
	if len(rows) == 0 {
		return a, errors.New("the query found no objects")
	}
	fail := func(msg string) {
		a.genErrors++
		if a.firstErr == "" {
			a.firstErr = msg
		}
	}
	for k, row := range rows {
		if grouped && k > 0 {
			break // the grouped answer is on the first object
		}
		a.generations++
		g := row.Additional.Generate
		switch {
		case g == nil:
			fail("no generate result")
			continue
		case g.Error != nil && *g.Error != "":
			fail(*g.Error)
			continue
		case grouped && g.GroupedResult == nil, !grouped && g.SingleResult == nil:
			fail("no answer and no error")
			continue
		}
		if g.Debug != nil && a.prompt == "" {
			a.prompt = g.Debug.Prompt
		}
		if g.Asmr == nil {
			continue
		}
		t := g.Asmr.tokens
		if grouped && g.Asmr.Grouped != nil {
			t = *g.Asmr.Grouped
		}
		a.counted++
		a.promptTokens += t.PromptTokens
		a.completionTokens += t.CompletionTokens
	}
	return a, nil
}

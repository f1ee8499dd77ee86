package module

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weaviate/weaviate/entities/modulecapabilities"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/harness"
)

// The in-process evaluation's reader (eval/harness) and the module build
// the identical prompt for the same question, passages and options on the
// same model: the same formatted text, tokens, passages used and cut,
// truncation and warnings, in both answer-language modes; and then give
// the same steered answer. Both go through package rag, so that a table
// made in-process and one made through the server are comparable.
func TestEvalReaderBuildsTheModulesPrompt(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest+"limits: {maxPassages: 8}\n"))
	template := "Passages:\n{{passages}}\n\n{{questionLabel}}: {{question}}\n{{answerLabel}}:"
	const question = "Was sagen die Passagen über das Telefon und seine Erfindung?"
	var props []*modulecapabilities.GenerateProperties
	var passages []string
	for i := range 12 {
		text := fmt.Sprintf("Passage %d: %s", i+1, strings.TrimSpace(strings.Repeat("lorem ipsum dolor sit amet ", 3)))
		props = append(props, &modulecapabilities.GenerateProperties{Text: map[string]string{"body": "  " + text + "\n"}})
		passages = append(passages, text)
	}

	cfg := harness.Config{
		Model: filepath.Join(testModels(t), "tiny.gguf"), ModelOptions: m.generative.models["tiny"].steeringOptions(),
		Profile: profilePath(t), AnswerLanguage: "auto", MaxPassages: 8, Parallel: 1,
	}
	r, err := harness.NewInProcessReader(cfg, []string{"de"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	seed := int64(5)
	for _, c := range []struct {
		name     string
		language string // the eval request's ("" detects), the module's answerLanguage
	}{{"auto", ""}, {"fixed", "ja"}} {
		opts := config.Options{PromptTemplate: template, Seed: &seed}
		if c.language != "" {
			opts.AnswerLanguage = c.language
		}
		res, err := client(m).GenerateAllResults(context.Background(), props, question, Params{Options: opts}, true, classConfig{})
		if err != nil {
			t.Fatalf("%s: module: %v", c.name, err)
		}
		md := meta(t, res)

		req := eval.Request{
			Item:     eval.Item{ID: "1", Lang: "de", Question: question},
			System:   eval.System{Name: eval.ASMR, Steer: &eval.Steering{AlphaAC: 8, AlphaCL: 8, TopK: 4, Direction: "probe", Scope: "generation"}},
			Template: template, Language: c.language, Passages: passages,
			Seed: uint64(seed), MaxTokens: 4,
		}
		prep, err := r.Prepare(req)
		if err != nil {
			t.Fatalf("%s: eval: %v", c.name, err)
		}
		p := prep.Prompt
		if p.Formatted != res.Debug.Prompt {
			t.Errorf("%s: prompts differ:\neval:\n%s\nmodule:\n%s", c.name, p.Formatted, res.Debug.Prompt)
		}
		warnings := p.Warnings
		if warnings == nil {
			warnings = []string{}
		}
		if p.Tokens != md[metaPromptTokens] || p.PassagesGiven != md[metaPassagesGiven] || p.PassagesUsed != md[metaPassagesUsed] ||
			p.PassagesCut != md[metaPassagesCut] || p.Truncated != md[metaPassageTruncated] || p.Budget != md[metaPromptBudget] ||
			!slices.Equal(warnings, md[metaWarnings].([]string)) || prep.Language.Name != md[metaAnswerLanguage] {
			t.Errorf("%s: eval prompt %d tokens, passages %d/%d/%d, truncated %v, budget %d, warnings %q, language %s; module %v",
				c.name, p.Tokens, p.PassagesGiven, p.PassagesUsed, p.PassagesCut, p.Truncated, p.Budget, p.Warnings, prep.Language.Name, md)
		}
		// The case is worth testing: passages were cut to fit, and the
		// labels are the answer language's.
		if p.PassagesUsed >= 8 || p.PassagesCut <= 4 {
			t.Errorf("%s: %d passages used, %d cut: want some cut to fit", c.name, p.PassagesUsed, p.PassagesCut)
		}
		want := map[string]string{"": "Frage: ", "ja": "質問: "}[c.language]
		mustContain(t, c.name+" prompt", p.Formatted, want+question)

		resp, err := r.Read(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: eval read: %v", c.name, err)
		}
		if strings.ToValidUTF8(resp.Text, "\uFFFD") != *res.Result || resp.PromptTokens != md[metaPromptTokens] ||
			resp.PassagesUsed != md[metaPassagesUsed] || resp.SteeredHeads != md[metaSteeredHeads] || resp.CompletionTokens != md[metaCompletionTokens] {
			t.Errorf("%s: eval answered %+v; module %q %v", c.name, resp, *res.Result, md)
		}
	}
}

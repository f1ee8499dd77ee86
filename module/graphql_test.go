package module

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/tailor-inc/graphql"
	"github.com/tailor-inc/graphql/language/ast"
	"github.com/tailor-inc/graphql/language/parser"
	"github.com/weaviate/weaviate/entities/models"
	"github.com/weaviate/weaviate/entities/search"
	"github.com/weaviate/weaviate/usecases/modulecomponents/additional/generate"
)

// graphqlSchema builds a GraphQL schema whose one field is Weaviate's own
// `generate` additional property for class Doc, driven by Weaviate's generic
// generate provider with this module registered as its default provider,
// as usecases/modules does for a class whose moduleConfig names
// generative-asmr. Resolving the field runs the real extraction of the
// asmr: {...} argument and the real dispatch to GenerateSingleResult /
// GenerateAllResults over three search results.
func graphqlSchema(t *testing.T, m *Module, cfg classConfig) graphql.Schema {
	t.Helper()
	provider := generate.NewGeneric(m.AdditionalGenerativeProperties(), ProviderName, logrus.New())
	class := &models.Class{Class: "Doc", Properties: []*models.Property{
		{Name: "title", DataType: []string{"text"}}, {Name: "body", DataType: []string{"text"}},
	}}
	field := provider.AdditionalFieldFn("Doc")
	field.Resolve = func(p graphql.ResolveParams) (any, error) {
		params := provider.ExtractAdditionalFn(p.Info.FieldASTs[0].Arguments, class)
		in := []search.Result{
			{ClassName: "Doc", Schema: map[string]any{"title": "Telephone", "body": "Bell patented the telephone in 1876."}},
			{ClassName: "Doc", Schema: map[string]any{"title": "Radio", "body": "Marconi sent radio signals."}},
			{ClassName: "Doc", Schema: map[string]any{"title": "Television", "body": "Baird showed television in 1926."}},
		}
		out, err := provider.AdditionalPropertyFn(context.Background(), in, params, nil, nil, cfg)
		if err != nil {
			return nil, err
		}
		return out[0].AdditionalProperties["generate"], nil
	}
	schema, err := graphql.NewSchema(graphql.SchemaConfig{Query: graphql.NewObject(graphql.ObjectConfig{
		Name: "Query", Fields: graphql.Fields{"generate": field},
	})})
	if err != nil {
		t.Fatalf("GraphQL schema with the asmr input and output types: %v", err)
	}
	return schema
}

func runGraphQL(t *testing.T, schema graphql.Schema, query string) map[string]any {
	t.Helper()
	res := graphql.Do(graphql.Params{Schema: schema, RequestString: query, Context: context.Background()})
	if len(res.Errors) > 0 {
		t.Fatalf("GraphQL errors: %v\nquery: %s", res.Errors, query)
	}
	b, _ := json.Marshal(res.Data)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out["generate"].(map[string]any)
}

func TestGraphQLPerQueryOptions(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	schema := graphqlSchema(t, m, classConfig{settings: map[string]any{"alphaAC": 5.0, "maxTokens": 6.0}})

	// singleResult with per-query options: an integer literal for a Float
	// field, as users write `alphaCL: 10`.
	g := runGraphQL(t, schema, `{ generate(singleResult: {prompt: "Wer hat {title} erfunden?", debug: true,
		asmr: {alphaCL: 10, topK: 2, direction: "mass-mean", maxTokens: 3, tokenScope: "all", temperature: 0}}) {
		singleResult error debug { prompt }
		asmr { model profile steered steeredHeads alphaAC alphaCL topK direction tokenScope language languageName answerLanguage
		       promptTokens completionTokens stopReason passagesUsed durationMs warnings } } }`)
	if g["error"] != nil {
		t.Fatalf("error: %v", g["error"])
	}
	a := g["asmr"].(map[string]any)
	want := map[string]any{
		"model": "tiny", "profile": "tiny", "steered": true, "alphaAC": 5.0, "alphaCL": 10.0, "topK": 2.0,
		"direction": "mass-mean", "tokenScope": "all", "language": "de", "languageName": "German",
		"answerLanguage": "German", "completionTokens": 3.0, "stopReason": "length",
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("asmr.%s = %v, want %v", k, a[k], v)
		}
	}
	if g["singleResult"] == nil || a["steeredHeads"].(float64) < 2 || a["promptTokens"].(float64) < 10 {
		t.Errorf("result %v, metadata %v", g["singleResult"], a)
	}
	mustContain(t, "debug prompt", g["debug"].(map[string]any)["prompt"].(string), "Wer hat Telephone erfunden?", "Answer in German.")

	// groupedResult: the class config applies where the query sets nothing.
	g = runGraphQL(t, schema, `{ generate(groupedResult: {task: "Who invented the television?", properties: ["body"], debug: true,
		asmr: {answerLanguage: "German", profile: "none"}}) {
		groupedResult error debug { prompt } asmr { steered completionTokens passagesGiven passagesUsed passagesCut answerLanguage language } } }`)
	if g["error"] != nil {
		t.Fatalf("error: %v", g["error"])
	}
	a = g["asmr"].(map[string]any)
	if a["steered"] != false || a["completionTokens"] != 6.0 || a["passagesGiven"] != 3.0 || a["passagesUsed"] != 3.0 ||
		a["passagesCut"] != 0.0 || a["answerLanguage"] != "German" || a["language"] != "en" {
		t.Errorf("grouped metadata: %v", a)
	}
	p := g["debug"].(map[string]any)["prompt"].(string)
	mustContain(t, "grouped prompt", p, "[1] Bell patented", "[3] Baird showed", "Question: Who invented the television?", "Answer in German.")
	if strings.Contains(p, "Telephone") {
		t.Error("properties: [body] not honoured")
	}

	// A bad value reaches the result's error, naming the field.
	g = runGraphQL(t, schema, `{ generate(singleResult: {prompt: "hi {title}", asmr: {direction: "up"}}) { singleResult error } }`)
	if e, _ := g["error"].(string); !strings.Contains(e, `direction: unknown direction kind "up"`) {
		t.Errorf("bad direction: %v", g)
	}
	// GraphQL itself rejects unknown option names and wrong types.
	for _, q := range []string{
		`{ generate(singleResult: {prompt: "x", asmr: {alphaCl: 1}}) { singleResult } }`,
		`{ generate(singleResult: {prompt: "x", asmr: {topK: 1.5}}) { singleResult } }`,
	} {
		if res := graphql.Do(graphql.Params{Schema: schema, RequestString: q}); len(res.Errors) == 0 {
			t.Errorf("accepted: %s", q)
		}
	}
}

// TestExtractParams checks the extraction on its own, including what
// GraphQL validation would stop before it (variables).
func TestExtractParams(t *testing.T) {
	doc, err := parser.Parse(parser.ParseParams{Source: `{ f(asmr: {model: "m", profile: "p", alphaAC: 1.5, alphaCL: 10, topK: 8,
		direction: "probe", tokenScope: "generation", maxTokens: 64, temperature: 0.3,
		promptTemplate: "{{passages}} {{question}}", answerLanguage: "de"}, bad: {topK: $k}) }`})
	if err != nil {
		t.Fatal(err)
	}
	args := doc.Definitions[0].(*ast.OperationDefinition).SelectionSet.Selections[0].(*ast.Field).Arguments
	field := func(name string) *ast.ObjectField {
		for _, a := range args {
			if a.Name.Value == name {
				return &ast.ObjectField{Name: a.Name, Value: a.Value}
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	p := extractParams(field("asmr")).(Params)
	o := p.Options
	if p.Err != nil || o.Model != "m" || o.Profile != "p" || *o.AlphaAC != 1.5 || *o.AlphaCL != 10 || *o.TopK != 8 ||
		o.Direction != "probe" || o.TokenScope != "generation" || *o.MaxTokens != 64 || *o.Temperature != 0.3 ||
		o.PromptTemplate != "{{passages}} {{question}}" || o.AnswerLanguage != "de" {
		t.Errorf("extracted %+v, err %v", o, p.Err)
	}
	p = extractParams(field("bad")).(Params)
	if p.Err == nil || !strings.Contains(p.Err.Error(), "topK: write the value literally") {
		t.Errorf("variable: %v", p.Err)
	}
}

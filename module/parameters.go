package module

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/tailor-inc/graphql"
	"github.com/tailor-inc/graphql/language/ast"
	"github.com/weaviate/weaviate/entities/modulecapabilities"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/rag"
)

// ProviderName is the name of this module's per-query options in Weaviate's
// dynamic generative syntax:
//
//	generate(singleResult: {prompt: "...", asmr: {alphaCL: 10}})
//
// and the key of its response metadata (_additional.generate.asmr).
const ProviderName = "asmr"

// Params are the per-query options as extracted from a GraphQL query. Err
// holds problems the extraction found (a variable where a literal is needed,
// an integer that overflows); Weaviate's extract hook cannot return an
// error, so it travels here and becomes the result's error.
type Params struct {
	Options config.Options
	Err     error
	// Split is set when the query's source placed the options: Single and
	// Grouped are then the options of each half of the generate call
	// (zero for a half without asmr: {...}), whichever half Options came
	// from.
	Split           bool
	Single, Grouped HalfParams
}

// HalfParams are the per-query options of one half of a generate call.
type HalfParams struct {
	Options config.Options
	Err     error
}

// generativeProperties registers the module with Weaviate's generic
// generate provider, the way modules/generative-ollama/parameters does.
func generativeProperties(client modulecapabilities.GenerativeClient) map[string]modulecapabilities.GenerativeProperty {
	return map[string]modulecapabilities.GenerativeProperty{
		ProviderName: {
			Client:                       client,
			RequestParamsFunction:        inputParams,
			ResponseParamsFunction:       outputParams,
			ExtractRequestParamsFunction: extractParams,
		},
	}
}

// inputParams is the GraphQL input object of the per-query options. The
// field names are config.OptionNames: the same as in the ops file's
// defaults and in a class's moduleConfig.
func inputParams(prefix string) *graphql.InputObjectFieldConfig {
	str := func(d string) *graphql.InputObjectFieldConfig {
		return &graphql.InputObjectFieldConfig{Description: d, Type: graphql.String}
	}
	num := func(d string) *graphql.InputObjectFieldConfig {
		return &graphql.InputObjectFieldConfig{Description: d, Type: graphql.Float}
	}
	integer := func(d string) *graphql.InputObjectFieldConfig {
		return &graphql.InputObjectFieldConfig{Description: d, Type: graphql.Int}
	}
	return &graphql.InputObjectFieldConfig{
		Description: fmt.Sprintf("%s settings", Name),
		Type: graphql.NewInputObject(graphql.InputObjectConfig{
			Name: fmt.Sprintf("%s%sInputObject", prefix, ProviderName),
			Fields: graphql.InputObjectConfigFieldMap{
				"model":          str("a model configured in the ops file"),
				"profile":        str("a steering profile configured in the ops file, or \"none\""),
				"alphaAC":        num("accuracy-in-content steering strength (x sigma); 0 = off"),
				"alphaCL":        num("coherence-in-language steering strength (x sigma); 0 = off"),
				"topK":           integer("heads steered per attribute; 0 = all in the profile"),
				"direction":      str(fmt.Sprintf("%s, %s or %s (the answer language's LANG.<code> directions)", profile.DirectionProbe, profile.DirectionMassMean, profile.DirectionLanguage)),
				"tokenScope":     str(fmt.Sprintf("%s or %s", config.TokenScopeGeneration, config.TokenScopeAll)),
				"maxTokens":      integer("answer length cap in tokens"),
				"temperature":    num("sampling temperature; 0 = greedy"),
				"seed":           integer("sampler seed, 0 to 4294967295, when temperature > 0; unset = a fresh random seed per request"),
				"promptTemplate": str("groupedResult prompt with {{passages}}, {{question}} and optionally {{language}}"),
				"answerLanguage": str("auto, or a language code or name"),
			},
		}),
		DefaultValue: nil,
	}
}

// extractParams reads the asmr: {...} argument. GraphQL has already checked
// the literals' types against inputParams; the values go through the same
// config.OptionsFromMap as a class's moduleConfig, so both layers accept
// and reject the same things with the same messages.
func extractParams(field *ast.ObjectField) any {
	o, err := extractHalf(field)
	out := Params{Options: o, Err: err}
	if single, grouped, ok := generateHalves(field); ok {
		out.Split = true
		if single != nil {
			out.Single.Options, out.Single.Err = extractHalf(single)
		}
		if grouped != nil {
			out.Grouped.Options, out.Grouped.Err = extractHalf(grouped)
		}
	}
	return out
}

// extractHalf reads one asmr: {...} argument.
func extractHalf(field *ast.ObjectField) (config.Options, error) {
	fields, ok := field.Value.GetValue().([]*ast.ObjectField)
	if !ok {
		return config.Options{}, fmt.Errorf("%s options: want an object such as {alphaCL: 10}", ProviderName)
	}
	where := "query " + ProviderName + " options"
	m := map[string]any{}
	var problems []string
	for _, f := range fields {
		name := f.Name.Value
		v, err := literal(f.Value)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		m[name] = v
	}
	if len(problems) > 0 {
		return config.Options{}, config.OptionsError(where, problems)
	}
	return config.OptionsFromMap(m, where)
}

// literal returns the Go value of a literal GraphQL value: a string for
// strings and enums, a float64 for numbers. Variables, lists and objects
// are refused.
func literal(v ast.Value) (any, error) {
	switch x := v.(type) {
	case *ast.StringValue:
		return x.Value, nil
	case *ast.EnumValue:
		return x.Value, nil
	case *ast.IntValue, *ast.FloatValue:
		lit := x.GetValue().(string)
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", lit)
		}
		return f, nil
	}
	return nil, fmt.Errorf("write the value literally (GraphQL variables are not supported in generative options)")
}

// paramsFrom turns Weaviate's requestParams into per-query options: Params
// from GraphQL, nil from gRPC (whose per-query provider options are a
// closed oneof that cannot name this module) and from queries without an
// asmr argument.
func paramsFrom(requestParams any, grouped bool) (config.Options, error) {
	switch p := requestParams.(type) {
	case nil:
		return config.Options{}, nil
	case Params:
		return p.half(grouped)
	case *Params:
		if p == nil {
			return config.Options{}, nil
		}
		return p.half(grouped)
	case config.Options:
		return p, nil
	}
	return config.Options{}, errors.New("per-query options of another provider were given; use asmr: {...}")
}

// half returns the options of the grouped or the single half.
func (p Params) half(grouped bool) (config.Options, error) {
	switch {
	case !p.Split:
		return p.Options, p.Err
	case grouped:
		return p.Grouped.Options, p.Grouped.Err
	}
	return p.Single.Options, p.Single.Err
}

// Metadata keys of _additional.generate.asmr (GraphQL only: Weaviate's gRPC
// reply carries metadata for its built-in providers only): those of
// rag.Metadata.Map, and metaGrouped (see withGrouped).
const (
	metaModel              = rag.MetaModel
	metaProfile            = rag.MetaProfile
	metaSteered            = rag.MetaSteered
	metaSteeredHeads       = rag.MetaSteeredHeads
	metaAlphaAC            = rag.MetaAlphaAC
	metaAlphaCL            = rag.MetaAlphaCL
	metaTopK               = rag.MetaTopK
	metaDirection          = rag.MetaDirection
	metaTokenScope         = rag.MetaTokenScope
	metaLanguage           = rag.MetaLanguage
	metaLanguageName       = rag.MetaLanguageName
	metaLanguageConfidence = rag.MetaLanguageConfidence
	metaLanguageDetected   = rag.MetaLanguageDetected
	metaAnswerLanguage     = rag.MetaAnswerLanguage
	metaPromptTokens       = rag.MetaPromptTokens
	metaCompletionTokens   = rag.MetaCompletionTokens
	metaStopReason         = rag.MetaStopReason
	metaPassagesGiven      = rag.MetaPassagesGiven
	metaPassagesUsed       = rag.MetaPassagesUsed
	metaPassagesCut        = rag.MetaPassagesCut
	metaPassageTruncated   = rag.MetaPassageTruncated
	metaPromptBudget       = rag.MetaPromptBudget
	metaDurationMs         = rag.MetaDurationMs
	metaPrefillMs          = rag.MetaPrefillMs
	metaDecodeMs           = rag.MetaDecodeMs
	metaWarnings           = rag.MetaWarnings
	metaSeed               = rag.MetaSeed
	metaGrouped            = "grouped"
)

// outputParams is the GraphQL type of _additional { generate { asmr {...} } }.
func outputParams(prefix string) *graphql.Field {
	fields := metaFields()
	fields[metaGrouped] = &graphql.Field{
		Description: "the groupedResult's metadata (on the first object; a query with singleResult too describes that object's single answer in the other fields)",
		Type:        graphql.NewObject(graphql.ObjectConfig{Name: fmt.Sprintf("%s%sGroupedFields", prefix, ProviderName), Fields: metaFields()}),
	}
	return &graphql.Field{Type: graphql.NewObject(graphql.ObjectConfig{
		Name:   fmt.Sprintf("%s%sFields", prefix, ProviderName),
		Fields: fields,
	})}
}

// metaFields are the metadata fields of one answer.
func metaFields() graphql.Fields {
	f := func(t graphql.Output, d string) *graphql.Field { return &graphql.Field{Type: t, Description: d} }
	return graphql.Fields{
		metaModel:              f(graphql.String, "model that answered"),
		metaProfile:            f(graphql.String, "steering profile, empty when unsteered"),
		metaSteered:            f(graphql.Boolean, "whether any head was steered"),
		metaSteeredHeads:       f(graphql.Int, "number of heads steered"),
		metaAlphaAC:            f(graphql.Float, "alphaAC used"),
		metaAlphaCL:            f(graphql.Float, "alphaCL used"),
		metaTopK:               f(graphql.Int, "topK used"),
		metaDirection:          f(graphql.String, "direction kind used"),
		metaTokenScope:         f(graphql.String, "token scope used"),
		metaLanguage:           f(graphql.String, "ISO 639-1 code of the question's detected language, empty if unknown"),
		metaLanguageName:       f(graphql.String, "English name of the detected language"),
		metaLanguageConfidence: f(graphql.Float, "detector confidence, 0..1"),
		metaLanguageDetected:   f(graphql.Boolean, "whether a language was detected"),
		metaAnswerLanguage:     f(graphql.String, "language the reader was told to answer in"),
		metaPromptTokens:       f(graphql.Int, "tokens in"),
		metaCompletionTokens:   f(graphql.Int, "tokens out"),
		metaStopReason:         f(graphql.String, "eos, stop, length or context"),
		metaPassagesGiven:      f(graphql.Int, "passages Weaviate retrieved (groupedResult)"),
		metaPassagesUsed:       f(graphql.Int, "passages in the prompt"),
		metaPassagesCut:        f(graphql.Int, "passages left out to fit limits.maxPassages or the context"),
		metaPassageTruncated:   f(graphql.Boolean, "whether the last passage used was shortened to fit"),
		metaPromptBudget:       f(graphql.Int, "most prompt tokens allowed"),
		metaDurationMs:         f(graphql.Float, "whole request, queue and load waits included"),
		metaPrefillMs:          f(graphql.Float, "prompt processing"),
		metaDecodeMs:           f(graphql.Float, "answer generation"),
		metaWarnings:           f(graphql.NewList(graphql.String), "what the reader should know, e.g. passages cut"),
		metaSeed:               f(graphql.Float, "the sampler's seed: the query's seed option, or the fresh one drawn for it; give it back as seed to repeat a temperature > 0 answer"),
	}
}

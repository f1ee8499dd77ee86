package config

import (
	"cmp"
	"math"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/profile"
)

// Options are the per-request settings of the generative-asmr module. The
// same struct, with the same camelCase names, is read from three places and
// merged in this order, each level overriding the one before it only where
// it sets a field:
//
//  1. the ops file's `defaults:` (and the built-in defaults under it),
//  2. a class's moduleConfig {"generative-asmr": {...}},
//  3. the query: generate(singleResult: {prompt: "...", asmr: {...}}).
//
// Unset is distinct from zero (alphaCL: 0 turns CL steering off), so the
// numbers are pointers and the strings use "" for unset.
type Options struct {
	// Model names an entry of the ops file's `models:`; "" = the default model.
	Model string `yaml:"model" json:"model,omitempty"`
	// Profile names an entry of the ops file's `profiles:`; "none" steers
	// nothing even when a lower level names a profile.
	Profile string `yaml:"profile" json:"profile,omitempty"`
	// AlphaAC and AlphaCL scale the steering of the "accuracy in content" and
	// "coherence in language" heads, in units of each head's activation
	// standard deviation (the ITI convention). 0 turns that attribute off.
	AlphaAC *float64 `yaml:"alphaAC" json:"alphaAC,omitempty"`
	AlphaCL *float64 `yaml:"alphaCL" json:"alphaCL,omitempty"`
	// TopK steers the K best heads of each attribute; 0 = every selected head
	// the profile stores.
	TopK *int `yaml:"topK" json:"topK,omitempty"`
	// Direction is "probe" (the probe's weights, as the paper), "mass-mean"
	// (the class-mean difference, as ITI) or "language" (CL along the
	// mass-mean directions of the answer language's LANG.<code> attribute,
	// AC along AC's mass-mean; CL's mass-mean when the profile lacks that
	// language).
	Direction string `yaml:"direction" json:"direction,omitempty"`
	// TokenScope is "generation" (the last prompt token and every generated
	// one) or "all" (every position).
	TokenScope string `yaml:"tokenScope" json:"tokenScope,omitempty"`
	// MaxTokens caps the answer's length in tokens.
	MaxTokens *int `yaml:"maxTokens" json:"maxTokens,omitempty"`
	// Temperature 0 is greedy decoding (deterministic).
	Temperature *float64 `yaml:"temperature" json:"temperature,omitempty"`
	// Seed of the sampler's random draw when Temperature > 0: a whole
	// number from 0 to MaxSeed. Unset draws a fresh random seed for every
	// request (as Ollama does); set, the same request gives the same answer.
	// Greedy decoding (temperature 0) ignores it.
	Seed *int64 `yaml:"seed" json:"seed,omitempty"`
	// PromptTemplate shapes the groupedResult prompt; see DefaultPromptTemplate
	// for its placeholders.
	PromptTemplate string `yaml:"promptTemplate" json:"promptTemplate,omitempty"`
	// AnswerLanguage is "auto" (the language detected in the question) or a
	// language: ISO 639-1 or 639-3 code, or English name ("de", "deu",
	// "German").
	AnswerLanguage string `yaml:"answerLanguage" json:"answerLanguage,omitempty"`
}

// OptionNames lists the option keys as users write them, in documentation
// order. Unknown keys in a class's moduleConfig are rejected with this list.
var OptionNames = []string{
	"model", "profile", "alphaAC", "alphaCL", "topK", "direction", "tokenScope",
	"maxTokens", "temperature", "seed", "promptTemplate", "answerLanguage",
}

// ProfileNone is the profile name that turns steering off explicitly.
const ProfileNone = "none"

// AnswerLanguageAuto answers in the language detected in the question.
const AnswerLanguageAuto = "auto"

// Built-in defaults: the best setting of the paper (K = 64, alpha = 20 for
// both attributes, probe directions) and the ITI token scope.
const (
	DefaultAlpha = 20.0
	// MaxAlpha bounds |alphaAC| and |alphaCL|. Alpha is in units of each
	// head's activation standard deviation (sigma): the paper's best is 20
	// and its F1 falls past 20; Gemma 3 270M's sweep (docs/) stays under
	// 40. Far past the bound the reader writes noise ("hhhh...") or, with
	// overflowing activations, nothing at all.
	MaxAlpha           = 100.0
	DefaultTopK        = 64
	DefaultMaxTokens   = 256
	DefaultTemperature = 0.0
	// MaxMaxTokens bounds maxTokens so that a typo cannot make a request run
	// for hours; the model's context is the real limit and is checked per
	// request.
	MaxMaxTokens = 32768
	// MaxTemperature bounds temperature; past it sampling is noise.
	MaxTemperature = 5.0
	// MaxSeed is the largest seed: the sampler's seed is a uint32.
	MaxSeed = math.MaxUint32
)

// BuiltinDefaults returns the options that apply where neither the ops file
// nor a class nor the query sets a field. Model and Profile stay unset: the
// default model is chosen by the ops file, and no profile means no steering.
func BuiltinDefaults() Options {
	return Options{
		AlphaAC:        ptr(DefaultAlpha),
		AlphaCL:        ptr(DefaultAlpha),
		TopK:           ptr(DefaultTopK),
		Direction:      string(profile.DefaultDirectionKind),
		TokenScope:     string(TokenScopeGeneration),
		MaxTokens:      ptr(DefaultMaxTokens),
		Temperature:    ptr(DefaultTemperature),
		PromptTemplate: DefaultPromptTemplate,
		AnswerLanguage: AnswerLanguageAuto,
	}
}

func ptr[T any](v T) *T { return &v }

// Merge returns o with every field that over sets replacing o's. It copies
// the numbers, so that the result shares no memory with either input.
func (o Options) Merge(over Options) Options {
	o = o.clone()
	over = over.clone()
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&o.Model, over.Model)
	str(&o.Profile, over.Profile)
	str(&o.Direction, over.Direction)
	str(&o.TokenScope, over.TokenScope)
	str(&o.PromptTemplate, over.PromptTemplate)
	str(&o.AnswerLanguage, over.AnswerLanguage)
	o.AlphaAC = cmp.Or(over.AlphaAC, o.AlphaAC)
	o.AlphaCL = cmp.Or(over.AlphaCL, o.AlphaCL)
	o.TopK = cmp.Or(over.TopK, o.TopK)
	o.MaxTokens = cmp.Or(over.MaxTokens, o.MaxTokens)
	o.Temperature = cmp.Or(over.Temperature, o.Temperature)
	o.Seed = cmp.Or(over.Seed, o.Seed)
	return o
}

func (o Options) clone() Options {
	o.AlphaAC = clonePtr(o.AlphaAC)
	o.AlphaCL = clonePtr(o.AlphaCL)
	o.TopK = clonePtr(o.TopK)
	o.MaxTokens = clonePtr(o.MaxTokens)
	o.Temperature = clonePtr(o.Temperature)
	o.Seed = clonePtr(o.Seed)
	return o
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptr(*p)
}

// IsZero reports whether no field is set.
func (o Options) IsZero() bool { return o == (Options{}) }

// Resolved is a complete, validated set of options: what one request runs
// with.
type Resolved struct {
	// Model is a configured model's name ("" only before the ops file picks
	// the default).
	Model string
	// Profile is a configured profile's name, or "" for no steering.
	Profile     string
	AlphaAC     float64
	AlphaCL     float64
	TopK        int
	Direction   profile.DirectionKind
	TokenScope  TokenScope
	MaxTokens   int
	Temperature float64
	// Seed is the sampler's seed; nil means unset: draw a fresh random
	// seed for this request.
	Seed           *uint32
	PromptTemplate string
	// AnswerLanguage is nil for "auto".
	AnswerLanguage *lingua.Language
}

// Steered reports whether the options ask for any steering at all.
func (r Resolved) Steered() bool {
	return r.Profile != "" && (r.AlphaAC != 0 || r.AlphaCL != 0)
}

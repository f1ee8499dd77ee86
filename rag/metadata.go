package rag

import (
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Metadata keys of one answer (the module's _additional.generate.asmr).
const (
	MetaModel              = "model"
	MetaProfile            = "profile"
	MetaSteered            = "steered"
	MetaSteeredHeads       = "steeredHeads"
	MetaAlphaAC            = "alphaAC"
	MetaAlphaCL            = "alphaCL"
	MetaTopK               = "topK"
	MetaDirection          = "direction"
	MetaTokenScope         = "tokenScope"
	MetaLanguage           = "language"
	MetaLanguageName       = "languageName"
	MetaLanguageConfidence = "languageConfidence"
	MetaLanguageDetected   = "languageDetected"
	MetaAnswerLanguage     = "answerLanguage"
	MetaPromptTokens       = "promptTokens"
	MetaCompletionTokens   = "completionTokens"
	MetaStopReason         = "stopReason"
	MetaPassagesGiven      = "passagesGiven"
	MetaPassagesUsed       = "passagesUsed"
	MetaPassagesCut        = "passagesCut"
	MetaPassageTruncated   = "passageTruncated"
	MetaPromptBudget       = "promptBudget"
	MetaDurationMs         = "durationMs"
	MetaPrefillMs          = "prefillMs"
	MetaDecodeMs           = "decodeMs"
	MetaWarnings           = "warnings"
	MetaSeed               = "seed"
)

// Metadata describes one answer: what answered, how it was steered, the
// language, the prompt and the generation.
type Metadata struct {
	// Model is the model's name; Profile the steering profile's, "" when
	// the request was not steered.
	Model, Profile string
	// SteeredHeads is the number of heads the intervention touched (0:
	// unsteered).
	SteeredHeads     int
	AlphaAC, AlphaCL float64
	TopK             int
	Direction        profile.DirectionKind
	TokenScope       config.TokenScope
	// Detection is the question's detected language.
	Detection Detection
	// AnswerLanguage is the name of the language the reader was told to
	// answer in (UnknownLanguage when neither fixed nor detected).
	AnswerLanguage string
	// PromptTokens and CompletionTokens are what the generation read and
	// wrote; StopReason why it ended.
	PromptTokens, CompletionTokens int
	StopReason                     steering.StopReason
	// PassagesGiven, PassagesUsed, PassagesCut, PassageTruncated and
	// PromptBudget are the prompt's (see Prompt).
	PassagesGiven, PassagesUsed, PassagesCut int
	PassageTruncated                         bool
	PromptBudget                             int
	// Duration is the whole request (the caller sets it: queue and load
	// waits are before Answer); Prefill and Decode the generation's.
	Duration, Prefill, Decode time.Duration
	// Warnings are the prompt's, the language choice's and the steering's
	// (direction language without the answer language's LANG.<code>).
	Warnings []string
	// Seed is the sampler's seed, given or drawn.
	Seed uint32
}

// Steered reports whether any head was steered.
func (m Metadata) Steered() bool { return m.SteeredHeads > 0 }

// Map is the metadata as the module reports it: the Meta* keys, with
// strings, ints, float64s (durations in milliseconds, the seed too), bools
// and a non-nil []string of warnings. language and languageName are ""
// when no language was detected.
func (m Metadata) Map() map[string]any {
	out := map[string]any{
		MetaModel:              m.Model,
		MetaProfile:            m.Profile,
		MetaSteered:            m.Steered(),
		MetaSteeredHeads:       m.SteeredHeads,
		MetaAlphaAC:            m.AlphaAC,
		MetaAlphaCL:            m.AlphaCL,
		MetaTopK:               m.TopK,
		MetaDirection:          string(m.Direction),
		MetaTokenScope:         string(m.TokenScope),
		MetaLanguageDetected:   m.Detection.OK,
		MetaLanguage:           "",
		MetaLanguageName:       "",
		MetaLanguageConfidence: m.Detection.Confidence,
		MetaAnswerLanguage:     m.AnswerLanguage,
		MetaPromptTokens:       m.PromptTokens,
		MetaCompletionTokens:   m.CompletionTokens,
		MetaStopReason:         string(m.StopReason),
		MetaPassagesGiven:      m.PassagesGiven,
		MetaPassagesUsed:       m.PassagesUsed,
		MetaPassagesCut:        m.PassagesCut,
		MetaPassageTruncated:   m.PassageTruncated,
		MetaPromptBudget:       m.PromptBudget,
		MetaDurationMs:         ms(m.Duration),
		MetaPrefillMs:          ms(m.Prefill),
		MetaDecodeMs:           ms(m.Decode),
		MetaWarnings:           m.Warnings,
		MetaSeed:               float64(m.Seed),
	}
	if m.Detection.OK {
		out[MetaLanguage] = config.LanguageCode(m.Detection.Language)
		out[MetaLanguageName] = m.Detection.Language.String()
	}
	if m.Warnings == nil {
		out[MetaWarnings] = []string{}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

package rag

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Reader is the model Answer generates with. *steering.Model implements it.
type Reader interface {
	Tokenizer
	// ContextSize is the model's context in tokens.
	ContextSize() int
	// Shape is the model's attention shape, that steering must fit.
	Shape() steering.Shape
	Generate(ctx context.Context, prompt string, p steering.Params) (*steering.Result, error)
}

// Request is one generation over a prompt that Prompt builds.
type Request struct {
	// Model names the reader's model, for errors and metadata.
	Model string
	// Prompt builds the prompt (SingleOf, GroupedOf).
	Prompt PromptFunc

	// Question is the text whose language is detected; Filled (the prompt
	// with its references filled in) is tried when Question alone is too
	// short to tell (Detector.DetectQuestion). Detector nil detects
	// nothing.
	Question, Filled string
	Detector         *Detector
	// AnswerLanguage fixes the answer's language; nil: the question's.
	AnswerLanguage *lingua.Language

	// MaxTokens caps the answer; MaxPromptTokens the prompt (0: only the
	// context does, see Budget).
	MaxTokens, MaxPromptTokens int
	Temperature                float64
	// Seed is the sampler's seed; nil draws a fresh one.
	Seed *uint32
	// Stop ends the answer at the first of these strings.
	Stop []string

	// Profile (nil when unsteered) steers as Steering says.
	Profile  *profile.Profile
	Steering Steering
}

// Result is an answer: the raw text, the prompt it answered and its
// metadata (Duration unset).
type Result struct {
	Text   string
	Prompt *Prompt
	Meta   Metadata
}

// GenerateError is a failure of the generation itself (not of the
// request's preparation), naming the model.
type GenerateError struct {
	Model string
	Err   error
}

func (e *GenerateError) Error() string { return fmt.Sprintf("model %q: %v", e.Model, e.Err) }
func (e *GenerateError) Unwrap() error { return e.Err }

// Prepared is a request made ready to generate: its prompt, and the
// language detection and answer language it was built with.
type Prepared struct {
	Prompt    *Prompt
	Detection Detection
	Language  AnswerLanguage
}

// Prepare runs the steps of Answer before the generation: the answer
// language (fixed, or detected in the question), the token budget and the
// prompt fitted to it, with the language warning added. Errors: the
// budget's (Budget) and the prompt's (prefixed `model "name": `).
func Prepare(r Reader, req Request) (*Prepared, error) {
	var det Detection
	var langWarning string
	if req.Detector != nil {
		det, langWarning = req.Detector.DetectQuestion(req.Question, req.Filled)
	}
	lang := ChooseLanguage(req.AnswerLanguage, det)

	budget, err := Budget(req.Model, r.ContextSize(), req.MaxTokens, req.MaxPromptTokens)
	if err != nil {
		return nil, err
	}
	p, err := req.Prompt(r, lang, budget)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", req.Model, err)
	}
	if langWarning != "" && req.AnswerLanguage == nil {
		p.Warnings = append(p.Warnings, langWarning)
	}
	return &Prepared{Prompt: p, Detection: det, Language: lang}, nil
}

// Answer runs the request path of one generation: Prepare (language,
// budget, prompt), the steering (ResolveSteer), the generation and its
// metadata. Errors: Prepare's, ResolveSteer's and a *GenerateError;
// steering.ErrNonFiniteLogits is explained as steering too strong.
func Answer(ctx context.Context, r Reader, req Request) (*Result, error) {
	prep, err := Prepare(r, req)
	if err != nil {
		return nil, err
	}
	p, det, lang := prep.Prompt, prep.Detection, prep.Language

	params := steering.Params{
		System:      p.System,
		Temperature: float32(req.Temperature),
		MaxTokens:   req.MaxTokens,
		Stop:        req.Stop,
		Seed:        rand.Uint32(), // unset: a fresh seed per request, as Ollama does
	}
	if req.Seed != nil {
		params.Seed = *req.Seed
	}
	st := req.Steering
	warnings := p.Warnings
	var steerWarning string
	if params.Steer, steerWarning, err = ResolveSteer(req.Profile, st, lang.Code, req.Model, r.Shape()); err != nil {
		return nil, err
	}
	if steerWarning != "" {
		warnings = append(slices.Clip(warnings), steerWarning)
	}

	res, err := r.Generate(ctx, p.User, params)
	if err != nil {
		if errors.Is(err, steering.ErrNonFiniteLogits) {
			err = fmt.Errorf("%w: the steering is too strong for this model; lower alphaAC (%g) and alphaCL (%g), or topK (%d)", err, st.AlphaAC, st.AlphaCL, st.TopK)
		}
		return nil, &GenerateError{Model: req.Model, Err: err}
	}

	meta := Metadata{
		Model: req.Model, SteeredHeads: res.SteeredHeads,
		AlphaAC: st.AlphaAC, AlphaCL: st.AlphaCL, TopK: st.TopK, Direction: st.Direction, TokenScope: st.Scope,
		Detection: det, AnswerLanguage: lang.Name,
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, StopReason: res.StopReason,
		PassagesGiven: p.PassagesGiven, PassagesUsed: p.PassagesUsed, PassagesCut: p.PassagesCut,
		PassageTruncated: p.Truncated, PromptBudget: p.Budget,
		Prefill: res.PrefillDuration, Decode: res.DecodeDuration,
		Warnings: warnings, Seed: params.Seed,
	}
	if st.Active() {
		meta.Profile = st.Profile
	}
	return &Result{Text: res.Text, Prompt: p, Meta: meta}, nil
}

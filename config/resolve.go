package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/profile"
)

// Resolve fills unset fields from BuiltinDefaults and validates every field.
// Names of models and profiles are checked against the ops file elsewhere
// (Ops.Resolve), since Options do not know it.
func (o Options) Resolve(where string) (Resolved, error) {
	r, ps := o.resolve()
	if len(ps) > 0 {
		return Resolved{}, OptionsError(where, ps)
	}
	return r, nil
}

// resolve is Resolve without the error: the fields it could read, and every
// problem, each as "<field>: <what is wrong and the fix>".
func (o Options) resolve() (Resolved, []string) {
	o = BuiltinDefaults().Merge(o)
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }

	r := Resolved{Model: strings.TrimSpace(o.Model)}
	if p := strings.TrimSpace(o.Profile); p != ProfileNone {
		r.Profile = p
	}
	alpha := func(name string, v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAlpha {
			add("%s: %v is outside -%v..%v (units of each head's sigma); give e.g. %v (the paper's best) or 0 to turn it off", name, v, MaxAlpha, MaxAlpha, DefaultAlpha)
			return 0
		}
		return v
	}
	r.AlphaAC = alpha("alphaAC", *o.AlphaAC)
	r.AlphaCL = alpha("alphaCL", *o.AlphaCL)
	r.TopK = *o.TopK
	if r.TopK < 0 {
		add("topK: %d is negative; give the number of heads to steer per attribute (%d in the paper) or 0 for every selected head", r.TopK, DefaultTopK)
	}
	d, err := profile.ParseDirectionKind(o.Direction)
	if err != nil {
		add("direction: %v", err)
	}
	r.Direction = d
	r.TokenScope, err = ParseTokenScope(o.TokenScope)
	if err != nil {
		add("tokenScope: %v", err)
	}
	r.MaxTokens = *o.MaxTokens
	if r.MaxTokens < 1 || r.MaxTokens > MaxMaxTokens {
		add("maxTokens: %d is out of range; give 1 to %d (it must also leave room for the prompt in the model's context)", r.MaxTokens, MaxMaxTokens)
	}
	r.Temperature = *o.Temperature
	if math.IsNaN(r.Temperature) || r.Temperature < 0 || r.Temperature > MaxTemperature {
		add("temperature: %v is out of range; give 0 (greedy, deterministic) to %v", r.Temperature, MaxTemperature)
	}
	if o.Seed != nil {
		if *o.Seed < 0 || *o.Seed > MaxSeed {
			add("%s", seedRangeProblem(fmt.Sprint(*o.Seed)))
		} else {
			r.Seed = ptr(uint32(*o.Seed))
		}
	}
	r.PromptTemplate = NormalizeTemplate(o.PromptTemplate)
	if err := CheckPromptTemplate(o.PromptTemplate); err != nil {
		add("promptTemplate: %v", err)
	}
	if lang := strings.TrimSpace(o.AnswerLanguage); !strings.EqualFold(lang, AnswerLanguageAuto) {
		l, err := ParseLanguage(lang)
		if err != nil {
			add("answerLanguage: %v; or %q for the language of the question", err, AnswerLanguageAuto)
		} else {
			r.AnswerLanguage = &l
		}
	}
	return r, ps
}

// seedRangeProblem is the problem of a seed outside 0..MaxSeed.
func seedRangeProblem(v string) string {
	return fmt.Sprintf("seed: %s is out of range; give 0 to %d (or leave it unset for a fresh random seed per request)", v, uint64(MaxSeed))
}

// Resolve merges the ops defaults, then each of layers in order (class,
// query), validates, fills in the default model, and checks that the model
// and profile are configured and that the profile has every attribute the
// options steer. where names the last layer for messages. Every problem is
// reported at once: bad values together with unknown names.
func (o *Ops) Resolve(where string, layers ...Options) (Resolved, error) {
	opts := o.Defaults
	for _, l := range layers {
		opts = opts.Merge(l)
	}
	r, ps := o.resolve(opts)
	if len(ps) > 0 {
		return Resolved{}, OptionsError(where, ps)
	}
	return r, nil
}

// resolve is Resolve of merged options, returning the problems.
func (o *Ops) resolve(opts Options) (Resolved, []string) {
	r, ps := opts.resolve()
	if r.Model == "" {
		r.Model = o.DefaultModel()
	}
	switch {
	case len(o.Models) == 0:
		ps = append(ps, fmt.Sprintf("model: no models are configured; name a GGUF file in the ops file (%s) or set %s", EnvConfig, EnvModelPath))
	case o.Models[r.Model] == nil:
		ps = append(ps, fmt.Sprintf("model: %q is not a configured model; the ops file has %s", r.Model, nameList(o.Models)))
	}
	if r.Profile != "" {
		pc := o.Profiles[r.Profile]
		if pc == nil {
			ps = append(ps, fmt.Sprintf("profile: %q is not a configured profile; the ops file has %s (or use %q for no steering)", r.Profile, nameList(o.Profiles), ProfileNone))
		} else if pc.Profile != nil {
			for _, a := range []struct {
				attr, field string
				alpha       float64
			}{{profile.AttributeAC, "alphaAC", r.AlphaAC}, {profile.AttributeCL, "alphaCL", r.AlphaCL}} {
				if a.alpha != 0 && pc.Profile.Attributes[a.attr] == nil {
					ps = append(ps, fmt.Sprintf("%s: %v, but profile %q has no %s attribute; set %s: 0 or use a profile probed for %s",
						a.field, a.alpha, r.Profile, a.attr, a.field, a.attr))
				}
			}
			if p := languageDirectionProblem(r, pc.Profile); p != "" {
				ps = append(ps, p)
			}
		}
	}
	return r, ps
}

// languageDirectionProblem is the problem of direction language with a
// profile (named r.Profile) that has no language attribute at all: it
// could only ever fall back to CL, so the option is a mistake, told where
// it is set (the ops defaults at load, a class's moduleConfig, a query)
// rather than as a warning on every answer. A profile with some languages
// is fine; a request for a language it lacks falls back to CL with a
// warning (steering.ProfileIntervention). Only the CL part uses the
// language attributes, so with alphaCL 0 nothing is wrong.
func languageDirectionProblem(r Resolved, p *profile.Profile) string {
	if r.Direction != profile.DirectionLanguage || r.AlphaCL == 0 || len(p.Languages()) > 0 {
		return ""
	}
	return fmt.Sprintf("direction: %s, but profile %q has no language attributes (%s<code>, e.g. %s); probe them with `asmr probe -attributes LANG` and merge them into the profile with `asmr profile merge` (profiles/README.md), or choose %s or %s",
		profile.DirectionLanguage, r.Profile, profile.LanguagePrefix, profile.LanguageAttribute("de"), profile.DirectionProbe, profile.DirectionMassMean)
}

// OptionsFromMap reads a class's moduleConfig like the package-level
// OptionsFromMap and checks it against this configuration as Resolve does
// (the model and profile it names, the attributes its profile must have),
// reporting every problem of the map at once: a wrong type does not hide an
// unknown model. It returns the class's options, to be merged with a
// query's.
func (o *Ops) OptionsFromMap(m map[string]any, where string) (Options, error) {
	opts, ps := optionsFromMap(m)
	_, rps := o.resolve(o.Defaults.Merge(opts))
	for _, p := range rps {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return Options{}, OptionsError(where, ps)
	}
	return opts, nil
}

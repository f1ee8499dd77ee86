package steering

import (
	"fmt"
	"strings"

	"github.com/asmr-search/generative-asmr/profile"
)

// ProfileIntervention turns a steering profile into steering vectors:
// alphaAC times the AC shifts plus alphaCL times the CL shifts, each over
// its best topK heads (0 = all), along the chosen direction kind.
// Attributes the profile lacks are skipped only when their alpha is 0.
//
// With profile.DirectionLanguage, lang (the answer language's ISO 639-1
// code, "" when unknown) chooses the CL part: the mass-mean directions of
// attribute LANG.<lang> on the topK heads that CL ranks best (LANG's own
// ranking is useless: most heads tell languages apart perfectly); the AC
// part takes AC's
// mass-mean directions. When lang is unknown or the profile has no
// LANG.<lang>, the CL part falls back to CL's mass-mean directions and
// warning says so, naming the language and the languages the profile has.
// Other kinds ignore lang.
func ProfileIntervention(p *profile.Profile, kind profile.DirectionKind, lang string, alphaAC, alphaCL float64, topK int) (iv Intervention, warning string, err error) {
	acKind, clKind, clAttr := kind, kind, profile.AttributeCL
	if kind == profile.DirectionLanguage {
		acKind, clKind = profile.DirectionMassMean, profile.DirectionMassMean
		if alphaCL != 0 {
			clAttr, warning = languageAttribute(p, lang)
		}
	}
	iv = Intervention{}
	for _, a := range []struct {
		name  string
		kind  profile.DirectionKind
		alpha float64
	}{{profile.AttributeAC, acKind, alphaAC}, {clAttr, clKind, alphaCL}} {
		if a.alpha == 0 {
			continue
		}
		// The language direction steers the heads CL ranks best.
		shifts, err := p.ShiftsOn(a.name, selectBy(a.name), a.kind, a.alpha, topK)
		if err != nil {
			return nil, "", err
		}
		for _, s := range shifts {
			iv.Add(s.Layer, s.Head, s.Vector)
		}
	}
	return iv, warning, nil
}

// selectBy is the attribute whose ranking chooses attr's heads: CL's for
// a language attribute LANG.<code> (most heads tell languages apart
// perfectly, so LANG's own ranking is a tie broken by layer order, which
// would steer layer 0), attr's own otherwise.
func selectBy(attr string) string {
	if strings.HasPrefix(attr, profile.LanguagePrefix) {
		return profile.AttributeCL
	}
	return attr
}

// languageAttribute is the attribute that steers CL for the answer
// language lang under profile.DirectionLanguage: LANG.<lang> when p has
// it, else CL with a warning.
func languageAttribute(p *profile.Profile, lang string) (attr, warning string) {
	have := "no language attributes"
	if langs := p.Languages(); len(langs) > 0 {
		have = "language attributes for " + strings.Join(langs, " ")
	}
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "" {
		return profile.AttributeCL, fmt.Sprintf("direction %s: the answer language is unknown, so CL was steered along its %s directions (the profile has %s); set answerLanguage to steer a language",
			profile.DirectionLanguage, profile.DirectionMassMean, have)
	}
	name := profile.LanguageAttribute(lang)
	if a, ok := p.Attributes[name]; ok && a != nil {
		return name, ""
	}
	return profile.AttributeCL, fmt.Sprintf("direction %s: the profile has no %s for the answer language %s, so CL was steered along its %s directions (the profile has %s); probe it with asmr probe -attributes LANG -lang-languages %s and merge it in",
		profile.DirectionLanguage, name, lang, profile.DirectionMassMean, have, lang)
}

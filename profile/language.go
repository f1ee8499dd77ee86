package profile

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// LanguagePrefix starts the name of a language attribute: "LANG.<code>",
// <code> an ISO 639-1 code in lower case ("LANG.de"). Its desired class is
// a sentence in that language, its other class sentences in other
// languages, so its mass-mean direction is the mean activation of the
// language minus the mean of the others: the direction that
// DirectionLanguage steers the CL part along when the answer language is
// <code>.
const LanguagePrefix = "LANG."

// languageAttributeName is a language attribute's whole name.
var languageAttributeName = regexp.MustCompile(`^LANG\.[a-z]{2}$`)

// LanguageAttribute is the name of the language attribute of code (an ISO
// 639-1 code, any case): "de" gives "LANG.de".
func LanguageAttribute(code string) string {
	return LanguagePrefix + strings.ToLower(strings.TrimSpace(code))
}

// LanguageOfAttribute returns the language code of a language attribute's
// name ("LANG.de" gives "de", true); ok is false for any other name.
func LanguageOfAttribute(name string) (code string, ok bool) {
	if !languageAttributeName.MatchString(name) {
		return "", false
	}
	return strings.TrimPrefix(name, LanguagePrefix), true
}

// LanguageDesired is the Desired text of the language attribute of code.
func LanguageDesired(code string) string {
	return "the sentence is in language " + code + " (the other class: sentences in other languages)"
}

// Languages lists the codes of the profile's language attributes, sorted;
// nil when it has none.
func (p *Profile) Languages() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		if code, ok := LanguageOfAttribute(name); ok && p.Attributes[name] != nil {
			out = append(out, code)
		}
	}
	return out
}

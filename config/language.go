package config

import (
	"fmt"
	"strings"

	"github.com/pemistahl/lingua-go"
)

// ParseLanguage reads a language as users write it: an ISO 639-1 code
// ("de"), an ISO 639-3 code ("deu") or lingua's English name ("German"),
// in any letter case.
func ParseLanguage(s string) (lingua.Language, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return lingua.Unknown, fmt.Errorf("empty language; give an ISO 639-1 code such as \"de\" or a name such as \"German\"")
	}
	if c := lingua.GetIsoCode639_1FromValue(t); c != lingua.UnknownIsoCode639_1 {
		return lingua.GetLanguageFromIsoCode639_1(c), nil
	}
	if c := lingua.GetIsoCode639_3FromValue(t); c != lingua.UnknownIsoCode639_3 {
		return lingua.GetLanguageFromIsoCode639_3(c), nil
	}
	for _, l := range lingua.AllLanguages() {
		if strings.EqualFold(l.String(), t) {
			return l, nil
		}
	}
	return lingua.Unknown, fmt.Errorf("unknown language %q; give an ISO 639-1 code such as \"de\" or a name such as \"German\"", s)
}

// LanguageCode is the ISO 639-1 code of l in lower case ("de").
func LanguageCode(l lingua.Language) string {
	return strings.ToLower(l.IsoCode639_1().String())
}

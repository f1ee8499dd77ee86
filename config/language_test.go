package config

import (
	"testing"

	"github.com/pemistahl/lingua-go"
)

func TestParseLanguage(t *testing.T) {
	for in, want := range map[string]lingua.Language{
		"de": lingua.German, "DE": lingua.German, "deu": lingua.German, "german": lingua.German,
		"zh": lingua.Chinese, "Japanese": lingua.Japanese, "te": lingua.Telugu, " ko ": lingua.Korean,
	} {
		got, err := ParseLanguage(in)
		if err != nil || got != want {
			t.Errorf("ParseLanguage(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xx", "Klingon"} {
		if _, err := ParseLanguage(bad); err == nil {
			t.Errorf("ParseLanguage(%q) accepted", bad)
		}
	}
	if LanguageCode(lingua.Bengali) != "bn" {
		t.Error("LanguageCode")
	}
}

package config

import (
	"strings"
	"testing"
)

func TestCheckPromptTemplate(t *testing.T) {
	if err := CheckPromptTemplate(DefaultPromptTemplate); err != nil {
		t.Error(err)
	}
	if err := CheckPromptTemplate("{{ passages }}\n{{question}} in {{language}}"); err != nil {
		t.Errorf("spaces inside braces: %v", err)
	}
	for tmpl, want := range map[string]string{
		"":                                "empty",
		"{{question}}":                    "missing {{passages}}",
		"{{passages}} {{question}} {{x}}": "unknown placeholder {{x}}",
	} {
		if err := CheckPromptTemplate(tmpl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPromptTemplate(%q) = %v; want %q", tmpl, err, want)
		}
	}
}

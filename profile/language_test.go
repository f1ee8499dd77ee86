package profile

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// langProfile is tinyProfile with language attributes LANG.de and LANG.ru.
func langProfile() *Profile {
	p := tinyProfile()
	r := rand.New(rand.NewPCG(3, 4))
	for _, code := range []string{"de", "ru"} {
		p.Attributes[LanguageAttribute(code)] = tinyAttribute(r, p.Model, LanguageDesired(code),
			"synthetic sentences in "+code+" vs other languages", 3)
	}
	return p
}

func TestLanguageAttributeNames(t *testing.T) {
	if got := LanguageAttribute(" DE "); got != "LANG.de" {
		t.Errorf("LanguageAttribute(DE) = %q", got)
	}
	for name, want := range map[string]string{"LANG.de": "de", "LANG.zh": "zh"} {
		if code, ok := LanguageOfAttribute(name); !ok || code != want {
			t.Errorf("LanguageOfAttribute(%q) = %q, %v", name, code, ok)
		}
	}
	for _, name := range []string{"LANG.", "LANG.DE", "LANG.deu", "lang.de", "CL", "AC", "LANG.d"} {
		if code, ok := LanguageOfAttribute(name); ok {
			t.Errorf("LanguageOfAttribute(%q) = %q, true; want false", name, code)
		}
	}
	if got := langProfile().Languages(); !slices.Equal(got, []string{"de", "ru"}) {
		t.Errorf("Languages() = %v", got)
	}
	if got := tinyProfile().Languages(); got != nil {
		t.Errorf("Languages() of a profile without language attributes = %v", got)
	}
}

// A profile with LANG.* attributes validates, saves, loads back equal,
// merges with AC/CL of the same model and is summarised.
func TestLanguageProfileRoundTrip(t *testing.T) {
	p := langProfile()
	path := filepath.Join(t.TempDir(), "lang.yaml")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatal("profile with LANG.* attributes does not load back equal")
	}
	if got := back.Languages(); !slices.Equal(got, []string{"de", "ru"}) {
		t.Errorf("loaded Languages() = %v", got)
	}

	// Merge a LANG-only profile into an AC/CL one: AC and CL unchanged.
	base := tinyProfile()
	langOnly := cloneProfile(p)
	delete(langOnly.Attributes, AttributeAC)
	delete(langOnly.Attributes, AttributeCL)
	m, err := Merge(base, langOnly)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Attributes, p.Attributes) {
		t.Fatal("merged attributes differ")
	}
	if m.SignConvention != DefaultSignConvention || m.CreatedBy != base.CreatedBy {
		t.Errorf("merge changed signConvention %q or createdBy %q", m.SignConvention, m.CreatedBy)
	}
	// Merging twice refuses the repeated language attribute.
	if _, err := Merge(m, langOnly); err == nil || !strings.Contains(err.Error(), `"LANG.de"`) {
		t.Errorf("merging LANG.de twice: %v", err)
	}

	s := p.Summary()
	for _, w := range []string{"languages:   de ru", "attribute LANG.de (desired: the sentence is in language de", "attribute LANG.ru"} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
}

func TestLanguageAttributeNameValidation(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"LANG.DE", `language attribute name "LANG.DE" must be LANG.<ISO 639-1 code in lower case>, e.g. LANG.de`},
		{"LANG.deu", `language attribute name "LANG.deu"`},
		{"Lang.de", `language attribute name "Lang.de"`},
		{"FOO.de", `attribute name "FOO.de" must be a letter`},
	} {
		p := tinyProfile()
		p.Attributes[c.name] = p.Attributes[AttributeAC].clone()
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "attributes."+c.name+": "+strings.TrimPrefix(c.want, "")) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
	p := tinyProfile()
	p.Attributes["LANG.el"] = p.Attributes[AttributeAC].clone()
	if err := p.Validate(); err != nil {
		t.Errorf("LANG.el: %v", err)
	}
}

func TestLanguageKindIsNotStored(t *testing.T) {
	p := langProfile()
	_, err := p.Shifts(LanguageAttribute("de"), DirectionLanguage, 1, 0)
	if err == nil || !strings.Contains(err.Error(), "answer language") {
		t.Errorf("Shifts(language): %v", err)
	}
	h := p.Attributes[AttributeAC].Heads[0]
	if _, err := h.DirectionOf(DirectionLanguage); err == nil {
		t.Error("DirectionOf(language) gave a direction")
	}
}

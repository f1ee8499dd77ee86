package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
)

func TestDirectionLanguageOption(t *testing.T) {
	r, err := Options{Direction: "language"}.Resolve("query")
	if err != nil || r.Direction != profile.DirectionLanguage {
		t.Errorf("direction language: %+v, %v", r.Direction, err)
	}
	_, err = Options{Direction: "sideways"}.Resolve("query")
	if err == nil || !strings.Contains(err.Error(), `direction: unknown direction kind "sideways": want "probe", "mass-mean" or "language"`) {
		t.Errorf("direction sideways: %v", err)
	}
	o, err := OptionsFromMap(map[string]any{"direction": "language"}, "class moduleConfig")
	if err != nil || o.Direction != "language" {
		t.Errorf("OptionsFromMap: %+v, %v", o, err)
	}
}

// languageProfileFile writes the tiny profile, with language attributes
// for langs (copies of its CL attribute), into dir as p.yaml.
func languageProfileFile(t *testing.T, dir string, langs ...string) {
	t.Helper()
	p, err := profile.Load(tinyProfileFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range langs {
		p.Attributes[profile.LanguageAttribute(code)] = p.Attributes[profile.AttributeCL]
	}
	if err := p.Save(filepath.Join(dir, "p.yaml")); err != nil {
		t.Fatal(err)
	}
}

const opsWithProfile = "models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: p.yaml}\n"

// direction language with a profile that has no language attribute is an
// error where it is set: the ops defaults at load, a class, a query.
func TestDirectionLanguageNeedsLanguageAttributes(t *testing.T) {
	dir := t.TempDir()
	languageProfileFile(t, dir)
	_, err := ParseOps([]byte(opsWithProfile+"defaults:\n  profile: p\n  direction: language\n"), filepath.Join(dir, "ops.yaml"))
	wantProblems(t, err, `defaults.direction (line 7): language, but profile "p" has no language attributes (LANG.<code>, e.g. LANG.de); probe them with `+"`asmr probe -attributes LANG`")

	ops, err := ParseOps([]byte(opsWithProfile+"defaults:\n  profile: p\n"), filepath.Join(dir, "ops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.OptionsFromMap(map[string]any{"direction": "language"}, "class moduleConfig")
	wantProblems(t, err, `direction: language, but profile "p" has no language attributes`)
	_, err = ops.Resolve("query asmr options", Options{Direction: "language"})
	wantProblems(t, err, `direction: language, but profile "p" has no language attributes`)
	// Without CL steering the language attributes are not used.
	zero := 0.0
	if _, err := ops.Resolve("query asmr options", Options{Direction: "language", AlphaCL: &zero, AlphaAC: ptr(4.0)}); err != nil {
		t.Errorf("alphaCL 0: %v", err)
	}
}

// A profile with some language attributes is accepted everywhere; the
// languages it lacks fall back per request (steering.ProfileIntervention).
func TestDirectionLanguageWithLanguageAttributes(t *testing.T) {
	dir := t.TempDir()
	languageProfileFile(t, dir, "de")
	ops, err := ParseOps([]byte(opsWithProfile+"defaults:\n  profile: p\n  direction: language\n"), filepath.Join(dir, "ops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ops.Resolve("query asmr options")
	if err != nil || r.Direction != profile.DirectionLanguage || r.Profile != "p" {
		t.Errorf("resolve: %+v, %v", r, err)
	}
	if _, err := ops.OptionsFromMap(map[string]any{"direction": "language"}, "class moduleConfig"); err != nil {
		t.Errorf("class: %v", err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
)

// attributeBlock is the YAML text of one attribute of a saved profile:
// from its key line under `attributes:` to the next attribute's.
func attributeBlock(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n  "+name+":\n")
	if i < 0 {
		t.Fatalf("%s has no attribute %s", path, name)
	}
	rest := text[i+1:]
	end := len(rest)
	for _, line := range strings.SplitAfter(rest, "\n")[1:] {
		if len(line) > 2 && line[:2] == "  " && line[2] != ' ' {
			end = strings.Index(rest, line)
			break
		}
	}
	return rest[:end]
}

// The language attributes are probed on their own (asmr probe -attributes
// LANG) and merged into an existing profile, leaving its attributes
// byte-identical; bake steers toward one language.
func TestProbeLanguageAttributesAndMerge(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	capture(t, runGenModel, "-o", model, "-shape", "tiny", "-seed", "3")
	base := filepath.Join(dir, "base.yaml")
	capture(t, runProbe, "-model", model, "-o", base, "-attributes", "CL", "-ctx", "1024", "-same", "60", "-different", "60", "-top-k", "6", "-quiet")
	clBefore := attributeBlock(t, base, "CL")

	langs := filepath.Join(dir, "lang.yaml")
	out := capture(t, runProbe, "-model", model, "-o", langs, "-attributes", "LANG", "-lang-languages", "de,th,zh",
		"-lang-per-language", "12", "-ctx", "1024", "-top-k", "4", "-quiet")
	for _, want := range []string{"36 sentences captured once for 3 languages", "LANG.de: 12 sentences in de (desired) vs 12 in the 2 other languages (th 6, zh 6)", "LANG.zh:", "wrote"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lang-LANG.th-heatmap.png")); err != nil {
		t.Error(err)
	}
	p, err := profile.Load(langs)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Languages(); !slices.Equal(got, []string{"de", "th", "zh"}) || p.Attributes[profile.AttributeCL] != nil {
		t.Fatalf("LANG profile: languages %v, attributes %d", got, len(p.Attributes))
	}

	// Merge into the base profile in place: CL unchanged byte for byte.
	capture(t, runProfile, "merge", "-o", base, base, langs)
	if after := attributeBlock(t, base, "CL"); after != clBefore {
		t.Errorf("merging changed CL:\n%s\nwas\n%s", after, clBefore)
	}
	merged, err := profile.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	if got := merged.Languages(); !slices.Equal(got, []string{"de", "th", "zh"}) {
		t.Fatalf("merged languages %v", got)
	}
	if show := capture(t, runProfile, "show", base); !strings.Contains(show, "languages:   de th zh") {
		t.Errorf("profile show:\n%s", show)
	}
	deBefore := attributeBlock(t, base, "LANG.de")

	// Probed again (another seed), the languages replace the old ones with
	// merge -replace; without it, merging them twice is an error.
	capture(t, runProbe, "-model", model, "-o", langs, "-attributes", "LANG", "-lang-languages", "de,th",
		"-lang-per-language", "12", "-ctx", "1024", "-top-k", "4", "-seed", "2", "-quiet")
	if err := runProfile(t.Context(), []string{"merge", "-o", base, base, langs}); err == nil || !strings.Contains(err.Error(), `attribute "LANG.de" is defined by both`) {
		t.Fatalf("merge without -replace: %v", err)
	}
	out = capture(t, runProfile, "merge", "-replace", "-o", base, base, langs)
	if !strings.Contains(out, "with attributes CL LANG.de LANG.th LANG.zh") {
		t.Errorf("merge -replace: %s", out)
	}
	if after := attributeBlock(t, base, "CL"); after != clBefore {
		t.Error("merge -replace changed CL")
	}
	if attributeBlock(t, base, "LANG.de") == deBefore || attributeBlock(t, base, "LANG.zh") == "" {
		t.Error("merge -replace kept the old LANG.de or lost LANG.zh")
	}

	out = capture(t, runBake, "-model", model, "-profile", base, "-alpha-cl", "4", "-direction", "language", "-language", "ru", "-o", filepath.Join(dir, "baked.gguf"))
	if !strings.Contains(out, "warning: profile "+base+": direction language: the profile has no LANG.ru") {
		t.Errorf("bake toward a missing language:\n%s", out)
	}
	if err := runBake(t.Context(), []string{"-model", model, "-profile", base, "-alpha-cl", "4", "-direction", "language", "-o", filepath.Join(dir, "b.gguf")}); err == nil || !strings.Contains(err.Error(), "-direction language needs -language") {
		t.Errorf("bake without -language: %v", err)
	}
}

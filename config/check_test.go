package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
)

func TestValidationNamesFieldsAndFixes(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	_, err := ParseOps([]byte(`
models:
  a: {path: a.gguf, ollama: "llama3.2:1b", kvCacheType: f8, gpuLayers: -2, slots: 600, batchSize: 1024}
  b: {threads: -1, slots: 200, batchSize: 200}
profiles:
  p: {path: p.yaml, model: c}
  q: {path: missing.yaml}
  none: {path: p.yaml}
defaults:
  model: x
  profile: y
  direction: up
  tokenScope: some
  maxTokens: 0
  answerLanguage: klingon
  promptTemplate: "{{question}} {{context}}"
limits: {queueLength: -1, maxPassages: -3}
languages: [de, xx, German]
languageDetection: {accuracy: medium}
`), filepath.Join(dir, "ops.yaml"))
	wantProblems(t, err,
		"models.a (line 3): path and ollama are both set",
		`models.a.kvCacheType (line 3): "f8"`,
		"models.a.gpuLayers (line 3): -2",
		"models.a.slots (line 3): 600; llama.cpp decodes at most 256 sequences in one context: give 256 or fewer",
		"models.b (line 4): give path:",
		"models.b.threads (line 4): -1",
		"models.b.slots (line 4): 200 slots need a batchSize above them (batchSize 200)",
		`profiles.p.model (line 6): "c" is not a configured model (have: a, b)`,
		"profiles.q.path (line 7): load profile",
		`profiles.none (line 8): "none" is reserved`,
		`defaults.model (line 10): "x" is not a configured model`,
		`defaults.profile (line 11): "y" is not a configured profile`,
		`defaults.direction (line 12): unknown direction kind "up"`,
		`defaults.tokenScope (line 13): "some" is not a scope`,
		"defaults.maxTokens (line 14): 0 is out of range",
		`defaults.answerLanguage (line 15): unknown language "klingon"`,
		"defaults.promptTemplate (line 16): unknown placeholder {{context}}",
		"limits.queueLength (line 17): -1",
		"limits.maxPassages (line 17): -3",
		`languages[1] (line 18): unknown language "xx"`,
		"languages[2] (line 18): German repeats languages[0]",
		`languageDetection.accuracy (line 19): "medium"`,
	)
}

func TestSeveralModelsNeedADefault(t *testing.T) {
	_, err := ParseOps([]byte("models:\n  a: {path: a.gguf}\n  b: {path: b.gguf}\n"), "")
	wantProblems(t, err, "defaults.model: 2 models are configured (a, b); name the default one")
	ops, err := ParseOps([]byte("models:\n  a: {path: a.gguf}\n  b: {path: b.gguf}\ndefaults: {model: b}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if ops.DefaultModel() != "b" {
		t.Errorf("default model %q", ops.DefaultModel())
	}
}

func TestInlineProfile(t *testing.T) {
	data, err := os.ReadFile(tinyProfileFile)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("models:\n  tiny: {path: /m/tiny.gguf}\nprofiles:\n  tiny:\n    model: tiny\n    inline:\n")
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		b.WriteString("      " + line + "\n")
	}
	ops, err := ParseOps([]byte(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	p := ops.Profiles["tiny"].Profile
	if p == nil || p.Model.Heads != 4 || p.Attributes[profile.AttributeAC] == nil {
		t.Fatalf("inline profile: %+v", p)
	}
	// A broken inline profile is reported under its key path.
	broken := strings.Replace(b.String(), "version: 1", "version: 7", 1)
	_, err = ParseOps([]byte(broken), "")
	wantProblems(t, err, "profiles.tiny.inline (from line 8)", "version")
}

func TestSeedInOpsDefaults(t *testing.T) {
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\ndefaults: {seed: 7}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ops.Resolve("q")
	if err != nil || r.Seed == nil || *r.Seed != 7 {
		t.Errorf("defaults.seed: %v %v", r.Seed, err)
	}
	_, err = ParseOps([]byte("models:\n  m: {path: m.gguf}\ndefaults:\n  seed: 5000000000\n"), "")
	wantProblems(t, err, "defaults.seed (line 4): 5000000000 is out of range; give 0 to 4294967295")
}

// A default profile must have an attribute for each default alpha: else
// the file is accepted and every request fails.
func TestDefaultsMustResolve(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(tinyProfileFile)
	if err != nil {
		t.Fatal(err)
	}
	// Keep only the AC attribute.
	prof, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	delete(prof.Attributes, profile.AttributeCL)
	if err := prof.Save(filepath.Join(dir, "ac.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err = ParseOps([]byte("models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: ac.yaml}\ndefaults:\n  profile: p\n"), filepath.Join(dir, "ops.yaml"))
	wantProblems(t, err, `defaults.alphaCL: 20, but profile "p" has no CL attribute; set alphaCL: 0`)
	if _, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: ac.yaml}\ndefaults:\n  profile: p\n  alphaCL: 0\n"), filepath.Join(dir, "ops.yaml")); err != nil {
		t.Error(err)
	}
}

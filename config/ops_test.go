package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

// tinyProfileFile is the steering profile of the tests (3 layers x 4 heads
// x d_h 32, attributes AC and CL): package profile's fixture.
const tinyProfileFile = "../profile/testdata/profile-tiny.yaml"

// env returns a lookup function over m, so that tests do not depend on the
// process environment.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
}

// wantProblems checks that err is a *problems.Error whose problems contain
// each of the fragments (one problem may match several).
func wantProblems(t *testing.T, err error, fragments ...string) {
	t.Helper()
	var ce *problems.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a *problems.Error, got %T: %v", err, err)
	}
	all := strings.Join(ce.Problems, "\n")
	for _, f := range fragments {
		if !strings.Contains(all, f) {
			t.Errorf("problems do not mention %q:\n%s", f, all)
		}
	}
}

func TestNoConfigFileGivesDefaultsWithoutModels(t *testing.T) {
	ops, err := LoadOpsWithEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.Models) != 0 || ops.DefaultModel() != "" {
		t.Errorf("models %v, default %q; want none", ops.Models, ops.DefaultModel())
	}
	if got := strings.Join(ops.Languages, " "); got != strings.Join(DefaultLanguages, " ") {
		t.Errorf("languages %q", got)
	}
	if ops.Limits.EffectiveQueueLength() != DefaultQueueLength || ops.Limits.EffectiveRequestTimeout() != DefaultRequestTimeout ||
		ops.Limits.EffectiveMaxPassages() != DefaultMaxPassages {
		t.Errorf("limits %+v", ops.Limits)
	}
	// Using it fails clearly: no models.
	_, err = ops.Resolve("query asmr options")
	if err == nil || !strings.Contains(err.Error(), "no models are configured") || !strings.Contains(err.Error(), EnvConfig) {
		t.Errorf("Resolve without models: %v", err)
	}
}

func TestExamplesParse(t *testing.T) {
	// asmr.yaml refers to models/ and profiles/ beside it; give it a profile
	// (model files are only opened by the module).
	dir := t.TempDir()
	copyFile(t, "../examples/asmr.yaml", filepath.Join(dir, "asmr.yaml"))
	copyFile(t, tinyProfileFile, filepath.Join(dir, "profiles", "reader.yaml"))
	ops, err := LoadOps(filepath.Join(dir, "asmr.yaml"))
	if err != nil {
		t.Fatalf("examples/asmr.yaml: %v", err)
	}
	m := ops.Models["reader"]
	if m == nil || m.Path != filepath.Join(dir, "models", "reader.gguf") || m.Threads != 8 || m.Slots != 2 || m.FlashAttention != FlashAttentionAuto || !m.PreloadEnabled() {
		t.Errorf("reader model: %+v", m)
	}
	if p := ops.Profiles["reader-asmr"]; p == nil || p.Profile == nil || p.Model != "reader" {
		t.Errorf("profile: %+v", p)
	}
	r, err := ops.Resolve("test")
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "reader" || r.Profile != "reader-asmr" || r.AlphaAC != 20 || r.TopK != 64 || r.PromptTemplate != DefaultPromptTemplate {
		t.Errorf("resolved defaults: %+v", r)
	}
	if ops.Limits.EffectiveRequestTimeout() != 2*time.Minute || ops.Limits.EffectiveQueueLength() != 64 {
		t.Errorf("limits: %+v", ops.Limits)
	}

	ops, err = LoadOps("../examples/asmr-ollama.yaml")
	if err != nil {
		t.Fatalf("examples/asmr-ollama.yaml: %v", err)
	}
	if m := ops.Models["llama"]; m == nil || m.Ollama != "llama3.2:1b" || m.Source() != "llama3.2:1b" || ops.DefaultModel() != "llama" {
		t.Errorf("ollama model: %+v", m)
	}
	if ops.Limits.EffectiveRequestTimeout() != 90*time.Second || ops.Limits.EffectiveQueueLength() != 16 {
		t.Errorf("limits: %+v", ops.Limits)
	}

	ops, err = LoadOps("../examples/asmr-tiny.yaml")
	if err != nil {
		t.Fatalf("examples/asmr-tiny.yaml: %v", err)
	}
	if p := ops.Profiles["tiny"]; p == nil || p.Profile == nil || p.Profile.Model.Layers != 3 {
		t.Errorf("tiny profile: %+v", p)
	}
}

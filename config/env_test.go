package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

func TestEnvOverrides(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ops.yaml"), "models:\n  m: {path: m.gguf, threads: 4}\n")
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	ops, err := LoadOpsWithEnv(env(map[string]string{
		EnvConfig:         cfg,
		EnvModelPath:      filepath.Join(dir, "other.gguf"),
		EnvProfilePath:    filepath.Join(dir, "p.yaml"),
		EnvThreads:        "3",
		EnvSlots:          "2",
		EnvContextSize:    "1024",
		EnvGPULayers:      "-1",
		EnvQueueLength:    "0",
		EnvRequestTimeout: "45s",
		EnvMaxPassages:    "5",
		EnvMaxPrompt:      "700",
		EnvLanguages:      "de, en ,fr",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := ops.Models["m"]
	if m.Path != filepath.Join(dir, "other.gguf") || m.Threads != 3 || m.Slots != 2 || m.ContextSize != 1024 || m.GPULayers != -1 {
		t.Errorf("model after env: %+v", m)
	}
	if ops.Defaults.Profile != DefaultProfileName || ops.Profiles[DefaultProfileName].Profile == nil {
		t.Errorf("profile after env: %q %+v", ops.Defaults.Profile, ops.Profiles)
	}
	l := ops.Limits
	if l.EffectiveQueueLength() != 0 || l.EffectiveRequestTimeout() != 45*time.Second || l.MaxPassages != 5 || l.MaxPromptTokens != 700 {
		t.Errorf("limits after env: %+v", l)
	}
	if strings.Join(ops.Languages, ",") != "de,en,fr" {
		t.Errorf("languages %q", ops.Languages)
	}

	// Without a file, ASMR_MODEL_PATH alone makes a usable configuration.
	ops, err = LoadOpsWithEnv(env(map[string]string{EnvModelPath: "/models/x.gguf"}))
	if err != nil {
		t.Fatal(err)
	}
	if ops.DefaultModel() != DefaultModelName || ops.Models[DefaultModelName].Path != "/models/x.gguf" {
		t.Errorf("env-only model: %+v", ops.Models)
	}
	ops, err = LoadOpsWithEnv(env(map[string]string{EnvOllamaModel: "llama3.2:1b"}))
	if err != nil || ops.Models[DefaultModelName].Ollama != "llama3.2:1b" {
		t.Errorf("env-only ollama model: %v %+v", err, ops)
	}

	// Bad env values name the variable.
	_, err = LoadOpsWithEnv(env(map[string]string{EnvSlots: "zero", EnvRequestTimeout: "soon", EnvModelPath: "a", EnvOllamaModel: "b"}))
	wantProblems(t, err, `ASMR_SLOTS="zero"`, `ASMR_REQUEST_TIMEOUT="soon"`, "ASMR_MODEL_PATH and ASMR_OLLAMA_MODEL are both set")
	_, err = LoadOpsWithEnv(env(map[string]string{EnvConfig: filepath.Join(dir, "missing.yaml")}))
	if err == nil || !strings.Contains(err.Error(), EnvConfig) {
		t.Errorf("missing config file: %v", err)
	}
}

// Every bad env variable is reported at once, together with the file's
// problems, and a problem of a value that came from the environment names
// its variable.
func TestEnvReportsEveryBadVariable(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ops.yaml"), "models:\n  m: {path: m.gguf}\n")
	_, err := LoadOpsWithEnv(env(map[string]string{
		EnvConfig:      cfg,
		EnvSlots:       "zero",
		EnvContextSize: "10",
		EnvLanguages:   "de,xx",
	}))
	wantProblems(t, err,
		`ASMR_SLOTS="zero": want a whole number >= 1`,
		`models.m.contextSize (from ASMR_CONTEXT_SIZE): 10; give 0 (4096) or at least 64 tokens`,
		`languages[1] (from ASMR_LANGUAGES): unknown language "xx"`,
	)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 3 {
		t.Errorf("want 3 problems, got %d:\n%s", len(ce.Problems), strings.Join(ce.Problems, "\n"))
	}

	// A broken file and a broken environment: both at once.
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "models:\n  m: {path: m.gguf, thread: 2}\n")
	_, err = LoadOpsWithEnv(env(map[string]string{EnvConfig: bad, EnvQueueLength: "-3", EnvRequestTimeout: "soon"}))
	wantProblems(t, err,
		`models.m.thread (line 2): unknown key`,
		`ASMR_QUEUE_LENGTH="-3": want a whole number >= 0`,
		`ASMR_REQUEST_TIMEOUT="soon"`,
	)
	// Even a file that is not YAML does not hide the environment's problems.
	broken := writeFile(t, filepath.Join(dir, "broken.yaml"), "models: [\n")
	_, err = LoadOpsWithEnv(env(map[string]string{EnvConfig: broken, EnvSlots: "zero"}))
	wantProblems(t, err, "not valid YAML", `ASMR_SLOTS="zero"`)
}

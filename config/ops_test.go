package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/profile"
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

func TestStrictDecodingNamesKeyPaths(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown model key", `
models:
  tiny:
    path: a.gguf
    thread: 2
`, []string{`models.tiny.thread (line 5): unknown key (did you mean "threads"?)`}},
		{"unknown top-level key", "model:\n  x: 1\n", []string{`model (line 1): unknown key (did you mean "models"?)`}},
		{"wrong type", `
models:
  tiny:
    path: a.gguf
    slots: two
limits:
  requestTimeout: 30
  queueLength: [1]
`, []string{
			`models.tiny.slots (line 5): want a whole number, got "two"`,
			`limits.requestTimeout (line 7): want a duration with a unit`,
			`limits.queueLength (line 8): want a whole number, got a list`,
		}},
		{"defaults are options", `
defaults:
  alphaCl: 3
  topK: 1.5
`, []string{`defaults.alphaCl (line 3): unknown key (did you mean "alphaCL"?)`, `defaults.topK (line 4): want a whole number, got "1.5"`}},
		{"flash attention", "models:\n  m:\n    path: a.gguf\n    flashAttention: maybe\n", []string{`models.m.flashAttention (line 4): "maybe": want auto, on or off`}},
		{"languages must be a list", "languages: de\n", []string{`languages (line 1): want a list`}},
		{"repeated key", "limits:\n  maxPassages: 1\n  maxPassages: 2\n", []string{"limits.maxPassages (line 3): key repeated"}},
		{"not yaml", "models: [\n", []string{"not valid YAML"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOps([]byte(c.yaml), "ops.yaml")
			wantProblems(t, err, c.want...)
		})
	}
}

func TestValidationNamesFieldsAndFixes(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	_, err := ParseOps([]byte(`
models:
  a: {path: a.gguf, ollama: "llama3.2:1b", kvCacheType: f8, gpuLayers: -2}
  b: {threads: -1}
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
		"models.b (line 4): give path:",
		"models.b.threads (line 4): -1",
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

func TestResolveChecksProfileAttributes(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: p.yaml}\n"), filepath.Join(dir, "ops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prof := ops.Profiles["p"].Profile
	delete(prof.Attributes, profile.AttributeCL)
	_, err = ops.Resolve("class moduleConfig", Options{Profile: "p"})
	if err == nil || !strings.Contains(err.Error(), `alphaCL: 20, but profile "p" has no CL attribute; set alphaCL: 0`) {
		t.Errorf("missing attribute: %v", err)
	}
	zero := 0.0
	r, err := ops.Resolve("class moduleConfig", Options{Profile: "p"}, Options{AlphaCL: &zero})
	if err != nil || !r.Steered() || r.Model != "m" {
		t.Errorf("alphaCL 0: %+v %v", r, err)
	}
	r, err = ops.Resolve("query", Options{Profile: "p"}, Options{Profile: ProfileNone})
	if err != nil || r.Steered() || r.Profile != "" {
		t.Errorf("profile none: %+v %v", r, err)
	}
	_, err = ops.Resolve("query asmr options", Options{Model: "nope", Profile: "q"})
	if err == nil || !strings.Contains(err.Error(), `model: "nope" is not a configured model; the ops file has m`) ||
		!strings.Contains(err.Error(), `profile: "q" is not a configured profile`) {
		t.Errorf("unknown names: %v", err)
	}
}

// An ops file with key and type errors and also unknown names reports all
// of them in one error, each with its key path and line (issue 12, item 8).
func TestOpsFileReportsEveryKindOfProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	_, err := ParseOps([]byte(`models:
  m:
    path: m.gguf
    thread: 2
    slots: two
profiles:
  p: {path: p.yaml, model: nosuch}
defaults:
  model: other
  profile: q
  direction: sideways
languages: [de, elvish]
`), filepath.Join(dir, "ops.yaml"))
	wantProblems(t, err,
		`models.m.thread (line 4): unknown key (did you mean "threads"?)`,
		`models.m.slots (line 5): want a whole number, got "two"`,
		`profiles.p.model (line 7): "nosuch" is not a configured model (have: m)`,
		`defaults.model (line 9): "other" is not a configured model`,
		`defaults.profile (line 10): "q" is not a configured profile`,
		`defaults.direction (line 11): unknown direction kind "sideways"`,
		`languages[1] (line 12): unknown language "elvish"`,
	)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 7 {
		t.Errorf("want 7 problems, got %d:\n%s", len(ce.Problems), strings.Join(ce.Problems, "\n"))
	}
}

// A value dropped for its type is not reported a second time by the checks
// that run on the rest of the file.
func TestDroppedValuesAreNotReportedTwice(t *testing.T) {
	_, err := ParseOps([]byte(`models:
  a: 5
  b: {path: b.gguf, threads: -1.5, flashAttention: maybe}
defaults:
  model: a
  topK: many
  direction: up
`), "ops.yaml")
	wantProblems(t, err,
		`models.a (line 2): want a mapping`,
		`models.b.threads (line 3): want a whole number, got "-1.5"`,
		`models.b.flashAttention (line 3): "maybe": want auto, on or off`,
		`defaults.topK (line 6): want a whole number, got "many"`,
		`defaults.direction (line 7): unknown direction kind "up"`,
	)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 5 {
		t.Errorf("want 5 problems, got %d:\n%s", len(ce.Problems), strings.Join(ce.Problems, "\n"))
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

// Ops.Resolve reports bad values and unknown names together.
func TestResolveReportsValuesAndNamesTogether(t *testing.T) {
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.Resolve("query asmr options", Options{Model: "nope", Profile: "q", Direction: "up"})
	for _, want := range []string{`model: "nope" is not a configured model`, `profile: "q" is not a configured profile`, `direction: unknown direction kind "up"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

// Ops.OptionsFromMap checks a class's moduleConfig against the ops file:
// types, values and names, all at once.
func TestOpsOptionsFromMapReportsEverything(t *testing.T) {
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.OptionsFromMap(map[string]any{"topK": "many", "model": "nope", "profile": "q", "maxTokens": 0.0}, "class moduleConfig")
	var oe *problems.Error
	if !errors.As(err, &oe) || len(oe.Problems) != 4 {
		t.Fatalf("want 4 problems, got %v", err)
	}
	for _, want := range []string{`topK: want a whole number, got the string "many"`, `model: "nope" is not a configured model`,
		`profile: "q" is not a configured profile`, "maxTokens: 0 is out of range"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	o, err := ops.OptionsFromMap(map[string]any{"alphaCL": 3.0}, "class moduleConfig")
	if err != nil || *o.AlphaCL != 3 {
		t.Errorf("good map: %+v %v", o, err)
	}
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

// A value refused at an alias (reported at the line of its anchor, where
// it is written) is dropped at every alias of that anchor, reported once,
// and the list keeps its indices, so that the rest is still checked under
// the right key paths.
func TestRefusedAliasIsDroppedEverywhere(t *testing.T) {
	_, err := ParseOps([]byte("x: &x {a: 1}\nlanguages: [*x, *x, xx]\n"), "")
	wantProblems(t, err, "x (line 1): unknown key", "languages[0] (line 1): want a string, got a mapping", `languages[2] (line 2): unknown language "xx"`)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 3 {
		t.Errorf("want 3 problems, got %q", ce.Problems)
	}
}

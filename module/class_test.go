package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/weaviate/weaviate/entities/models"
	"github.com/weaviate/weaviate/entities/moduletools"
	wconfig "github.com/weaviate/weaviate/usecases/config"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/profile"
)

// twoModels configures the tiny model and one of another shape, with the
// fixture profile bound to neither, so that a class can pair them wrongly.
func twoModels(t *testing.T) string {
	dir := testModels(t)
	return fmt.Sprintf(`
models:
  tiny: {path: %s, threads: 2, contextSize: 512}
  other: {path: %s, threads: 2, contextSize: 512, preload: false}
  gone: {path: %s, preload: false}
`, filepath.Join(dir, "tiny.gguf"), filepath.Join(dir, "other.gguf"), filepath.Join(dir, "missing.gguf"))
}

func TestValidateClass(t *testing.T) {
	m, hook := newTestModule(t, baseOps(t, twoModels(t), "defaults: {model: tiny}\n"))
	class := &models.Class{Class: "Doc"}
	validate := func(settings map[string]any) error {
		return m.ValidateClass(context.Background(), class, classConfig{settings: settings})
	}

	for _, ok := range []map[string]any{
		{},
		{"profile": "tiny", "alphaCL": 10.0, "topK": 16.0, "direction": "mass-mean", "tokenScope": "all", "answerLanguage": "auto"},
		{"model": "other"}, // unsteered: any model
		{"model": "other", "profile": "tiny", "alphaAC": 0.0, "alphaCL": 0.0},
		{"profile": "none"},
	} {
		if err := validate(ok); err != nil {
			t.Errorf("valid class %v refused: %v", ok, err)
		}
	}

	for _, c := range []struct {
		settings map[string]any
		want     []string
	}{
		{map[string]any{"model": "gpt"}, []string{`invalid class moduleConfig: model: "gpt" is not a configured model; the ops file has gone, other, tiny`}},
		{map[string]any{"profile": "fancy"}, []string{`profile: "fancy" is not a configured profile; the ops file has tiny (or use "none" for no steering)`}},
		{map[string]any{"model": "other", "profile": "tiny"}, []string{
			`class moduleConfig: profile "tiny" cannot steer model "other"`,
			"the profile is for llama, 3 layers x 4 heads x d_h 32",
			"the model is llama, 2 layers x 4 heads x d_h 32",
			"re-run `asmr probe` on this model",
		}},
		{map[string]any{"alphaCL": "high", "topk": 4.0}, []string{
			"alphaCL: want a number, got the string \"high\"",
			`topk: unknown option (did you mean "topK"?)`,
		}},
		{map[string]any{"direction": "up", "tokenScope": "prompt", "maxTokens": 0.0, "temperature": -1.0, "answerLanguage": "xx", "promptTemplate": "{{question}}"}, []string{
			"invalid class moduleConfig: 6 problems",
			`direction: unknown direction kind "up": want "probe", "mass-mean" or "language"`,
			`tokenScope: "prompt" is not a scope`,
			"maxTokens: 0 is out of range",
			"temperature: -1 is out of range",
			`answerLanguage: unknown language "xx"`,
			"promptTemplate: missing {{passages}}",
		}},
	} {
		err := validate(c.settings)
		if err == nil {
			t.Errorf("%v accepted", c.settings)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error does not say %q:\n%v", c.settings, w, err)
			}
		}
	}

	// A model whose file is missing does not fail the class: logged, and
	// its requests fail later.
	hook.Reset()
	if err := validate(map[string]any{"model": "gone", "profile": "tiny"}); err != nil {
		t.Errorf("class on a missing model file refused: %v", err)
	}
	var warned bool
	for _, e := range hook.AllEntries() {
		warned = warned || (e.Level == logrus.WarnLevel && e.Data["class"] == "Doc")
	}
	if !warned {
		t.Error("no warning about the missing model file")
	}

	// The same checks run per request, for classes Weaviate does not
	// validate (legacy "vectorizer": "none").
	_, err := single(t, m, "hi", nil, classConfig{settings: map[string]any{"model": "other", "profile": "tiny", "maxTokens": 2.0}})
	if err == nil || !strings.Contains(err.Error(), `profile "tiny" cannot steer model "other"`) {
		t.Errorf("request with a mismatched class: %v", err)
	}
	_, err = single(t, m, "hi", nil, classConfig{settings: map[string]any{"alphaCl": 1.0}})
	if err == nil || !strings.Contains(err.Error(), "invalid class moduleConfig: alphaCl: unknown option") {
		t.Errorf("request with a misspelled class option: %v", err)
	}
}

func TestStartupRefusesProfileForWrongModel(t *testing.T) {
	dir := testModels(t)
	ops, err := config.ParseOps([]byte(fmt.Sprintf(`
models:
  other: {path: %s, preload: false}
profiles:
  tiny: {path: %s, model: other}
`, filepath.Join(dir, "other.gguf"), profilePath(t))), "ops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := logtest.NewNullLogger()
	err = New().initWith(ops, logger)
	var ce *problems.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "profiles.tiny (model other): steering profile does not fit the model") {
		t.Errorf("start-up with a mismatched profile: %v", err)
	}
}

// TestInitFromEnv goes through Init as Weaviate calls it: ASMR_CONFIG and
// the env overrides, the logger from the init params.
func TestInitFromEnv(t *testing.T) {
	for _, name := range config.EnvNames {
		t.Setenv(name, "")
	}
	dir := testModels(t)
	cfg := filepath.Join(t.TempDir(), "asmr.yaml")
	if err := os.WriteFile(cfg, []byte("models:\n  m: {path: /nonexistent.gguf, threads: 2, contextSize: 512}\ndefaults: {maxTokens: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvConfig, cfg)
	t.Setenv(config.EnvModelPath, filepath.Join(dir, "tiny.gguf"))
	t.Setenv(config.EnvProfilePath, profilePath(t))
	t.Setenv(config.EnvQueueLength, "3")
	logger, _ := logtest.NewNullLogger()
	m := New()
	if err := m.Init(context.Background(), moduletools.NewInitParams(nil, nil, &wconfig.Config{}, logger, nil)); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := cap(m.generative.models["m"].admit); got != 1+3 {
		t.Errorf("admission capacity %d, want slots 1 + queue 3", got)
	}
	res, err := single(t, m, "Hallo, wie geht es?", nil, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaModel] != "m" || md[metaProfile] != config.DefaultProfileName || md[metaSteered] != true || md[metaCompletionTokens] != 2 {
		t.Errorf("env-configured module: %v", md)
	}
	info, _ := m.MetaInfo()
	if info["defaultModel"] != "m" || info["config"] != cfg {
		t.Errorf("meta info: %v", info)
	}

	// A broken ops file stops the start, naming the key.
	if err := os.WriteFile(cfg, []byte("models:\n  m: {path: x.gguf, slotz: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = New().Init(context.Background(), moduletools.NewInitParams(nil, nil, &wconfig.Config{}, logger, nil))
	if err == nil || !strings.Contains(err.Error(), `models.m.slotz (line 2): unknown key (did you mean "slots"?)`) {
		t.Errorf("broken ops file: %v", err)
	}
}

// TestFingerprintMismatch: a profile that records its GGUF's fingerprint
// refuses another GGUF of the same shape (here the same weights stored as
// F16), at class creation and per request.
func TestFingerprintMismatch(t *testing.T) {
	dir := testModels(t)
	id, err := profile.ModelFingerprint(filepath.Join(dir, "tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Load(profilePath(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Model.Fingerprint = id.Fingerprint
	pf := filepath.Join(t.TempDir(), "fp.yaml")
	if err := p.Save(pf); err != nil {
		t.Fatal(err)
	}
	m, _ := newTestModule(t, fmt.Sprintf(`
models:
  tiny: {path: %s, threads: 2, contextSize: 512}
  tiny16: {path: %s, threads: 2, contextSize: 512}
profiles:
  fp: {path: %s, model: tiny}
defaults: {model: tiny, profile: fp, maxTokens: 2, topK: 2}
`, filepath.Join(dir, "tiny.gguf"), filepath.Join(dir, "tiny-f16.gguf"), pf))
	if err := m.ValidateClass(context.Background(), &models.Class{Class: "Doc"}, classConfig{settings: map[string]any{}}); err != nil {
		t.Errorf("matching fingerprint refused: %v", err)
	}
	err = m.ValidateClass(context.Background(), &models.Class{Class: "Doc"}, classConfig{settings: map[string]any{"model": "tiny16"}})
	if !errors.Is(err, profile.ErrFingerprintMismatch) {
		t.Errorf("F16 twin accepted or wrong error: %v", err)
	}
	if _, err := single(t, m, "hi", nil, classConfig{settings: map[string]any{"model": "tiny16"}}); !errors.Is(err, profile.ErrFingerprintMismatch) {
		t.Errorf("request on the F16 twin: %v", err)
	}
	if _, err := single(t, m, "hi", nil, classConfig{}); err != nil {
		t.Errorf("request on the matching model: %v", err)
	}
}

package module

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/schema"
	wconfig "github.com/weaviate/weaviate/usecases/config"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// tinySpec is the shape of profile/testdata/profile-tiny.yaml.
func tinySpec() testmodel.Spec {
	s := testmodel.Tiny()
	s.Seed = 7
	return s
}

var (
	modelsOnce sync.Once
	modelsDir  string
	modelsErr  error
)

// testModels writes the GGUF files the tests share, once per test binary:
//   - tiny.gguf: the fixture profile's shape, with the end-of-generation
//     logit zeroed so that greedy generation runs to maxTokens (lengths and
//     timings are then predictable);
//   - other.gguf: a different shape (2 layers), that the fixture profile
//     must refuse;
//   - tiny-f16.gguf: the same shape stored as F16, a different GGUF
//     layout fingerprint.
func testModels(t *testing.T) string {
	t.Helper()
	modelsOnce.Do(func() {
		modelsDir, modelsErr = os.MkdirTemp("", "asmr-module-test-")
		if modelsErr != nil {
			return
		}
		spec := tinySpec()
		spec.ContextLength = 4096
		w := testmodel.Random(spec)
		e := spec.Embd()
		clear(w.Output[testmodel.EOS*e : (testmodel.EOS+1)*e])
		if modelsErr = testmodel.Write(filepath.Join(modelsDir, "tiny.gguf"), spec, w); modelsErr != nil {
			return
		}
		other := tinySpec()
		other.Layers = 2
		if modelsErr = testmodel.Write(filepath.Join(modelsDir, "other.gguf"), other, nil); modelsErr != nil {
			return
		}
		f16 := tinySpec()
		f16.Type = testmodel.F16
		modelsErr = testmodel.Write(filepath.Join(modelsDir, "tiny-f16.gguf"), f16, nil)
	})
	if modelsErr != nil {
		t.Fatalf("write test models: %v", modelsErr)
	}
	return modelsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" {
		os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

func profilePath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../profile/testdata/profile-tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// baseOps is an ops file with the tiny model and the fixture profile,
// steered by default; extra YAML is appended (later keys must not repeat
// earlier ones, so tests pass whole sections).
func baseOps(t *testing.T, models, rest string) string {
	dir := testModels(t)
	if models == "" {
		models = fmt.Sprintf(`
models:
  tiny:
    path: %s
    threads: 2
    contextSize: 512
    slots: 1
    kvCacheType: f32
`, filepath.Join(dir, "tiny.gguf"))
	}
	return models + fmt.Sprintf(`
profiles:
  tiny:
    path: %s
`, profilePath(t)) + rest
}

// defaultRest steers with the fixture's heads and answers in a few tokens,
// so that tests stay fast on a small machine.
const defaultRest = `
defaults:
  profile: tiny
  alphaAC: 8
  alphaCL: 8
  topK: 4
  maxTokens: 4
`

// newTestModule parses opsYAML and initialises a module from it, with a
// logger whose entries the test can read.
func newTestModule(t *testing.T, opsYAML string) (*Module, *logtest.Hook) {
	t.Helper()
	ops, err := config.ParseOps([]byte(opsYAML), "")
	if err != nil {
		t.Fatalf("ops config: %v\n%s", err, opsYAML)
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	m := New()
	if err := m.initWith(ops, logger); err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, hook
}

// classConfig is a moduletools.ClassConfig as Weaviate hands it to a
// generative module at request time: Class() is empty (Weaviate builds the
// config without a module name), and the module finds its settings with
// ClassByModuleName.
type classConfig struct {
	settings map[string]any
	props    map[string]schema.DataType
}

func (c classConfig) TargetVector() string           { return "" }
func (c classConfig) Tenant() string                 { return "" }
func (c classConfig) Class() map[string]any          { return map[string]any{} }
func (c classConfig) Property(string) map[string]any { return map[string]any{} }
func (c classConfig) Config() *wconfig.Config        { return &wconfig.Config{} }
func (c classConfig) PropertiesDataTypes() map[string]schema.DataType {
	if c.props == nil {
		return map[string]schema.DataType{"title": schema.DataTypeText, "body": schema.DataTypeText}
	}
	return c.props
}

func (c classConfig) ClassByModuleName(name string) map[string]any {
	if name == Name && c.settings != nil {
		return c.settings
	}
	return map[string]any{}
}

func client(m *Module) modulecapabilities.GenerativeClient {
	return m.AdditionalGenerativeProperties()[ProviderName].Client
}

func meta(t *testing.T, r *modulecapabilities.GenerateResponse) map[string]any {
	t.Helper()
	if r == nil {
		t.Fatal("nil response")
	}
	md, ok := r.Params[ProviderName].(map[string]any)
	if !ok {
		t.Fatalf("no %s metadata in %v", ProviderName, r.Params)
	}
	return md
}

func props(kv ...string) *modulecapabilities.GenerateProperties {
	p := &modulecapabilities.GenerateProperties{Text: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Text[kv[i]] = kv[i+1]
	}
	return p
}

func single(t *testing.T, m *Module, prompt string, params any, cfg classConfig) (*modulecapabilities.GenerateResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return client(m).GenerateSingleResult(ctx, props("title", "the telephone", "body", "Bell patented it in 1876."), prompt, params, true, cfg)
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

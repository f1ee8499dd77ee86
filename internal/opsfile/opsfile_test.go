package opsfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profiles"
)

// The marshalled Gemma setup reads back as the text of profiles.GemmaOps
// does: the same models, profiles, defaults and limits.
func TestGemmaMatchesGemmaOps(t *testing.T) {
	dir := t.TempDir()
	model, profile := filepath.Join(dir, "gemma.gguf"), filepath.Join(dir, profiles.Gemma3_270MName)
	if err := os.WriteFile(profile, profiles.Gemma3_270M, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(Gemma(model, profile, 3, 1024), "Written by a test.\nSecond line.")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	t.Logf("%s", text)
	for _, want := range []string{"# Written by a test.\n# Second line.\nmodels:\n  gemma:\n", "    stop:\n      - \"\\n\"\n", "alphaAC: 0\n", "requestTimeout: 2m0s\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("ops file lacks %q", want)
		}
	}
	for _, unset := range []string{"ollama", "null", `""`, "inline", "languages", "temperature"} {
		if strings.Contains(text, unset) {
			t.Errorf("ops file has %q, an empty value", unset)
		}
	}
	got, err := config.ParseOps(b, filepath.Join(dir, "asmr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.ParseOps([]byte(profiles.GemmaOps(model, profile, 3, 1024)), filepath.Join(dir, "asmr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]any{
		"models":    {got.Models, want.Models},
		"defaults":  {got.Defaults, want.Defaults},
		"limits":    {got.Limits, want.Limits},
		"languages": {got.Languages, want.Languages},
		"profile":   {[2]string{got.Profiles["gemma"].Path, got.Profiles["gemma"].Model}, [2]string{want.Profiles["gemma"].Path, want.Profiles["gemma"].Model}},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: marshalled %+v, GemmaOps %+v", name, pair[0], pair[1])
		}
	}
	if len(got.Profiles) != 1 || !reflect.DeepEqual(got.Profiles["gemma"].Profile, want.Profiles["gemma"].Profile) {
		t.Errorf("profiles differ")
	}
}

func TestMarshalKeepsZeroNumbers(t *testing.T) {
	zero, q := 0.0, 0
	ops := &config.Ops{
		Models:    map[string]*config.ModelConfig{"m": {Path: "/m.gguf", Threads: 2}},
		Defaults:  config.Options{AlphaCL: &zero, MaxTokens: &q},
		Limits:    config.Limits{QueueLength: &q, RequestTimeout: &config.Duration{Duration: 5 * time.Minute}},
		Languages: []string{"en", "de"},
	}
	b, err := Marshal(ops, "")
	if err != nil {
		t.Fatal(err)
	}
	want := "models:\n  m:\n    path: /m.gguf\n    threads: 2\n    contextSize: 0\n    batchSize: 0\n    gpuLayers: 0\n    slots: 0\n" +
		"defaults:\n  alphaCL: 0\n  maxTokens: 0\nlimits:\n  queueLength: 0\n  requestTimeout: 5m0s\n  maxPassages: 0\n  maxPromptTokens: 0\n" +
		"languages:\n  - en\n  - de\n"
	if string(b) != want {
		t.Errorf("got:\n%s\nwant:\n%s", b, want)
	}
}

func TestEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	if _, err := EmbeddedDefault(dir, filepath.Join(dir, "missing.gguf"), "h"); err == nil || !strings.Contains(err.Error(), "make model") {
		t.Errorf("a missing model: %v", err)
	}
	model := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(model, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := EmbeddedDefault(dir, model, "Written by asmr run: the embedded default.")
	if err != nil {
		t.Fatal(err)
	}
	if d.Ops != filepath.Join(dir, "asmr.yaml") || d.Model != model || !strings.Contains(d.String(), d.Profile) {
		t.Errorf("%+v", d)
	}
	b, err := os.ReadFile(d.Ops)
	if err != nil || !strings.HasPrefix(string(b), "# Written by asmr run: the embedded default.\nmodels:\n") {
		t.Fatalf("%s %v", b, err)
	}
	if _, err := config.LoadOps(d.Ops); err != nil {
		t.Errorf("the written ops file does not load: %v", err)
	}
}

// Strings with line breaks come back as written, which yaml.v3's own
// block scalars do not guarantee; the ops value is not changed.
func TestMarshalLineBreaks(t *testing.T) {
	stops := []string{"\n", "\n\n", "\nx", "x\n", "a\nb", "\tx\n"}
	ops := &config.Ops{Models: map[string]*config.ModelConfig{"m": {Path: "/m.gguf", Stop: stops, ChatTemplate: "{{ .Prompt }}\n"}}}
	b, err := Marshal(ops, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.ParseOps(b, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if m := got.Models["m"]; !reflect.DeepEqual(m.Stop, stops) || m.ChatTemplate != "{{ .Prompt }}\n" {
		t.Errorf("read back %q %q from:\n%s", m.Stop, m.ChatTemplate, b)
	}
	if ops.Models["m"].Stop[0] != "\n" || ops.Models["m"].ChatTemplate != "{{ .Prompt }}\n" {
		t.Errorf("Marshal changed its argument: %+v", ops.Models["m"])
	}
}

// examples/asmr-gemma.yaml is the Gemma setup with the tuned defaults: it
// loads (the shipped profile, with its LANG attributes) and its models and
// defaults are those of Gemma.
func TestGemmaExampleMatches(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "asmr-gemma.yaml")
	got, err := config.LoadOps(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Gemma("gemma-3-270m-q4_k_m.gguf", profiles.Gemma3_270MName, 1, 2048)
	if !reflect.DeepEqual(got.Defaults, want.Defaults) {
		t.Errorf("defaults %+v, want %+v", got.Defaults, want.Defaults)
	}
	g, w := got.Models["gemma"], want.Models["gemma"]
	if g == nil || g.ChatTemplate != w.ChatTemplate || !reflect.DeepEqual(g.Stop, w.Stop) || g.ContextSize != w.ContextSize || filepath.Base(g.Path) != filepath.Base(w.Path) {
		t.Errorf("model %+v, want %+v", g, w)
	}
	if r, err := got.Resolve("Article"); err != nil || string(r.Direction) != profiles.GemmaDirection || r.AlphaCL != profiles.GemmaAlphaCL {
		t.Errorf("resolved: %+v, %v", r, err)
	}
}

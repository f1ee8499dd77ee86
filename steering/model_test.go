package steering

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/ollamastore"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

func TestLoadReportsShapeAndTemplate(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	got := m.Shape()
	if got.Layers != 3 || got.Heads != 4 || got.KVHeads != 2 || got.HeadDim != 32 || got.Vocab != 258 || got.Arch != "llama" {
		t.Fatalf("shape = %+v", got)
	}
	if m.ChatTemplate() != "" {
		t.Fatalf("template = %q, want none", m.ChatTemplate())
	}
	if p := m.FormatPrompt("Be brief.", "Hi?"); p != "Be brief.\n\nUser: Hi?\nAssistant:" {
		t.Fatalf("plain template = %q", p)
	}

	spec.ChatTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	m2 := load(t, writeModel(t, spec, nil), Options{})
	want := "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
	if p := m2.FormatPrompt("", "Hi?"); p != want {
		t.Fatalf("chatml template = %q, want %q", p, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "x.gguf")
	os.WriteFile(notGGUF, []byte("hello world"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.gguf"), "no such file"},
		{notGGUF, "not a GGUF file"},
	} {
		_, err := Load(tc.path, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) error = %v, want it to mention %q", tc.path, err, tc.want)
		}
	}
	t.Setenv("OLLAMA_MODELS", dir)
	if _, err := Load("nosuchmodel:1b", Options{}); err == nil || !strings.Contains(err.Error(), "ollama pull") {
		t.Errorf("Load(unknown ollama name) error = %v, want a hint to pull it", err)
	}
}

func TestOllamaStoreName(t *testing.T) {
	path := writeModel(t, tinySpec(testmodel.F32), nil)
	store := t.TempDir()
	if _, err := ollamastore.WriteStore(store, "tiny-asmr:1b", path, ""); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OLLAMA_MODELS", store)
	m := load(t, "tiny-asmr:1b", Options{})
	if m.Shape().Layers != 3 {
		t.Fatalf("loaded the wrong model: %+v", m.Shape())
	}
	byFile := load(t, path, Options{})
	a, err := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	b, err := byFile.Generate(context.Background(), testPrompt, Params{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != b.Text {
		t.Fatalf("store model answered %q, file %q", a.Text, b.Text)
	}
}

// Q4_0 and F16 files written by the generator run in llama.cpp close to the
// F32 model built from the same values after their round trip.
func TestQuantizedModelsMatchTheirF32Twin(t *testing.T) {
	for _, typ := range []testmodel.WeightType{testmodel.F16, testmodel.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := tinySpec(typ)
			w := testmodel.Random(spec)
			q := load(t, writeModel(t, spec, w), Options{})
			// The F32 twin holds exactly the values the quantized file decodes to.
			twin := testmodel.RoundTrip(spec, w)
			spec32 := spec
			spec32.Type = testmodel.F32
			f := load(t, writeModel(t, spec32, twin), Options{})
			toks, _ := q.Tokenize(testPrompt)
			a, err := q.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, scale := maxAbsDiff(a, b), 0.0
			for _, row := range b {
				for _, x := range row {
					scale = max(scale, math.Abs(float64(x)))
				}
			}
			t.Logf("%s: max |quantized - f32 twin| = %.3g (logit scale %.3g)", typ, d, scale)
			if d > 0.05*scale {
				t.Fatalf("%s logits differ from the twin by %g of %g", typ, d, scale)
			}
		})
	}
}

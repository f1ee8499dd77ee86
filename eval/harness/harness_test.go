package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/xquad"
)

func TestOpenChecksConfig(t *testing.T) {
	data := filepath.Join("..", "testdata", "xor_dev_full_sample.jsonl")
	ok := Config{Dataset: eval.XORTyDi, Data: data, Out: t.TempDir(), Weaviate: "http://127.0.0.1:1", Class: "Passage",
		Search: eval.SearchBM25, K: 3, Properties: []string{"text"}, Direction: "probe", Scope: "generation", AnswerLanguage: "item", MaxTokens: 8}
	for name, c := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"no data":      {func(c *Config) { c.Data = "" }, "-dataset, -data and -out are required"},
		"both sources": {func(c *Config) { c.Contexts = "c.jsonl" }, "not both"},
		"no source":    {func(c *Config) { c.Weaviate = "" }, "not both"},
		"max tokens":   {func(c *Config) { c.MaxTokens = 0 }, "-max-tokens 0"},
		"answer lang":  {func(c *Config) { c.AnswerLanguage = "xx" }, `-answer-language "xx"`},
		"direction":    {func(c *Config) { c.Direction = "up" }, "-direction"},
		"scope":        {func(c *Config) { c.Scope = "some" }, "-scope"},
		"class":        {func(c *Config) { c.Class = "lower" }, "-weaviate: class"},
		"no local model": {func(c *Config) {
			c.Weaviate, c.Contexts = "", filepath.Join("..", "testdata", "xor_contexts_sample.jsonl")
		}, "-model is required"},
	} {
		cfg := ok
		c.edit(&cfg)
		if _, err := open(context.Background(), cfg, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	s, err := open(context.Background(), ok, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, isWeaviate := s.reader.(*eval.WeaviateReader); !isWeaviate || s.passageSource != "weaviate" || len(s.items) == 0 {
		t.Errorf("session %+v", s)
	}
	var all []string
	for _, kv := range s.settings {
		all = append(all, kv[0]+": "+kv[1])
	}
	for _, want := range []string{"passages: retrieved by Weaviate http://127.0.0.1:1, class Passage, bm25, top 3, properties text",
		"reader: generative-asmr in the server, model the server's default", "prompt: template the module's default"} {
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("settings lack %q:\n%s", want, strings.Join(all, "\n"))
		}
	}
}

func TestLists(t *testing.T) {
	if Ints([]int{16, 32}) != "16,32" || Floats([]float64{0, 2.5, 20}) != "0,2.5,20" || Uints([]uint64{1, 2}) != "1,2" || Ints(nil) != "" {
		t.Error("list formatting")
	}
	if describeSystems([]eval.System{{Name: eval.Baseline}, {Name: eval.OneShot, OneShot: true}}) !=
		"Baseline (zero-shot, unsteered); 1-shot (one worked example in the prompt, unsteered)" {
		t.Errorf("describeSystems: %s", describeSystems([]eval.System{{Name: eval.Baseline}, {Name: eval.OneShot, OneShot: true}}))
	}
}

// TestXQuADReader checks the Weaviate reader of the XQuAD task: nearVector
// with the task's vectors, as many passages as a question is given.
func TestXQuADReader(t *testing.T) {
	task := &xquad.Task{
		Paragraphs: []string{"p0", "p1", "p2", "p3"},
		Articles:   []int{0, 0, 0, 0},
		Contexts:   map[string][]string{"a": {"p1", "p0", "p2"}, "b": {"p3", "p2"}},
		Order:      map[string][]int{"a": {1, 0, 2}, "b": {3, 2}},
	}
	w := xquadReader(Config{Weaviate: "http://127.0.0.1:1", Class: "XQuAD", Model: "m", Profile: "p", Search: eval.SearchBM25, K: 9, QueryVectors: "x"}, task)
	if w.Search != eval.SearchNearVector || w.K != 3 || w.Class != "XQuAD" || w.Model != "m" || w.Profile != "p" || len(w.Vectors) != 2 {
		t.Errorf("reader %+v", w)
	}
	if err := w.Check(); err != nil {
		t.Error(err)
	}
	if v := w.Vectors[eval.Key{ID: "a"}]; len(v) != 4 || v[1] != 3 || v[0] != 2 || v[2] != 1 || v[3] != 0 {
		t.Errorf("vector of a: %v", v)
	}
}

package xquad

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/probes"
)

// checkVectors checks that, for every question, ranking all paragraphs by
// the cosine similarity of their one-hot vectors (as Load imports them)
// with the question's vector gives Order[id] first, in order, every other
// paragraph strictly behind.
func checkVectors(t *testing.T, task *Task) {
	t.Helper()
	vs := task.Vectors()
	if len(vs) != len(task.Order) {
		t.Fatalf("%d vectors for %d questions", len(vs), len(task.Order))
	}
	n := len(task.Paragraphs)
	for id, order := range task.Order {
		v, ok := vs[eval.Key{ID: id}]
		if !ok || len(v) != n {
			t.Fatalf("%s: vector %v (want %d dimensions, key with empty Lang)", id, ok, n)
		}
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		norm = math.Sqrt(norm)
		cos := make([]float64, n) // cosine with e_p is v[p]/|v|
		for p := range n {
			cos[p] = float64(v[p]) / norm
		}
		rank := make([]int, n)
		for p := range rank {
			rank[p] = p
		}
		slices.SortStableFunc(rank, func(a, b int) int {
			switch {
			case cos[a] > cos[b]:
				return -1
			case cos[a] < cos[b]:
				return 1
			}
			return 0
		})
		if !slices.Equal(rank[:len(order)], order) {
			t.Errorf("%s: ranking %v, want %v first", id, rank[:len(order)], order)
		}
		if len(order) < n && !(cos[order[len(order)-1]] > cos[rank[len(order)]]) {
			t.Errorf("%s: last passage %d ties with paragraph %d", id, order[len(order)-1], rank[len(order)])
		}
		for i, p := range order {
			if task.Paragraphs[p] != task.Contexts[id][i] {
				t.Errorf("%s: passage %d is not paragraph %d", id, i, p)
			}
		}
	}
}

func TestVectors(t *testing.T) {
	byLang := map[string]*probes.SQuAD{
		"en": file(t, "en", func(id string) (string, string) { return "What " + id + "?", "ans" + id }),
		"de": file(t, "de", func(id string) (string, string) { return "Was " + id + "?", "ant" + id }),
	}
	for _, d := range []int{0, 1, -1} {
		task, err := Build(byLang, Options{Seed: 7, Distractors: d})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(task.Articles, []int{0, 0, 0, 1}) {
			t.Errorf("Articles %v", task.Articles)
		}
		checkVectors(t, task)
	}
}

// TestVectorsDevHalf checks the ranking on the development half of XQuAD
// in ../shared/data/xquad-dev, when it is there.
func TestVectorsDevHalf(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "xquad-dev")
	if _, err := os.Stat(filepath.Join(dir, "xquad.en.json")); err != nil {
		t.Skipf("needs the XQuAD development half in %s (xquad.<lang>.json): %v", dir, err)
	}
	byLang, err := probes.ReadXQuADDir(dir, []string{"en", "de"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := Build(byLang, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, task)
	for p, a := range task.Articles {
		if p > 0 && a < task.Articles[p-1] {
			t.Fatalf("Articles not in file order at %d: %v", p, task.Articles)
		}
	}
	t.Logf("%d questions over %d paragraphs of %d articles", len(task.Order), len(task.Paragraphs), task.Articles[len(task.Articles)-1]+1)
}

func TestParagraphID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := ParagraphID("XQuADPassage", 3, "text")
	if !uuid.MatchString(a) {
		t.Errorf("%q is not a version-5 UUID", a)
	}
	if a != ParagraphID("XQuADPassage", 3, "text") {
		t.Error("not deterministic")
	}
	for _, b := range []string{ParagraphID("Other", 3, "text"), ParagraphID("XQuADPassage", 4, "text"), ParagraphID("XQuADPassage", 3, "text.")} {
		if b == a {
			t.Errorf("%s: same UUID for other inputs", b)
		}
	}
}

func TestClassProblem(t *testing.T) {
	c := classDef("XQuADPassage")
	if p := classProblem(c); p != "" {
		t.Errorf("the class Load creates: %s", p)
	}
	c.VectorIndexType = "hnsw"
	c.ModuleConfig = map[string]any{"generative-openai": map[string]any{}}
	c.Properties = c.Properties[:1]
	p := classProblem(c)
	for _, want := range []string{`"hnsw", not flat`, "generative-asmr", "article is not of type int", "paragraph is not of type int"} {
		if !strings.Contains(p, want) {
			t.Errorf("problem %q lacks %q", p, want)
		}
	}
}

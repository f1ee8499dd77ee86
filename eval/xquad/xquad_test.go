package xquad

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/probes"
)

// file is a two-article XQuAD-format file: article 1 has three paragraphs
// with a question each, article 2 one paragraph with two questions.
func file(t *testing.T, lang string, q func(id string) (question, answer string)) *probes.SQuAD {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"version": "1.1", "data": [`)
	arts := [][][]string{{{"a1p0q0"}, {"a1p1q0"}, {"a1p2q0"}}, {{"a2p0q0", "a2p0q1"}}}
	for ai, paras := range arts {
		if ai > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"title": "T", "paragraphs": [`)
		for pi, ids := range paras {
			if pi > 0 {
				b.WriteString(",")
			}
			ctx := lang + " paragraph " + ids[0][:4] + " with"
			var qas []string
			for _, id := range ids {
				question, answer := q(id)
				ctx += " " + answer
				qas = append(qas, `{"id": "`+id+`", "question": "`+question+`", "answers": [{"text": "`+answer+`", "answer_start": `+runeIndex(ctx, answer)+`}]}`)
			}
			b.WriteString(`{"context": "` + ctx + `", "qas": [` + strings.Join(qas, ",") + `]}`)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	s, err := probes.ParseSQuAD(strings.NewReader(b.String()), "xquad."+lang+".json")
	if err != nil || len(s.Warnings) > 0 {
		t.Fatalf("%v %q", err, s.Warnings)
	}
	return s
}

// runeIndex is where sub starts in s, in runes (SQuAD's answer_start).
func runeIndex(s, sub string) string {
	return strconv.Itoa(utf8.RuneCountInString(s[:strings.Index(s, sub)]))
}

func TestBuild(t *testing.T) {
	byLang := map[string]*probes.SQuAD{
		"en": file(t, "en", func(id string) (string, string) { return "What " + id + "?", "ans" + id }),
		"de": file(t, "de", func(id string) (string, string) { return "Was " + id + "?", "ant" + id }),
		"th": file(t, "th", func(id string) (string, string) { return "อะไร " + id, "ตอบ" + id }),
	}
	task, err := Build(byLang, Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Items) != 2 || len(task.Items["de"]) != 5 || len(task.Items["th"]) != 5 {
		t.Fatalf("items: %v", task.Items)
	}
	de := task.Items["de"][3]
	if de.ID != "a2p0q0" || de.Question != "Was a2p0q0?" || len(de.Answers) != 1 || de.Answers[0].Text != "anta2p0q0" {
		t.Errorf("de item: %+v", de)
	}
	if g := task.English["a2p0q0"]; !slices.Equal(g, []string{"ansa2p0q0"}) {
		t.Errorf("English gold: %q", g)
	}
	for _, id := range []string{"a1p0q0", "a1p1q0", "a1p2q0"} {
		ctx, gold := task.Contexts[id], task.Gold[id]
		// Three paragraphs in the article: the gold and both others.
		if len(ctx) != 3 || !strings.Contains(ctx[gold], "en paragraph "+id[:4]) {
			t.Errorf("%s: gold %d of %q", id, gold, ctx)
		}
		for i, c := range ctx {
			if !strings.HasPrefix(c, "en paragraph a1") || (i != gold && strings.Contains(c, id[:4])) {
				t.Errorf("%s: passage %d %q is not an English paragraph of article 1 other than the gold", id, i, c)
			}
		}
	}
	if len(task.Paragraphs) != 4 {
		t.Errorf("%d paragraphs, want 4", len(task.Paragraphs))
	}
	for id, ctx := range task.Contexts {
		for i, c := range ctx {
			if task.Paragraphs[task.Order[id][i]] != c {
				t.Errorf("%s: Order[%d] = %d does not point at its passage", id, i, task.Order[id][i])
			}
		}
	}
	// A one-paragraph article gives the gold alone.
	if ctx := task.Contexts["a2p0q1"]; len(ctx) != 1 || task.Gold["a2p0q1"] != 0 || task.Order["a2p0q1"][0] != 3 {
		t.Errorf("a2p0q1: %q", ctx)
	}
	// The same seed gives the same task; Limit keeps the first questions.
	again, _ := Build(byLang, Options{Seed: 3})
	for id, ctx := range task.Contexts {
		if !slices.Equal(ctx, again.Contexts[id]) {
			t.Errorf("%s: order changed between two builds", id)
		}
	}
	lim, _ := Build(byLang, Options{Seed: 3, Limit: 2, Distractors: -1})
	if len(lim.Items["th"]) != 2 || lim.Items["th"][1].ID != "a1p1q0" || len(lim.Contexts["a1p1q0"]) != 1 {
		t.Errorf("limit 2, no distractors: %v %v", lim.Items["th"], lim.Contexts)
	}

	// An article range keeps its questions only; Limit counts within it.
	tail, err := Build(byLang, Options{Seed: 3, FromArticle: 1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ids := itemIDs(tail.Items["th"]); ids != "a2p0q0,a2p0q1" {
		t.Errorf("from article 1, limit 2: %s", ids)
	}
	head, _ := Build(byLang, Options{Seed: 3, ToArticle: 1})
	for _, it := range head.Items["th"] {
		if !strings.HasPrefix(it.ID, "a1") {
			t.Errorf("articles 0 to 1: has %s", it.ID)
		}
	}
	if len(head.Items["th"]) == 0 {
		t.Error("articles 0 to 1: no questions")
	}
	for _, o := range []Options{{FromArticle: 3}, {FromArticle: 1, ToArticle: 1}, {ToArticle: 4}, {FromArticle: -1}} {
		if _, err := Build(byLang, o); err == nil || !strings.Contains(err.Error(), "want 0 <= from < to") {
			t.Errorf("articles %d to %d: %v", o.FromArticle, o.ToArticle, err)
		}
	}

	// Errors: no English file; files that are not parallel.
	if _, err := Build(map[string]*probes.SQuAD{"de": byLang["de"]}, Options{}); err == nil || !strings.Contains(err.Error(), "xquad.en.json") {
		t.Errorf("no English: %v", err)
	}
	short := file(t, "ru", func(id string) (string, string) { return "Что " + id, "отв" + id })
	short.Articles = short.Articles[:1]
	var de2 *probes.DataError
	if _, err := Build(map[string]*probes.SQuAD{"en": byLang["en"], "ru": short}, Options{}); !errors.As(err, &de2) {
		t.Errorf("not parallel: %v", err)
	}
}

// TestBuildDevHalf builds the task from the development half of XQuAD in
// ../shared/data/xquad-dev, when it is there.
func TestBuildDevHalf(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "xquad-dev")
	if _, err := os.Stat(filepath.Join(dir, "xquad.en.json")); err != nil {
		t.Skipf("needs the XQuAD development half in %s (xquad.<lang>.json): %v", dir, err)
	}
	byLang, err := probes.ReadXQuADDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	task, err := Build(byLang, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Items) != 11 {
		t.Fatalf("%d languages, want the 11 besides English", len(task.Items))
	}
	n := len(task.English)
	goldFirst := 0
	for id, ctx := range task.Contexts {
		if len(ctx) != 3 {
			t.Fatalf("%s: %d passages, want 3", id, len(ctx))
		}
		if task.Gold[id] == 0 {
			goldFirst++
		}
	}
	for l, items := range task.Items {
		if len(items) != n {
			t.Errorf("%s: %d questions, English %d", l, len(items), n)
		}
	}
	if goldFirst == n || goldFirst == 0 {
		t.Errorf("gold first in %d of %d questions", goldFirst, n)
	}
	t.Logf("%d questions per language, gold first in %d", n, goldFirst)
}

func itemIDs(items []eval.Item) string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return strings.Join(ids, ",")
}

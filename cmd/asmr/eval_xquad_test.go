package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/evaltest"
	"github.com/asmr-search/generative-asmr/eval/xquad"
	"github.com/asmr-search/generative-asmr/probes"
)

// TestEvalXQuADFixture runs `asmr eval run -dataset xquad` in-process on a
// tiny XQuAD folder written here, with the planted model of
// eval/evaltest: the run must write the report with XQuAD's metrics (and
// no R@2kt), and every answer must have been given the passages of the
// task that xquad.Build makes with the same -limit and -passage-seed.
func TestEvalXQuADFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the reader on 24 prompts; skipped with -short")
	}
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "xquad")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := evaltest.WriteXQuAD(data); err != nil {
		t.Fatal(err)
	}
	model, profile, err := evaltest.ScriptModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"run", "-dataset", "xquad", "-data", data, "-langs", "ru,zh", "-limit", "4", "-passage-seed", "5",
		"-model", model, "-profile", profile, "-threads", "1", "-ctx", "2048", "-max-tokens", "12", "-quiet", "-out", out}
	if err := runEval(ctx, args); err != nil {
		t.Fatalf("asmr eval %s: %v", strings.Join(args, " "), err)
	}

	md := readFile(t, filepath.Join(out, "report.md"))
	t.Logf("report.md:\n%s", md)
	for _, s := range []string{"# XQuAD cross-lingual", "| System | ru | zh | Avg |", "| Baseline |", "| 1-shot |", "| ASMR |",
		"### F1 (against the gold in the question's language", "### EM", "### F1 against the English gold",
		"### Answer-language rate", "### Line-level pass rate", "passage seed 5", "ru 4, zh 4"} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	if strings.Contains(md, "R@2kt") {
		t.Error("report.md has R@2kt")
	}
	seen := map[string]bool{}
	for _, r := range evaltest.ReadCSV(t, filepath.Join(out, "results.csv")) {
		seen[r["metric"]] = true
		if r["dataset"] != eval.XQuAD || r["n"] == "0" {
			t.Errorf("results.csv row %v", r)
		}
	}
	for _, m := range eval.Metrics(eval.XQuAD) {
		if !seen[m] {
			t.Errorf("results.csv has no %s", m)
		}
	}
	if seen[eval.MetricRecall] {
		t.Error("results.csv has r2kt")
	}
	// The planted effect reaches the new metric: steered, the reader
	// answers Russian questions in Cyrillic, every line of it.
	lines := evaltest.MeansBySystem(t, filepath.Join(out, "results.csv"), eval.MetricLines, "ru")
	if lines[eval.ASMR] != "1" || lines[eval.Baseline] == "1" {
		t.Errorf("ru line-level pass: baseline %s, ASMR %s; want ASMR 1 and the baseline below", lines[eval.Baseline], lines[eval.ASMR])
	}

	// The passages each answer got are the task's.
	byLang, err := probes.ReadXQuADDir(data, []string{"en", "ru", "zh"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := xquad.Build(byLang, xquad.Options{Seed: 5, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	st, err := eval.ReadStore(filepath.Join(out, "items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := st.Records()
	if len(recs) != 3*2*4 {
		t.Fatalf("%d records, want 3 systems x 2 languages x 4 questions", len(recs))
	}
	goldFirst := 0
	for _, r := range recs {
		want, ok := task.Contexts[r.ID]
		if !ok {
			t.Fatalf("record of %s %s: not a question of the task", r.Lang, r.ID)
		}
		if !slices.Equal(r.Passages, want) || len(want) != 3 {
			t.Errorf("%s %s %s: passages %q, want the task's %q", r.System, r.Lang, r.ID, r.Passages, want)
		}
		if task.Gold[r.ID] == 0 {
			goldFirst++
		}
	}
	if goldFirst == len(recs) {
		t.Error("the gold paragraph is first for every question: the order is not drawn")
	}

	// The sweep scores the same metrics.
	sweepOut := filepath.Join(dir, "sweep")
	sweep := []string{"sweep", "-dataset", "xquad", "-data", data, "-langs", "ru,zh", "-limit", "4", "-passage-seed", "5",
		"-k-values", "1", "-alphas", "0,30", "-seeds", "1", "-sample", "2", "-metric", "lines",
		"-model", model, "-profile", profile, "-threads", "1", "-ctx", "2048", "-max-tokens", "12", "-quiet", "-out", sweepOut}
	if err := runEval(ctx, sweep); err != nil {
		t.Fatalf("asmr eval %s: %v", strings.Join(sweep, " "), err)
	}
	for _, f := range []string{"sweep.png", "sweep-f1_en.png", "sweep-lines.png"} {
		if _, err := os.Stat(filepath.Join(sweepOut, f)); err != nil {
			t.Error(err)
		}
	}
	if smd := readFile(t, filepath.Join(sweepOut, "sweep.md")); !strings.Contains(smd, "Line-level pass rate") || strings.Contains(smd, "R@2kt") {
		t.Errorf("sweep.md:\n%s", smd)
	}

	// What xquad does not take.
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"-contexts", filepath.Join(dir, "c.jsonl")}, "drop -contexts"},
		{[]string{"-weaviate", "http://127.0.0.1:1", "-class", "C", "-query-vectors", "v.jsonl"}, "drop -query-vectors"},
		{[]string{"-langs", "en,ru"}, "en is the language of xquad's passages"},
		{[]string{"-langs", "ja"}, `"ja" is not a language of XQuAD`},
	} {
		a := append(slices.Clone(args), c.extra...)
		if err := runEval(ctx, a); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("with %v: %v, want an error with %q", c.extra, err, c.want)
		}
	}
}

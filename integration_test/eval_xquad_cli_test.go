//go:build e2e

package integration_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/evaltest"
	"github.com/asmr-search/generative-asmr/eval/xquad"
	"github.com/asmr-search/generative-asmr/probes"
)

// TestEvalXQuADCLIThroughServer runs `asmr eval run -dataset xquad
// -weaviate` on the tiny XQuAD of eval/evaltest and its planted model: the
// CLI loads the English paragraphs into a class and every question
// retrieves its passages with nearVector. Every answer must have been
// given exactly the task's passages, in order, and the report must have
// XQuAD's metrics; a rerun answers nothing again (the class is already
// loaded).
func TestEvalXQuADCLIThroughServer(t *testing.T) {
	skipShort(t)
	root := RepoRoot(t)
	dir := t.TempDir()
	cli := buildEvalCLI(t, root, dir)
	model, profile, err := evaltest.ScriptModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(dir, "asmr.yaml")
	if err := os.WriteFile(ops, []byte(fmt.Sprintf("models:\n  cyrillic: {path: %q, threads: 1, contextSize: 2048, slots: 1}\n"+
		"profiles:\n  cyrillic: {path: %q, model: cyrillic}\nlimits: {requestTimeout: 90s}\n", model, profile)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, asmrEnv(ops))
	data := filepath.Join(dir, "xquad")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := evaltest.WriteXQuAD(data); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out")
	args := []string{"eval", "run", "-dataset", "xquad", "-data", data, "-langs", "ru,zh", "-passage-seed", "3",
		"-weaviate", s.URL, "-class", "XQuADFixture", "-model", "cyrillic", "-profile", "cyrillic",
		"-alpha-ac", "0", "-alpha-cl", "20", "-top-k", "4", "-max-tokens", "12", "-out", out, "-quiet"}
	start := time.Now()
	log := runCLI(t, cli, args...)
	t.Logf("asmr eval run -dataset xquad through the server: %v\n%s", time.Since(start).Round(time.Millisecond), log)

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report.md:\n%s", md)
	for _, want := range []string{"# XQuAD cross-lingual", "| System | ru | zh | Avg |", "### F1 against the English gold",
		"### Line-level pass rate", "retrieved by Weaviate " + s.URL + ", class XQuADFixture", "passage seed 3"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "R@2kt") {
		t.Error("report.md has R@2kt")
	}

	byLang, err := probes.ReadXQuADDir(data, []string{"en", "ru", "zh"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := xquad.Build(byLang, xquad.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	st, err := eval.ReadStore(filepath.Join(out, "items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := st.Records()
	if want := 3 * 2 * len(task.Contexts); len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	for _, r := range recs {
		var want []string
		for _, p := range task.Contexts[r.ID] {
			want = append(want, strings.TrimSpace(p))
		}
		if !slices.Equal(r.Passages, want) || r.PassagesUsed != len(want) {
			t.Errorf("%s %s %s: passages %q (%d used), want the task's %q", r.System, r.Lang, r.ID, r.Passages, r.PassagesUsed, want)
		}
		if (r.System == eval.ASMR) != (r.SteeredHeads > 0) {
			t.Errorf("%s %s %s: %d heads steered", r.System, r.Lang, r.ID, r.SteeredHeads)
		}
	}
	lines := evaltest.MeansBySystem(t, filepath.Join(out, "results.csv"), eval.MetricLines, "ru")
	if lines[eval.ASMR] != "1" || lines[eval.Baseline] == "1" {
		t.Errorf("ru line-level pass: baseline %s, ASMR %s; want ASMR 1 and the baseline below", lines[eval.Baseline], lines[eval.ASMR])
	}

	// A rerun finds every answer, and the class already loaded.
	log = runCLI(t, cli, args...)
	if !strings.Contains(log, "0 answered now") {
		t.Errorf("rerun: %s", log)
	}
}

package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/evaltest"
)

// TestEvalFixtures runs `asmr eval` as CI does: both tables and the sweep
// on the shipped fixtures (eval/testdata), in-process, on the planted
// model of eval/evaltest, whose CL heads make the reader answer in
// Cyrillic when steered. It checks the outputs exist and hang together,
// that steering moves the Russian answer-language rate as planted, and
// that a rerun resumes instead of answering again.
//
// ASMR_EVAL_OUT=dir keeps the outputs there (they are in a temp dir
// otherwise).
func TestEvalFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the reader on about 400 prompts; skipped with -short")
	}
	begin := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	out := os.Getenv("ASMR_EVAL_OUT")
	if out == "" {
		out = dir
	}
	model, profile, err := evaltest.ScriptModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	td := filepath.Join("..", "..", "eval", "testdata")
	common := []string{"-model", model, "-profile", profile, "-threads", "1", "-ctx", "2048", "-max-tokens", "12", "-quiet"}
	evalCmd := func(args ...string) {
		t.Helper()
		start := time.Now()
		if err := runEval(ctx, append(args, common...)); err != nil {
			t.Fatalf("asmr eval %s: %v", strings.Join(args, " "), err)
		}
		t.Logf("asmr eval %s %s: %v", args[0], args[2], time.Since(start).Round(time.Millisecond))
	}

	// Table 1 and Table 2.
	xorDir, mkqaDir := filepath.Join(out, "table1-xor-tydi"), filepath.Join(out, "table2-mkqa")
	evalCmd("run", "-dataset", "xor-tydi", "-data", filepath.Join(td, "xor_dev_full_sample.jsonl"),
		"-contexts", filepath.Join(td, "xor_contexts_sample.jsonl"), "-out", xorDir)
	evalCmd("run", "-dataset", "mkqa", "-data", filepath.Join(td, "mkqa_sample.jsonl"),
		"-contexts", filepath.Join(td, "mkqa_contexts_sample.jsonl"), "-out", mkqaDir)
	for _, c := range []struct {
		dir, title string
		langs      []string
		metrics    []string
	}{
		{xorDir, "# Table 1: XOR-TyDi QA (XOR-Full)", eval.PaperLanguages[eval.XORTyDi], eval.Metrics(eval.XORTyDi)},
		{mkqaDir, "# Table 2: MKQA", eval.PaperLanguages[eval.MKQA], eval.Metrics(eval.MKQA)},
	} {
		md := readFile(t, filepath.Join(c.dir, "report.md"))
		header := "| System | " + strings.Join(c.langs, " | ") + " | Avg |"
		for _, s := range []string{c.title, header, "| Baseline |", "| 1-shot |", "| ASMR |", "### F1", "### EM", "### Answer-language rate"} {
			if !strings.Contains(md, s) {
				t.Errorf("%s/report.md lacks %q", c.dir, s)
			}
		}
		t.Logf("%s/report.md:\n%s", filepath.Base(c.dir), md)
		rows := evaltest.ReadCSV(t, filepath.Join(c.dir, "results.csv"))
		// Every metric x system x (language + avg), except the one
		// retrieval row and cells without items.
		if len(rows) < 2*len(c.langs) {
			t.Errorf("results.csv has %d rows", len(rows))
		}
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r["metric"]] = true
		}
		for _, m := range c.metrics {
			if !seen[m] {
				t.Errorf("results.csv has no %s", m)
			}
		}
	}

	// The planted effect, in-process: steering answers Russian questions in
	// Russian; the unsteered reader's byte noise does not.
	rate := map[string]float64{}
	for _, r := range evaltest.ReadCSV(t, filepath.Join(xorDir, "results.csv")) {
		if r["metric"] == eval.MetricLang && r["lang"] == "ru" {
			rate[r["system"]], _ = strconv.ParseFloat(r["mean"], 64)
		}
	}
	if rate[eval.ASMR] != 1 || rate[eval.Baseline] >= 1 {
		t.Errorf("ru answer-language rate: baseline %v, ASMR %v; want ASMR 1 and above the baseline", rate[eval.Baseline], rate[eval.ASMR])
	}

	// Resuming: drop the last three answers and cut a fourth in half, as a
	// killed run leaves the file; a rerun answers exactly those.
	items := filepath.Join(xorDir, "items.jsonl")
	before := readFile(t, items)
	lines := strings.SplitAfter(strings.TrimSuffix(before, "\n"), "\n")
	if err := os.WriteFile(items, []byte(strings.Join(lines[:len(lines)-4], "")+lines[len(lines)-4][:30]), 0o644); err != nil {
		t.Fatal(err)
	}
	evalCmd("run", "-dataset", "xor-tydi", "-data", filepath.Join(td, "xor_dev_full_sample.jsonl"),
		"-contexts", filepath.Join(td, "xor_contexts_sample.jsonl"), "-out", xorDir)
	after := readFile(t, items)
	if strings.Count(after, "\n") != len(lines) {
		t.Errorf("after resuming, %d lines, want %d", strings.Count(after, "\n"), len(lines))
	}
	if !sameLines(before, after) {
		t.Error("the resumed answers differ from the first run's (greedy decoding is deterministic)")
	}
	st, err := eval.ReadStore(items)
	if err != nil || len(st.Records()) != len(lines) {
		t.Fatalf("store: %v records, %v", len(st.Records()), err)
	}

	// Figure 3: K x alpha over two seeds on a 2-per-language sample.
	sweepDir := filepath.Join(out, "figure3-sweep")
	evalCmd("sweep", "-dataset", "xor-tydi", "-data", filepath.Join(td, "xor_dev_full_sample.jsonl"),
		"-contexts", filepath.Join(td, "xor_contexts_sample.jsonl"), "-langs", "ru,ja,fi",
		"-k-values", "1,2,4", "-alphas", "0,10,20,30", "-seeds", "1,2", "-sample", "2", "-metric", "lang", "-out", sweepDir)
	for _, f := range []string{"sweep.png", "sweep-f1.png", "sweep-lang.png"} {
		img, err := png.Decode(bytes.NewReader([]byte(readFile(t, filepath.Join(sweepDir, f)))))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s is %v", f, b)
		}
	}
	md := readFile(t, filepath.Join(sweepDir, "sweep.md"))
	t.Logf("sweep.md:\n%s", md)
	mean := map[[2]string]float64{}
	n := 0
	for _, r := range evaltest.ReadCSV(t, filepath.Join(sweepDir, "sweep.csv")) {
		n++
		if r["seed"] == "mean" && r["metric"] == eval.MetricLang {
			mean[[2]string{r["k"], r["alpha"]}], _ = strconv.ParseFloat(r["value"], 64)
		}
	}
	if want := 3 * 4 * (2 + 1) * len(eval.Metrics(eval.XORTyDi)); n != want {
		t.Errorf("sweep.csv has %d rows, want %d (3 K x 4 alpha x (2 seeds + mean) x metrics)", n, want)
	}
	// Steering the language heads raises the rate (ru answered in Russian)
	// at the top of the grid for every K, and more heads need less alpha.
	for _, k := range []string{"1", "2", "4"} {
		if mean[[2]string{k, "30"}] <= mean[[2]string{k, "0"}] {
			t.Errorf("K=%s: answer-language rate %v at alpha 30, not above %v at alpha 0", k, mean[[2]string{k, "30"}], mean[[2]string{k, "0"}])
		}
	}
	if mean[[2]string{"4", "10"}] <= mean[[2]string{"1", "10"}] {
		t.Errorf("alpha 10: K=4 rate %v not above K=1's %v", mean[[2]string{"4", "10"}], mean[[2]string{"1", "10"}])
	}
	t.Logf("whole test: %v", time.Since(begin).Round(time.Millisecond))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameLines compares two results files ignoring the timing fields.
func sameLines(a, b string) bool {
	strip := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if i := strings.Index(l, `,"ms":`); i >= 0 {
				l = l[:i]
			}
			out = append(out, l)
		}
		return out
	}
	x, y := strip(a), strip(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

//go:build e2e

package integration_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/evaltest"
)

// TestEvalThroughServer runs `asmr eval` end to end through a real
// weaviate-asmr: the XOR-TyDi fixture's passages are imported into a
// class, every question retrieves with bm25 and is answered by
// generate(groupedResult: {..., asmr: {...}}) on the planted model of
// eval/evaltest (steering its CL heads makes the reader answer in
// Cyrillic). It checks that the report and CSV are written; that every
// number in the CSV equals what eval's metric functions give on the
// per-item JSONL, and two of them counted by hand; that steering raises
// the Russian answer-language rate as planted; that a rerun answers
// nothing again; and a small K x alpha sweep through the server.
func TestEvalThroughServer(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	root := RepoRoot(t)
	dir := t.TempDir()
	cli := buildEvalCLI(t, root, dir)

	model, profile, err := evaltest.ScriptModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(dir, "asmr.yaml")
	if err := os.WriteFile(ops, []byte(fmt.Sprintf(`models:
  cyrillic: {path: %q, threads: 1, contextSize: 2048, slots: 1}
profiles:
  cyrillic: {path: %q, model: cyrillic}
limits: {requestTimeout: 90s}
`, model, profile)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, asmrEnv(ops))

	// The fixture passages. bm25 cannot match a Russian question against
	// an English passage, so each passage is also indexed with the
	// questions it answers (property "queries", every language): a
	// stand-in for a multilingual retriever. Retrieval is still a real
	// top-k bm25 over all passages: questions that share words pull in
	// other items' passages too.
	td := filepath.Join(root, "eval", "testdata")
	data, ctxPath := filepath.Join(td, "xor_dev_full_sample.jsonl"), filepath.Join(td, "xor_contexts_sample.jsonl")
	items, langs, err := eval.LoadDataset(eval.XORTyDi, data, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctxs, err := eval.ReadContexts(ctxPath)
	if err != nil {
		t.Fatal(err)
	}
	const class = "EvalPassage"
	s.CreateClass(t, map[string]any{
		"class": class, "vectorizer": "none",
		"moduleConfig": map[string]any{"generative-asmr": map[string]any{}},
		"properties": []map[string]any{
			{"name": "text", "dataType": []string{"text"}},
			{"name": "queries", "dataType": []string{"text"}},
		},
	})
	questions := map[string][]string{}
	for _, it := range items {
		questions[it.ID] = append(questions[it.ID], it.Question)
	}
	var objs []map[string]any
	for id, ps := range ctxs {
		for _, p := range ps {
			objs = append(objs, map[string]any{"class": class, "properties": map[string]any{"text": p, "queries": strings.Join(questions[id], "\n")}})
		}
	}
	s.BatchObjects(t, objs)
	t.Logf("imported %d passages of %d items in %v", len(objs), len(ctxs), time.Since(begin).Round(time.Millisecond))

	out := filepath.Join(dir, "table1")
	const alphaCL, topK, k = 20, 4, 3
	args := []string{"eval", "run", "-dataset", "xor-tydi", "-data", data,
		"-weaviate", s.URL, "-class", class, "-search", "bm25", "-search-properties", "queries", "-properties", "text", "-k", strconv.Itoa(k),
		"-model", "cyrillic", "-profile", "cyrillic", "-alpha-ac", "0", "-alpha-cl", strconv.Itoa(alphaCL), "-top-k", strconv.Itoa(topK),
		"-max-tokens", "12", "-out", out, "-quiet"}
	start := time.Now()
	log := runCLI(t, cli, args...)
	t.Logf("asmr eval run through the server: %v\n%s", time.Since(start).Round(time.Millisecond), log)

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report.md:\n%s", md)
	for _, want := range []string{"# Table 1: XOR-TyDi QA (XOR-Full)", "| System | ar | bn | fi | ja | ko | ru | te | Avg |",
		"| Baseline |", "| 1-shot |", "| ASMR |", "### F1", "### EM", "### BLEU", "### Answer-language rate", "### R@2kt",
		"retrieved by Weaviate " + s.URL} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// The per-item answers, as the server gave them.
	st, err := eval.ReadStore(filepath.Join(out, "items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := st.Records()
	if len(recs) != 3*len(items) {
		t.Fatalf("%d records, want %d", len(recs), 3*len(items))
	}
	preds := map[string]map[eval.Key]eval.Record{}
	for _, r := range recs {
		if preds[r.System] == nil {
			preds[r.System] = map[eval.Key]eval.Record{}
		}
		preds[r.System][r.ItemKey()] = r
		switch {
		case r.NoResults || len(r.Passages) == 0 || len(r.Passages) > k:
			t.Errorf("%s %s/%s: %d passages (no results: %v), want 1..%d", r.System, r.Lang, r.ID, len(r.Passages), r.NoResults, k)
		case r.System == eval.ASMR && r.SteeredHeads != topK:
			t.Errorf("ASMR %s/%s steered %d heads, want %d", r.Lang, r.ID, r.SteeredHeads, topK)
		case r.System != eval.ASMR && r.SteeredHeads != 0:
			t.Errorf("%s %s/%s steered %d heads", r.System, r.Lang, r.ID, r.SteeredHeads)
		case r.System == eval.OneShot && r.ShotLang != r.Lang:
			t.Errorf("1-shot %s/%s used the %q example", r.Lang, r.ID, r.ShotLang)
		case r.PromptTokens == 0 || r.CompletionTokens == 0 || r.QuestionLanguage == "":
			t.Errorf("%s %s/%s: server metadata missing: %+v", r.System, r.Lang, r.ID, r)
		}
	}

	// Every number of the CSV, recomputed from the JSONL with eval's metric
	// functions (not the report code).
	det, err := eval.NewLangDetector(langs...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]eval.Score{} // system -> metric -> scores
	for _, sys := range []string{eval.Baseline, eval.OneShot, eval.ASMR} {
		texts := map[eval.Key]string{}
		for k, r := range preds[sys] {
			texts[k] = r.Prediction
		}
		sc, err := eval.ScoreXORTyDi(items, texts)
		if err != nil {
			t.Fatal(err)
		}
		if sc[eval.MetricLang], err = eval.ScoreLanguage(items, texts, det); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if hit, ok := eval.RecallAt2kt(preds[sys][it.Key()].Passages, it); ok {
				sc[eval.MetricRecall] = append(sc[eval.MetricRecall], eval.Score{Key: it.Key(), Value: b2f(hit)})
			}
		}
		want[sys] = sc
	}
	rows := evaltest.ReadCSV(t, filepath.Join(out, "results.csv"))
	checked := 0
	for _, r := range rows {
		sc := want[r["system"]][r["metric"]]
		agg := eval.Summarize(sc)
		exp := agg.Macro
		if r["lang"] != "avg" {
			exp = math.NaN()
			for _, lm := range agg.Langs {
				if lm.Lang == r["lang"] {
					exp = lm.Mean
				}
			}
		}
		got, _ := strconv.ParseFloat(r["mean"], 64)
		if math.Abs(got-exp) > 1e-9 {
			t.Errorf("%s %s %s: CSV %v, recomputed %v", r["metric"], r["system"], r["lang"], got, exp)
		}
		if r["p"] != "" {
			cmp, err := eval.Compare(sc, want[eval.Baseline][r["metric"]], eval.SignificanceLevel)
			if err != nil {
				t.Fatal(err)
			}
			lang := r["lang"]
			if lang == "avg" {
				lang = "all"
			}
			for _, c := range cmp {
				if c.Lang != lang {
					continue
				}
				p, _ := strconv.ParseFloat(r["p"], 64)
				if !(math.Abs(p-c.TTest.P) < 1e-9 || (math.IsNaN(p) && math.IsNaN(c.TTest.P))) {
					t.Errorf("%s %s %s: CSV p %v, recomputed %v", r["metric"], r["system"], r["lang"], p, c.TTest.P)
				}
			}
		}
		checked++
	}
	// F1, EM, BLEU and the language rate for 3 systems, R@2kt once (the
	// same passages for every system), each per language and the average.
	if want := (4*3 + 1) * (len(langs) + 1); checked != want {
		t.Errorf("%d CSV cells, want %d", checked, want)
	}

	// By hand. R@2kt: does a gold answer occur, as lower-case text, in the
	// retrieved passages? (The fixture's answers need none of R@2kt's
	// normalisation.) Answer-language rate of ASMR in Russian: how many
	// answers are written in Cyrillic letters only?
	csvMean := func(metric, system, lang string) float64 {
		for _, r := range rows {
			if r["metric"] == metric && r["system"] == system && r["lang"] == lang {
				v, _ := strconv.ParseFloat(r["mean"], 64)
				return v
			}
		}
		t.Fatalf("CSV has no %s %s %s", metric, system, lang)
		return 0
	}
	for _, l := range langs {
		hits, n := 0, 0
		for _, it := range items {
			if it.Lang != l || it.Unanswerable {
				continue
			}
			n++
			text := strings.ToLower(strings.Join(preds[eval.Baseline][it.Key()].Passages, " "))
			for _, g := range it.Golds() {
				if strings.Contains(text, strings.ToLower(g)) {
					hits++
					break
				}
			}
		}
		if got := csvMean(eval.MetricRecall, eval.Baseline, l); math.Abs(got-float64(hits)/float64(n)) > 1e-9 {
			t.Errorf("R@2kt %s: CSV %v, by hand %d/%d", l, got, hits, n)
		}
	}
	cyrillic, ru := 0, 0
	for _, it := range items {
		if it.Lang != "ru" {
			continue
		}
		ru++
		p := preds[eval.ASMR][it.Key()].Prediction
		if p != "" && strings.IndexFunc(p, func(r rune) bool { return !unicode.Is(unicode.Cyrillic, r) }) < 0 {
			cyrillic++
		}
	}
	asmrRU, baseRU := csvMean(eval.MetricLang, eval.ASMR, "ru"), csvMean(eval.MetricLang, eval.Baseline, "ru")
	if asmrRU != float64(cyrillic)/float64(ru) {
		t.Errorf("ASMR ru answer-language rate: CSV %v, by hand %d/%d Cyrillic answers", asmrRU, cyrillic, ru)
	}
	// The planted effect: steering the CL heads moves the answers into the
	// question's language for Russian.
	if asmrRU != 1 || baseRU >= asmrRU {
		t.Errorf("ru answer-language rate: baseline %v, ASMR %v; want ASMR 1, above the baseline", baseRU, asmrRU)
	}

	// A rerun answers nothing again.
	log = runCLI(t, cli, args...)
	if n := len(mustStore(t, filepath.Join(out, "items.jsonl")).Records()); n != len(recs) || !strings.Contains(log, fmt.Sprintf("%d already in", len(recs))) {
		t.Errorf("rerun: %d records, log:\n%s", n, log)
	}

	// Figure 3 through the server: topK and alpha per query.
	sweep := filepath.Join(dir, "sweep")
	start = time.Now()
	runCLI(t, cli, "eval", "sweep", "-dataset", "xor-tydi", "-data", data, "-langs", "ru,ja",
		"-weaviate", s.URL, "-class", class, "-search", "bm25", "-search-properties", "queries", "-k", strconv.Itoa(k),
		"-model", "cyrillic", "-profile", "cyrillic", "-attributes", "CL", "-k-values", "1,4", "-alphas", "0,10",
		"-seeds", "1", "-sample", "0", "-max-tokens", "8", "-metric", "lang", "-out", sweep, "-quiet")
	t.Logf("sweep through the server: %v", time.Since(start).Round(time.Millisecond))
	if fi, err := os.Stat(filepath.Join(sweep, "sweep.png")); err != nil || fi.Size() < 1000 {
		t.Fatalf("sweep.png: %v", err)
	}
	lang := map[string]float64{}
	for _, r := range evaltest.ReadCSV(t, filepath.Join(sweep, "sweep.csv")) {
		if r["seed"] == "mean" && r["metric"] == eval.MetricLang {
			lang["K"+r["k"]+"-a"+r["alpha"]], _ = strconv.ParseFloat(r["value"], 64)
		}
	}
	// ru is answered in Russian (1 of 2 languages) once 4 heads are
	// steered with alpha 10; one head at alpha 10 is not enough (the drive
	// is about 0.16*K*alpha logits, see evaltest).
	if lang["K4-a10"] != 0.5 || lang["K4-a10"] <= lang["K4-a0"] || lang["K1-a10"] >= lang["K4-a10"] {
		t.Errorf("sweep answer-language rates %v: want K4-a10 = 0.5, above alpha 0 and K1", lang)
	}
	t.Logf("whole test: %v", time.Since(begin).Round(time.Millisecond))
}

// buildEvalCLI builds cmd/asmr into dir with the cgo flags of the
// Makefile (so that the cached llama.cpp build is reused).
func buildEvalCLI(t *testing.T, root, dir string) string {
	t.Helper()
	start := time.Now()
	env := withoutMakeVars(os.Environ())
	if out, err := exec.Command("make", "-s", "-C", root, "env").Output(); err == nil {
		for _, m := range regexp.MustCompile(`(CGO_\w+)='([^']*)'`).FindAllStringSubmatch(string(out), -1) {
			env = append(env, m[1]+"="+m[2])
		}
	}
	bin := filepath.Join(dir, "asmr")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/asmr")
	cmd.Dir, cmd.Env = root, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/asmr: %v\n%s", err, out)
	}
	t.Logf("built asmr in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// runCLI runs the asmr CLI and returns its output, failing on an error.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("asmr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustStore(t *testing.T, path string) *eval.Store {
	t.Helper()
	st, err := eval.ReadStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

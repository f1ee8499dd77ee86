package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	asmrconfig "github.com/asmr-search/generative-asmr/config"
)

// fakeReader answers from a table: the gold answer for "good" systems, a
// fixed wrong answer otherwise; it counts calls and can fail on one item.
type fakeReader struct {
	mu     sync.Mutex
	calls  int
	failOn string
	answer func(req Request) string
}

func (f *fakeReader) Read(_ context.Context, req Request) (Response, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if req.Item.ID == f.failOn {
		return Response{}, errors.New("boom")
	}
	return Response{Text: f.answer(req), Passages: req.Passages, PassagesUsed: len(req.Passages)}, nil
}

func (f *fakeReader) Identity() map[string]any { return map[string]any{"fake": 1} }

func xorFixture(t *testing.T) ([]Item, []string, map[string][]string) {
	t.Helper()
	items, langs, err := LoadDataset(XORTyDi, "testdata/xor_dev_full_sample.jsonl", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctxs, err := ReadContexts("testdata/xor_contexts_sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return items, langs, ctxs
}

func goldAnswer(req Request) string {
	if req.Item.Unanswerable {
		return "?"
	}
	return "Answer: " + req.Item.Answers[0].Text + "\nmore text"
}

func TestRunResumes(t *testing.T) {
	items, _, ctxs := xorFixture(t)
	path := filepath.Join(t.TempDir(), "items.jsonl")
	systems, err := ParseSystems("baseline,1shot,asmr", Steering{AlphaAC: 20, AlphaCL: 20, TopK: 64})
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeReader{answer: goldAnswer}
	run := func(parallel int) RunStats {
		t.Helper()
		st, err := OpenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stats, err := Run(context.Background(), Options{Dataset: XORTyDi, Items: items, Systems: systems, Reader: fr,
			Contexts: ctxs, PassageSource: "fixture", MaxTokens: 16, Store: st, Parallel: parallel})
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}
	want := len(items) * len(systems)
	if st := run(3); st.Ran != want || st.Skipped != 0 || fr.calls != want {
		t.Fatalf("first run: %+v, %d calls, want %d answered", st, fr.calls, want)
	}
	if st := run(1); st.Ran != 0 || st.Skipped != want || fr.calls != want {
		t.Fatalf("rerun: %+v, %d calls, want everything skipped", st, fr.calls)
	}

	// A crash: the last 4 lines are gone and a fifth is cut in half.
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	cut := strings.Join(lines[:len(lines)-5], "") + lines[len(lines)-5][:20]
	if err := os.WriteFile(path, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := run(2); st.Ran != 5 || st.Skipped != want-5 {
		t.Fatalf("after a crash: %+v, want 5 answered", st)
	}
	st, err := ReadStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Records()); n != want {
		t.Fatalf("store has %d records, want %d", n, want)
	}
	data, _ = os.ReadFile(path)
	if got := strings.Count(string(data), "\n"); got != want {
		t.Fatalf("file has %d lines, want %d", got, want)
	}

	// Other settings: another key, so everything is answered again.
	st2, _ := OpenStore(path)
	stats, err := Run(context.Background(), Options{Dataset: XORTyDi, Items: items, Systems: systems, Reader: fr,
		Contexts: ctxs, PassageSource: "fixture", MaxTokens: 17, Store: st2})
	st2.Close()
	if err != nil || stats.Ran != want {
		t.Fatalf("changed max tokens: %+v %v, want everything answered again", stats, err)
	}
}

func TestRunStopsAtFirstErrorAndKeepsAnswers(t *testing.T) {
	items, _, ctxs := xorFixture(t)
	path := filepath.Join(t.TempDir(), "items.jsonl")
	st, _ := OpenStore(path)
	defer st.Close()
	fr := &fakeReader{answer: goldAnswer, failOn: items[5].ID}
	systems, _ := ParseSystems("baseline", Steering{})
	stats, err := Run(context.Background(), Options{Dataset: XORTyDi, Items: items, Systems: systems, Reader: fr,
		Contexts: ctxs, MaxTokens: 8, Store: st})
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), items[5].ID) {
		t.Fatalf("err = %v, want the reader's error naming the item", err)
	}
	if stats.Ran != 5 || len(st.Records()) != 5 {
		t.Fatalf("%+v, %d records: want the 5 answers before the error kept", stats, len(st.Records()))
	}
}

func TestRunNeedsContextsForEveryItem(t *testing.T) {
	items, _, ctxs := xorFixture(t)
	delete(ctxs, items[0].ID)
	st, _ := OpenStore(filepath.Join(t.TempDir(), "x.jsonl"))
	defer st.Close()
	systems, _ := ParseSystems("baseline", Steering{})
	_, err := Run(context.Background(), Options{Dataset: XORTyDi, Items: items, Systems: systems, Reader: &fakeReader{answer: goldAnswer}, Contexts: ctxs, Store: st})
	if err == nil || !strings.Contains(err.Error(), items[0].ID) {
		t.Fatalf("err = %v", err)
	}
}

func TestSubsample(t *testing.T) {
	var items []Item
	for _, l := range []string{"de", "fr"} {
		for i := range 10 {
			items = append(items, Item{ID: fmt.Sprint(i), Lang: l})
		}
	}
	a, b := Subsample(items, 3, 1), Subsample(items, 3, 1)
	if len(a) != 6 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("not 3 per language or not deterministic: %v %v", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i].Lang == a[i-1].Lang && a[i].ID < a[i-1].ID {
			t.Fatalf("order not kept: %v", a)
		}
	}
	differs := false
	for seed := uint64(2); seed < 6; seed++ {
		differs = differs || fmt.Sprint(Subsample(items, 3, seed)) != fmt.Sprint(a)
	}
	if !differs {
		t.Fatal("seeds draw the same items")
	}
	if len(Subsample(items, 0, 1)) != 20 || len(Subsample(items, 50, 1)) != 20 {
		t.Fatal("n <= 0 or n >= size must keep everything")
	}
}

func TestPrompts(t *testing.T) {
	for _, c := range [][2]string{{"zh_cn", "Chinese"}, {"te", "Telugu"}, {"", "the language of the question"}, {"xx", "the language of the question"}} {
		if got := LanguageName(c[0]); got != c[1] {
			t.Errorf("LanguageName(%q) = %q, want %q", c[0], got, c[1])
		}
	}

	shots := DefaultShots()
	for _, l := range slices.Concat(PaperLanguages[XORTyDi], PaperLanguages[MKQA], PaperLanguages[XQuAD]) {
		s, ok := ShotFor(shots, l)
		if !ok || s.Lang != l {
			t.Errorf("no built-in example for %s", l)
		}
	}
	if s, _ := ShotFor(shots, "sw"); s.Lang != "en" {
		t.Errorf("fallback = %q, want en", s.Lang)
	}
	ru, _ := ShotFor(shots, "ru")
	tmpl := OneShotTemplate(asmrconfig.DefaultPromptTemplate, ru)
	if err := asmrconfig.CheckPromptTemplate(tmpl); err != nil {
		t.Fatalf("1-shot template rejected by the module's check: %v", err)
	}

	// A template ending with its answer cue gets the answer after the cue.
	cued := "P: {{passages}}\n{{questionLabel}}: {{question}}\n{{answerLabel}}:"
	if got, want := OneShotTemplate(cued, ru), "P: [1] "+ru.Passage+"\n{{questionLabel}}: "+ru.Question+"\n{{answerLabel}}: Париж\n\n"+cued; got != want {
		t.Errorf("1-shot of a cued template:\n%q\nwant\n%q", got, want)
	}

	for in, want := range map[string]string{
		"  Answer: Париж\nmore": "Париж", "answer:x": "x", "\n\nTolstoy.\n": "Tolstoy.", "": "", "Answers differ": "Answers differ",
	} {
		if got := CleanAnswer(in); got != want {
			t.Errorf("CleanAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadShots(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "shots.jsonl")
	os.WriteFile(good, []byte(`{"lang":"de","question":"Wer?","passage":"P.","answer":"A"}`+"\n"), 0o644)
	s, err := ReadShots(good)
	if err != nil || s["de"].Answer != "A" {
		t.Fatalf("%v %v", s, err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"lang":"de","question":"Wer?","passage":"P.","answer":""}`+"\n"), 0o644)
	if _, err := ReadShots(bad); err == nil || !strings.Contains(err.Error(), "answer") {
		t.Fatalf("err = %v", err)
	}
}

// The report's numbers are the metric functions' numbers, and significance
// follows the paired t-test.
func TestBuildReport(t *testing.T) {
	items, langs, ctxs := xorFixture(t)
	systems, _ := ParseSystems("baseline,asmr", Steering{AlphaCL: 20, TopK: 64})
	preds := map[string]Predictions{Baseline: {}, ASMR: {}}
	for i, it := range items {
		ps := ctxs[it.ID]
		preds[Baseline][it.Key()] = Record{Lang: it.Lang, ID: it.ID, Prediction: "I do not know", Passages: ps}
		p := "I do not know"
		if !it.Unanswerable && (it.Lang == "ru" || i%2 == 0) {
			p = it.Answers[0].Text
		}
		preds[ASMR][it.Key()] = Record{Lang: it.Lang, ID: it.ID, Prediction: p, Passages: ps}
	}
	det, err := NewLangDetector(langs...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(XORTyDi, langs, items, systems, preds, det)
	if err != nil {
		t.Fatal(err)
	}
	var f1 Table
	for _, tb := range rep.Tables {
		if tb.Metric == MetricF1 {
			f1 = tb
		}
	}
	ru := indexOf(langs, "ru")
	base, asmr := f1.Rows[0].Cells, f1.Rows[1].Cells
	// ru: 3 items, 1 unanswerable (skipped), 2 answered exactly by ASMR.
	if base[ru].Mean != 0 || asmr[ru].Mean != 1 || asmr[ru].N != 2 {
		t.Fatalf("ru F1: baseline %+v asmr %+v", base[ru], asmr[ru])
	}
	if !asmr[ru].Significant || asmr[ru].Test.P != 0 {
		t.Fatalf("ru: all differences 1, want p = 0 and a mark: %+v", asmr[ru])
	}
	// The average is the macro average of the language means.
	sum, n := 0.0, 0
	for i := range langs {
		if !asmr[i].Empty {
			sum += asmr[i].Mean
			n++
		}
	}
	if avg := asmr[len(langs)]; math.Abs(avg.Mean-sum/float64(n)) > 1e-12 {
		t.Fatalf("Avg %v, want macro %v", avg.Mean, sum/float64(n))
	}
	md := rep.Markdown()
	for _, s := range []string{"# Table 1: XOR-TyDi QA (XOR-Full)", "### F1", "| Baseline |", "| ASMR |", "| 100.0* |", "retrieval (same passages for every system)"} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q:\n%s", s, md)
		}
	}
	if err := rep.WriteCSV(filepath.Join(t.TempDir(), "r.csv")); err != nil {
		t.Fatal(err)
	}
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

func TestSweepGrid(t *testing.T) {
	g := SweepGrid{Ks: []int{16, 64}, Alphas: []float64{0, 5, 20}, CL: true, Direction: "probe"}
	ss := g.Systems()
	if len(ss) != 5 {
		t.Fatalf("%d systems, want 2x2 steered + one alpha-0", len(ss))
	}
	for _, s := range ss {
		if s.Name == "a0" && s.Steer != nil {
			t.Fatal("alpha 0 must be unsteered")
		}
		if s.Name == "K64-a20" && (s.Steer.TopK != 64 || s.Steer.AlphaCL != 20 || s.Steer.AlphaAC != 0) {
			t.Fatalf("K64-a20 = %+v", s.Steer)
		}
	}
}

func TestParseSystemsASMRVariants(t *testing.T) {
	steer := Steering{AlphaAC: 4, AlphaCL: 8, TopK: 64, Direction: "probe", Scope: "generation"}
	systems, err := ParseSystems("baseline, asmr, asmr-ac, asmr-cl:mass-mean, ASMR:language, 1shot, asmr-cl:mass-mean@2/16, asmr@1.5", steer)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, label, dir string
		ac, cl           float64
	}{
		{"baseline", "Baseline", "", 0, 0},
		{"asmr", "ASMR", "probe", 4, 8},
		{"asmr-ac", "ASMR (AC)", "probe", 4, 0},
		{"asmr-cl:mass-mean", "ASMR (CL, mass-mean)", "mass-mean", 0, 8},
		{"asmr:language", "ASMR (language)", "language", 4, 8},
		{"1shot", "1-shot", "", 0, 0},
		{"asmr-cl:mass-mean@2/16", "ASMR (CL, mass-mean, α 2, K 16)", "mass-mean", 0, 2},
		{"asmr@1.5", "ASMR (α 1.5)", "probe", 1.5, 1.5},
	}
	if len(systems) != len(want) {
		t.Fatalf("%d systems, want %d", len(systems), len(want))
	}
	for i, w := range want {
		s := systems[i]
		if s.Name != w.name || s.Label() != w.label {
			t.Errorf("system %d: %q labelled %q, want %q labelled %q", i, s.Name, s.Label(), w.name, w.label)
		}
		if w.dir == "" {
			if s.Steer.Active() {
				t.Errorf("%s: steered", s.Name)
			}
			continue
		}
		wantK := 64
		if strings.HasSuffix(w.name, "/16") {
			wantK = 16
		}
		if s.Steer == nil || s.Steer.Direction != w.dir || s.Steer.AlphaAC != w.ac || s.Steer.AlphaCL != w.cl || s.Steer.TopK != wantK {
			t.Errorf("%s: steering %+v, want direction %s, alphaAC %v, alphaCL %v", s.Name, s.Steer, w.dir, w.ac, w.cl)
		}
	}
	// Every problem at once.
	_, err = ParseSystems("asmr-ac,asmr:sideways,asmr-xx,baseline,baseline,asmr@0,asmr-cl@2/0,asmr@x", Steering{AlphaCL: 8})
	if err == nil {
		t.Fatal("bad systems accepted")
	}
	for _, frag := range []string{`"asmr-ac" steers AC only, but -alpha-ac is 0`, `unknown direction "sideways"`, `unknown system "asmr-xx"`, `"baseline" listed twice`, `"asmr@0": @0 is not a non-zero strength`, `"asmr-cl@2/0": /0 is not a head count`, `"asmr@x": @x is not`} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error %q lacks %q", err, frag)
		}
	}
}

func TestRunAnswersZeroShotPromptsOfAQuestionTogether(t *testing.T) {
	items := []Item{
		{ID: "q1", Lang: "de", Question: "a", Answers: []Answer{{Text: "x"}}},
		{ID: "q1", Lang: "ru", Question: "b", Answers: []Answer{{Text: "x"}}},
		{ID: "q2", Lang: "de", Question: "c", Answers: []Answer{{Text: "x"}}},
	}
	rd := &orderReader{}
	st, err := OpenStore(filepath.Join(t.TempDir(), "items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	systems := []System{{Name: "1shot", OneShot: true}, {Name: "baseline"}, {Name: "asmr", Steer: &Steering{AlphaCL: 1}}}
	_, err = Run(context.Background(), Options{Dataset: XQuAD, Items: items, Systems: systems, Reader: rd, Store: st,
		Contexts: map[string][]string{"q1": {"p"}, "q2": {"p"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "baseline q1/de,asmr q1/de,baseline q1/ru,asmr q1/ru,1shot q1/de,1shot q1/ru," +
		"baseline q2/de,asmr q2/de,1shot q2/de"
	if got := strings.Join(rd.order, ","); got != want {
		t.Errorf("order\n%s\nwant\n%s", got, want)
	}
}

// orderReader answers "x" and records the order of the requests.
type orderReader struct{ order []string }

func (r *orderReader) Read(_ context.Context, req Request) (Response, error) {
	r.order = append(r.order, req.System.Name+" "+req.Item.ID+"/"+req.Item.Lang)
	return Response{Text: "x", Passages: req.Passages}, nil
}

func (r *orderReader) Identity() map[string]any { return map[string]any{"reader": "order"} }

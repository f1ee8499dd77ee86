//go:build e2e

package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/xquad"
	"github.com/asmr-search/generative-asmr/internal/gemmatest"
	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/profiles"
)

// TestEvalXQuADThroughServer runs the cross-lingual XQuAD task through a
// real weaviate-asmr serving Gemma 3 270M with its shipped profile: the
// English paragraphs of the development half are loaded into a class by
// xquad.Load, and each question retrieves its passages with nearVector
// (xquad's one-hot vectors, flat index) and is answered by
// generate(groupedResult) through eval.Run and eval.WeaviateReader, for a
// baseline and a steered system. Every answer must have been given
// exactly the task's passages, in order, all of them in the prompt; the
// steered system steered and the baseline did not.
func TestEvalXQuADThroughServer(t *testing.T) {
	skipShort(t)
	model := gemmatest.Path(t)
	root := RepoRoot(t)
	data := filepath.Join(filepath.Dir(root), "shared", "data", "xquad-dev")
	langs := []string{"de", "ru", "zh"}
	for _, l := range append([]string{"en"}, langs...) {
		if _, err := os.Stat(filepath.Join(data, "xquad."+l+".json")); err != nil {
			t.Skipf("needs the XQuAD development half in %s (xquad.<lang>.json for en %s): %v", data, strings.Join(langs, " "), err)
		}
	}
	begin := time.Now()
	byLang, err := probes.ReadXQuADDir(data, append([]string{"en"}, langs...))
	if err != nil {
		t.Fatal(err)
	}
	const perLang = 3
	task, err := xquad.Build(byLang, xquad.Options{Seed: 1, Limit: perLang})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	profilePath := filepath.Join(dir, profiles.Gemma3_270MName)
	if err := os.WriteFile(profilePath, profiles.Gemma3_270M, 0o644); err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, asmrEnv(writeOps(t, dir, profiles.GemmaOps(model, profilePath, 1, 2048))))
	waitModelsLoaded(t, s, "gemma")
	t.Logf("server ready with Gemma after %v", time.Since(begin).Round(100*time.Millisecond))

	const class = "XQuADPassage"
	ctx := context.Background()
	c := s.weaviate(t)
	start := time.Now()
	if err := xquad.Load(ctx, c, class, task); err != nil {
		t.Fatal(err)
	}
	n := len(task.Paragraphs)
	t.Logf("loaded %d paragraphs in %v", n, time.Since(start).Round(time.Millisecond))
	if got := s.Class(t, class)["vectorIndexType"]; got != "flat" {
		t.Errorf("vectorIndexType %v, want flat", got)
	}
	// Right after Load, every question already finds its passages (the
	// flat index once answered nearVector with nothing for a second after
	// an import, and an evaluation started at once scored empty answers).
	for id, v := range task.Vectors() {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		var data struct {
			Get map[string][]struct{ Paragraph int } `json:"Get"`
		}
		s.GraphQL(t, fmt.Sprintf("{ Get { %s(nearVector: {vector: [%s]}, limit: %d) { paragraph } } }", class, strings.Join(parts, ","), len(task.Order[id.ID])), nil, &data)
		var got []int
		for _, o := range data.Get[class] {
			got = append(got, o.Paragraph)
		}
		if !slices.Equal(got, task.Order[id.ID]) {
			t.Errorf("right after Load, question %s found paragraphs %v, want %v", id.ID, got, task.Order[id.ID])
		}
	}

	// Load is idempotent, completes an interrupted import, and refuses a
	// class that holds something else.
	if err := xquad.Load(ctx, c, class, task); err != nil {
		t.Fatalf("second Load: %v", err)
	}
	lost := xquad.ParagraphID(class, 5, task.Paragraphs[5])
	if err := c.Data().Deleter().WithClassName(class).WithID(lost).Do(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Count(t, class); got != n-1 {
		t.Fatalf("%d objects after deleting one, want %d", got, n-1)
	}
	if err := xquad.Load(ctx, c, class, task); err != nil {
		t.Fatalf("Load after losing an object: %v", err)
	}
	if got := s.Count(t, class); got != n {
		t.Errorf("%d objects, want %d", got, n)
	}
	other := *task
	other.Paragraphs = slices.Clone(task.Paragraphs)
	other.Paragraphs[0] += " (changed)"
	if err := xquad.Load(ctx, c, class, &other); err == nil || !strings.Contains(err.Error(), class) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("Load of another task into %s: %v; want an error naming the class and the fix", class, err)
	}

	var items []eval.Item
	for _, l := range langs {
		items = append(items, task.Items[l]...)
	}
	reader := &eval.WeaviateReader{
		URL: s.URL, Class: class, Search: eval.SearchNearVector, K: 3, Vectors: task.Vectors(),
		Properties: []string{"text"}, Model: "gemma", Profile: "gemma",
	}
	if err := reader.Check(); err != nil {
		t.Fatal(err)
	}
	st, err := eval.OpenStore(filepath.Join(dir, "items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	systems := []eval.System{
		{Name: eval.Baseline},
		{Name: eval.ASMR, Steer: &eval.Steering{AlphaAC: profiles.GemmaAlphaAC, AlphaCL: profiles.GemmaAlphaCL, TopK: profiles.GemmaTopK, Direction: profiles.GemmaDirection}},
	}
	cpu0 := cpuSeconds(s.PID())
	start = time.Now()
	stats, err := eval.Run(ctx, eval.Options{
		Dataset: "xquad", Items: items, Systems: systems, Reader: reader, Store: st,
		Template: profiles.GemmaPromptTemplate, MaxTokens: 16, Parallel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	recs := st.Records()
	if want := len(items) * len(systems); stats.Ran != want || len(recs) != want {
		t.Fatalf("ran %d, %d records; want %d", stats.Ran, len(recs), want)
	}
	t.Logf("%d answers in %v: %.2f s per answer", len(recs), elapsed.Round(time.Millisecond), elapsed.Seconds()/float64(len(recs)))
	if cpu1 := cpuSeconds(s.PID()); cpu0 >= 0 && cpu1 >= 0 {
		// What the server computed (its threads also spin while they wait
		// for a core, so this grows with contention too).
		t.Logf("server CPU time %.1f s: %.2f CPU-s per answer", cpu1-cpu0, (cpu1-cpu0)/float64(len(recs)))
	}

	answers := map[string]map[eval.Key]eval.Record{}
	ms := map[string]float64{}
	for _, r := range recs {
		if answers[r.System] == nil {
			answers[r.System] = map[eval.Key]eval.Record{}
		}
		answers[r.System][r.ItemKey()] = r
		ms[r.System] += r.Ms
		t.Logf("%-8s %s %s: %q (prompt %d tokens, %.1f s) gold %q", r.System, r.Lang, r.ID, r.Prediction, r.PromptTokens, r.Ms/1000, task.English[r.ID])
		want := make([]string, len(task.Contexts[r.ID]))
		for i, p := range task.Contexts[r.ID] {
			want[i] = strings.TrimSpace(p) // the module and the reader trim a passage
		}
		if !slices.Equal(r.Passages, want) {
			t.Errorf("%s %s/%s: passages %q, want the task's %q", r.System, r.Lang, r.ID, clipPassages(r.Passages), clipPassages(want))
		}
		if r.PassagesUsed != len(want) {
			t.Errorf("%s %s/%s: %d passages used, want %d", r.System, r.Lang, r.ID, r.PassagesUsed, len(want))
		}
		if strings.TrimSpace(r.Prediction) == "" {
			t.Errorf("%s %s/%s: empty answer (raw %q)", r.System, r.Lang, r.ID, r.Raw)
		}
		if r.PromptTokens == 0 || r.CompletionTokens == 0 {
			t.Errorf("%s %s/%s: metadata missing: %+v", r.System, r.Lang, r.ID, r)
		}
		steered := r.SteeredHeads > 0
		if steered != (r.System == eval.ASMR) {
			t.Errorf("%s %s/%s: %d heads steered", r.System, r.Lang, r.ID, r.SteeredHeads)
		}
	}
	for _, sys := range systems {
		t.Logf("%s: %.2f s per answer (mean of the records' times)", sys.Name, ms[sys.Name]/1000/float64(len(items)))
	}

	// Checked by running it: the German question on Luke Kuechly's tackles
	// is answered with its gold, 118, by both systems.
	const id = "56beb4343aeaaa14008c925d"
	for _, sys := range systems {
		r := answers[sys.Name][eval.Key{Lang: "de", ID: id}]
		if !strings.Contains(r.Prediction, "118") {
			t.Errorf("%s de/%s (%q): answered %q, want 118", sys.Name, id, r.Question, r.Prediction)
		}
	}
	t.Logf("TestEvalXQuADThroughServer took %v", time.Since(begin).Round(100*time.Millisecond))
}

// cpuSeconds is the user+system CPU time of process pid from
// /proc/<pid>/stat, or -1 where there is none.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command (which may hold spaces) end at ')'; utime
	// and stime are fields 14 and 15, in clock ticks (100 a second).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	k, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + k) / 100
}

// clipPassages shortens passages for a message.
func clipPassages(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if r := []rune(p); len(r) > 60 {
			p = string(r[:60]) + "…"
		}
		out[i] = p
	}
	return out
}

package probes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	dataSentencesFile = "testdata/sentences.jsonl"
	dataACFile        = "testdata/ac.jsonl"
	dataNQFile        = "testdata/nq_sample.jsonl"
	dataFloresDir     = "testdata/flores"
)

func shippedSentences(t *testing.T) []Sentence {
	t.Helper()
	s, err := ReadSentences(dataSentencesFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadSentencesShipped(t *testing.T) {
	sents := shippedSentences(t)
	perLang := map[string]int{}
	seen := map[string]bool{}
	for _, s := range sents {
		perLang[s.Lang]++
		if seen[s.Text] {
			t.Errorf("duplicate text %q", s.Text)
		}
		seen[s.Text] = true
	}
	if len(perLang) != len(DefaultCLLanguages) {
		t.Errorf("languages %v, want exactly %v", perLang, DefaultCLLanguages)
	}
	for _, l := range DefaultCLLanguages {
		if perLang[l] != 20 {
			t.Errorf("%s: %d sentences, want 20", l, perLang[l])
		}
	}
}

func TestReadSentencesErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"lang":"de","text":"Guten Tag."}` + "\n" + `{"lang":"","text":"x"}`, `:2: field "lang"`},
		{`{"lang":"de"}`, `:1: field "text"`},
		{`{"lang":"de",`, `:1:`},
	} {
		p := writeDataTemp(t, "s.jsonl", tc.body)
		if _, err := ReadSentences(p); err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("ReadSentences(%q) error %v, want it to contain %q", tc.body, err, p+tc.want)
		}
	}
}

// splitPair finds the two source sentences whose concatenation is text.
func splitPair(t *testing.T, text string, lang map[string]string) (string, string) {
	t.Helper()
	var found [][2]string
	for s := range lang {
		if rest, ok := strings.CutPrefix(text, s+" "); ok {
			if _, ok := lang[rest]; ok {
				found = append(found, [2]string{s, rest})
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("pair %q splits into source sentences %d ways, want 1", text, len(found))
	}
	return found[0][0], found[0][1]
}

func TestBuildCLPairsDefaults(t *testing.T) {
	sents := shippedSentences(t)
	lang := map[string]string{}
	for _, s := range sents {
		lang[s.Text] = s.Lang
	}
	ds, err := BuildCLPairs(sents, PairOptions{Seed: 1, Source: dataSentencesFile})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Attribute != "CL" {
		t.Errorf("attribute %q", ds.Attribute)
	}
	want := "CL: 20 sentences x 10 languages (de es fr it nl pt th tr vi zh), 3800+3800 pairs, seed 1, from " + dataSentencesFile
	if ds.Description != want {
		t.Errorf("description %q, want %q", ds.Description, want)
	}
	count := map[int]int{}
	distinct := map[string]bool{}
	sameLangs := map[string]int{}
	var firstLabels []int
	for i, s := range ds.Samples {
		count[s.Label]++
		distinct[s.Text] = true
		a, b := splitPair(t, s.Text, lang)
		switch s.Label {
		case 1:
			if lang[a] != lang[b] || a == b {
				t.Errorf("label 1 pair mixes %s and %s or repeats a sentence: %q", lang[a], lang[b], s.Text)
			}
			sameLangs[lang[a]]++
		case 0:
			if lang[a] == lang[b] {
				t.Errorf("label 0 pair is all %s: %q", lang[a], s.Text)
			}
		default:
			t.Fatalf("label %d", s.Label)
		}
		if i < 20 {
			firstLabels = append(firstLabels, s.Label)
		}
	}
	if count[1] != 3800 || count[0] != 3800 {
		t.Errorf("labels %v, want 3800 of each", count)
	}
	// 3800 = every ordered same-language pair once; different-language pairs
	// are sampled without replacement from 36000.
	if len(distinct) != 7600 {
		t.Errorf("%d distinct texts, want 7600", len(distinct))
	}
	for _, l := range DefaultCLLanguages {
		if sameLangs[l] != 380 {
			t.Errorf("%s: %d same-language pairs, want 380", l, sameLangs[l])
		}
	}
	if !slices.Contains(firstLabels, 0) || !slices.Contains(firstLabels, 1) {
		t.Errorf("output not shuffled: first labels %v", firstLabels)
	}
}

func TestBuildCLPairsSeed(t *testing.T) {
	sents := shippedSentences(t)
	o := PairOptions{PerLanguage: 10, Same: 500, Different: 500, Seed: 7}
	a, err := BuildCLPairs(sents, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BuildCLPairs(sents, o)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different datasets")
	}
	o.Seed = 8
	c, _ := BuildCLPairs(sents, o)
	if reflect.DeepEqual(a.Samples, c.Samples) {
		t.Error("different seeds gave the same samples")
	}
}

func TestBuildCLPairsWithReplacement(t *testing.T) {
	sents := []Sentence{
		{"de", "Eins."}, {"de", "Zwei."}, {"de", "Eins."}, // duplicate ignored
		{"deu_Latn", "Drei."}, // FLORES code, same language
		{"fr", "Un."}, {"fr", "Deux."},
	}
	ds, err := BuildCLPairs(sents, PairOptions{Languages: []string{"deu_Latn", "fr"}, PerLanguage: 2, Same: 10, Different: 9})
	if err != nil {
		t.Fatal(err)
	}
	// 2 languages x 2 x 1 = 4 same pairs, 4 x 2 = 8 different pairs: used
	// as evenly as possible.
	uses := map[string]int{}
	for _, s := range ds.Samples {
		uses[fmt.Sprint(s.Label, s.Text)]++
	}
	var same, diff []int
	for k, n := range uses {
		if k[0] == '1' {
			same = append(same, n)
		} else {
			diff = append(diff, n)
		}
	}
	slices.Sort(same)
	slices.Sort(diff)
	if !reflect.DeepEqual(same, []int{2, 2, 3, 3}) || !reflect.DeepEqual(diff, []int{1, 1, 1, 1, 1, 1, 1, 2}) {
		t.Errorf("pair use counts same %v different %v", same, diff)
	}
}

func TestBuildCLPairsErrors(t *testing.T) {
	sents := shippedSentences(t)
	for _, tc := range []struct {
		name string
		o    PairOptions
		want string
	}{
		{"too few", PairOptions{PerLanguage: 21}, `language "de" has 20 distinct sentences, need 21`},
		{"unknown language", PairOptions{Languages: []string{"de", "xx"}}, `no sentences for language "xx"`},
		{"one language", PairOptions{Languages: []string{"de"}}, "at least 2 languages"},
		{"duplicate", PairOptions{Languages: []string{"de", "deu_Latn"}}, "listed twice"},
		{"per language", PairOptions{PerLanguage: 1}, "PerLanguage >= 2"},
	} {
		_, err := BuildCLPairs(sents, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestDataSampleIndices(t *testing.T) {
	rng := newDataRNG(3)
	got := sampleIndices(rng, 1000, 1000)
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("count == n: not a permutation at %d", i)
		}
	}
	got = sampleIndices(rng, 1_000_000_000, 50)
	if len(got) != 50 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 50 {
		t.Errorf("large n: %d indices, want 50 distinct", len(got))
	}
}

func TestReadACShipped(t *testing.T) {
	recs, err := ReadAC(dataACFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 90 || len(recs) > 110 {
		t.Errorf("%d records, want about 100", len(recs))
	}
	labels := map[int]int{}
	perQuestion := map[string][2]int{}
	for _, r := range recs {
		labels[r.Label]++
		c := perQuestion[r.Question]
		c[r.Label]++
		perQuestion[r.Question] = c
	}
	if labels[0] != labels[1] {
		t.Errorf("labels %v, want balanced", labels)
	}
	for q, c := range perQuestion {
		if c != [2]int{1, 1} {
			t.Errorf("question %q: %d negative and %d positive passages, want 1 each", q, c[0], c[1])
		}
	}
}

func TestReadACErrors(t *testing.T) {
	good := `{"question":"q","passage":"p","label":1}`
	for _, tc := range []struct{ body, want string }{
		{good + "\n\n" + `{"question":"q","passage":" ","label":0}`, `:3: field "passage"`},
		{good + "\n" + `{"passage":"p","label":0}`, `:2: field "question"`},
		{`{"question":"q","passage":"p"}`, `:1: field "label" is missing`},
		{good + "\n" + `{"question":"q","passage":"p","label":2}`, `:2: field "label" is 2`},
		{`not json`, `:1:`},
		{``, `no AC records`},
	} {
		p := writeDataTemp(t, "ac.jsonl", tc.body)
		if _, err := ReadAC(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadAC(%q) error %v, want it to name the file and contain %q", tc.body, err, tc.want)
		}
	}
}

func TestACDataset(t *testing.T) {
	recs, err := ReadAC(dataACFile)
	if err != nil {
		t.Fatal(err)
	}
	ds := ACDataset(recs, dataACFile)
	if ds.Attribute != "AC" || len(ds.Samples) != len(recs) {
		t.Fatalf("attribute %q, %d samples", ds.Attribute, len(ds.Samples))
	}
	if want := "AC: 50 questions, 50 with-answer + 50 without-answer passages, from " + dataACFile; ds.Description != want {
		t.Errorf("description %q, want %q", ds.Description, want)
	}
	for i, s := range ds.Samples {
		if s.Label != recs[i].Label || s.Text != ACPrompt(recs[i].Question, recs[i].Passage) {
			t.Fatalf("sample %d does not match record", i)
		}
	}
	if got, want := ACPrompt(" Q? ", "P."), "Question: Q?\nPassage: P.\nDoes the passage answer the question?"; got != want {
		t.Errorf("ACPrompt = %q, want %q", got, want)
	}
}

func TestConvertNQSample(t *testing.T) {
	in, err := os.ReadFile(dataNQFile)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := ConvertNQ(bytes.NewReader(in), &out, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ConvertStats{Questions: 8, Written: 12, SkippedNoPositive: 1, SkippedNoNegative: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	answers := map[string][]string{}
	for line := range strings.Lines(string(in)) {
		var r NQRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		answers[r.Question] = r.Answers
	}
	p := writeDataTemp(t, "ac.jsonl", out.String())
	recs, err := ReadAC(p) // the output is valid ReadAC input
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != st.Written {
		t.Fatalf("%d records read back, %d written", len(recs), st.Written)
	}
	for i, r := range recs {
		norm := strings.Join(strings.Fields(strings.ToLower(r.Passage)), " ")
		has := slices.ContainsFunc(answers[r.Question], func(a string) bool {
			return strings.Contains(norm, strings.ToLower(a))
		})
		if has != (r.Label == 1) || r.Label != 1-i%2 {
			t.Errorf("record %d: label %d but answer present = %v: %q", i, r.Label, has, r.Passage)
		}
	}

	// Deterministic for a seed; the random choice among several positives
	// (the Kilimanjaro record) varies with it.
	var again bytes.Buffer
	if _, err := ConvertNQ(bytes.NewReader(in), &again, 1); err != nil || again.String() != out.String() {
		t.Errorf("same seed gave different output (err %v)", err)
	}
	picked := map[string]bool{}
	for seed := range uint64(16) {
		var b bytes.Buffer
		if _, err := ConvertNQ(bytes.NewReader(in), &b, seed); err != nil {
			t.Fatal(err)
		}
		picked[b.String()] = true
	}
	if len(picked) < 2 {
		t.Error("16 seeds all chose the same passages")
	}

	if _, err := ConvertNQ(strings.NewReader(`{"question":"q","answers":["a"],"passages":["a"]}`+"\n{"), &again, 1); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad JSON: error %v, want it to name line 2", err)
	}
}

func TestReadFlores(t *testing.T) {
	sents, err := ReadFlores(dataFloresDir, []string{"de", "fra_Latn", "zh"})
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, s := range sents {
		if s.Text == "" {
			t.Error("empty sentence")
		}
		langs = append(langs, s.Lang)
	}
	if want := []string{"de", "de", "de", "fr", "fr", "fr", "zh", "zh", "zh"}; !reflect.DeepEqual(langs, want) {
		t.Errorf("languages %v, want %v", langs, want)
	}

	// The devtest folder itself and extension-less files are accepted.
	direct, err := ReadFlores(filepath.Join(dataFloresDir, "devtest"), []string{"deu_latn"})
	if err != nil || !reflect.DeepEqual(direct, sents[:3]) {
		t.Errorf("devtest dir: %v, %v", direct, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tha_Thai"), []byte("สวัสดีตอนเช้า\n\nขอบคุณมาก\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	th, err := ReadFlores(dir, []string{"th"})
	if err != nil || len(th) != 2 || th[0].Lang != "th" {
		t.Errorf("extension-less file: %v, %v", th, err)
	}

	// The read sentences feed BuildCLPairs directly.
	if _, err := BuildCLPairs(sents, PairOptions{Languages: []string{"de", "fr", "zh"}, PerLanguage: 3, Same: 10, Different: 10}); err != nil {
		t.Error(err)
	}
}

func TestReadFloresMissing(t *testing.T) {
	_, err := ReadFlores(dataFloresDir, []string{"de", "it"})
	want := filepath.Join(dataFloresDir, "devtest", "ita_Latn.devtest")
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"it"`) {
		t.Errorf("error %v, want it to name %q", err, want)
	}
	if _, err := ReadFlores(dataFloresDir, []string{"klingon"}); err == nil || !strings.Contains(err.Error(), "unknown language") {
		t.Errorf("unknown language: error %v", err)
	}
}

func writeDataTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The compiled-in copies are the files in testdata.
func TestShippedDataMatchesFiles(t *testing.T) {
	emb, err := ShippedSentences()
	if err != nil {
		t.Fatal(err)
	}
	if file := shippedSentences(t); len(emb) != len(file) || emb[0] != file[0] || emb[len(emb)-1] != file[len(file)-1] {
		t.Fatalf("embedded sentences (%d) differ from %s (%d)", len(emb), dataSentencesFile, len(file))
	}
	ac, err := ShippedAC()
	if err != nil {
		t.Fatal(err)
	}
	file, err := ReadAC(dataACFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ac) != len(file) || ac[0] != file[0] {
		t.Fatalf("embedded AC records (%d) differ from %s (%d)", len(ac), dataACFile, len(file))
	}
}

package probes

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/profile"
)

// langSentences makes n distinct sentences per language.
func langSentences(n int, langs ...string) []Sentence {
	var out []Sentence
	for _, l := range langs {
		for i := range n {
			out = append(out, Sentence{Lang: l, Text: fmt.Sprintf("%s sentence %d.", l, i)})
		}
	}
	return out
}

func TestBuildLanguageDatasets(t *testing.T) {
	langs := []string{"de", "ru", "zh", "th", "ar"}
	sents := langSentences(30, langs...)
	o := LanguageOptions{Languages: langs, PerLanguage: 14, Seed: 7, Source: "fixture"}
	sets, err := BuildLanguageDatasets(sents, o)
	if err != nil {
		t.Fatal(err)
	}
	again, err := BuildLanguageDatasets(sents, o)
	if err != nil || !reflect.DeepEqual(sets, again) {
		t.Fatalf("not deterministic: %v", err)
	}
	o2 := o
	o2.Seed = 8
	if other, _ := BuildLanguageDatasets(sents, o2); reflect.DeepEqual(sets, other) {
		t.Error("another seed gives the same datasets")
	}
	if len(sets) != len(langs) {
		t.Fatalf("%d datasets for %d languages", len(sets), len(langs))
	}
	langOf := func(text string) string { return strings.Fields(text)[0] }
	all := map[string]bool{}
	for i, ds := range sets {
		lang := langs[i]
		if ds.Attribute != "LANG."+lang {
			t.Errorf("dataset %d is %q, want LANG.%s", i, ds.Attribute, lang)
		}
		if !strings.Contains(ds.Description, "14 sentences in "+lang) || !strings.Contains(ds.Description, "seed 7, from fixture") {
			t.Errorf("%s: description %q", ds.Attribute, ds.Description)
		}
		pos, neg := map[string]bool{}, map[string]int{}
		for _, s := range ds.Samples {
			all[s.Text] = true
			switch s.Label {
			case 1:
				if langOf(s.Text) != lang {
					t.Errorf("%s: positive %q is not in %s", ds.Attribute, s.Text, lang)
				}
				if pos[s.Text] {
					t.Errorf("%s: positive %q repeated", ds.Attribute, s.Text)
				}
				pos[s.Text] = true
			case 0:
				if langOf(s.Text) == lang {
					t.Errorf("%s: negative %q is in %s", ds.Attribute, s.Text, lang)
				}
				neg[langOf(s.Text)]++
			default:
				t.Errorf("%s: label %d", ds.Attribute, s.Label)
			}
		}
		// Balanced: 14 of each class; the 4 other languages give 14/4 = 3
		// or one more, 3+3+4+4.
		total := 0
		for l, n := range neg {
			total += n
			if n != 3 && n != 4 {
				t.Errorf("%s: %d negatives of %s, want 3 or 4", ds.Attribute, n, l)
			}
		}
		if len(pos) != 14 || total != 14 || len(neg) != 4 {
			t.Errorf("%s: %d positives, %d negatives from %d languages; want 14, 14 from 4", ds.Attribute, len(pos), total, len(neg))
		}
		// The samples are shuffled, not positives first.
		if labels := labelsOf(ds); slices.Equal(labels[:14], slices.Repeat([]int{1}, 14)) {
			t.Errorf("%s: samples not shuffled", ds.Attribute)
		}
	}
	// One pool: every text of every dataset is one of 14 per language, so
	// a shared capture takes 5 x 14 texts.
	if len(all) > 5*14 {
		t.Errorf("the datasets use %d distinct texts, more than the %d of one pool", len(all), 5*14)
	}
	// A language's draw does not depend on the others listed.
	two, err := BuildLanguageDatasets(sents, LanguageOptions{Languages: []string{"ru", "de"}, PerLanguage: 14, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(positives(two[1]), positives(sets[0])) {
		t.Error("LANG.de's sentences changed with the languages listed")
	}
}

func labelsOf(ds Dataset) []int {
	var out []int
	for _, s := range ds.Samples {
		out = append(out, s.Label)
	}
	return out
}

func positives(ds Dataset) []string {
	var out []string
	for _, s := range ds.Samples {
		if s.Label == 1 {
			out = append(out, s.Text)
		}
	}
	slices.Sort(out)
	return out
}

// Uneven counts: 40 over 11 other languages is 3 or 4 each, and over all
// datasets every language is drawn about equally often.
func TestBuildLanguageDatasetsEvenDraw(t *testing.T) {
	sets, err := BuildLanguageDatasets(langSentences(50, XQuADLanguages...), LanguageOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 12 || sets[0].Attribute != "LANG.ar" || sets[11].Attribute != "LANG.zh" {
		t.Fatalf("default languages: %d datasets, first %s", len(sets), sets[0].Attribute)
	}
	drawn := map[string]int{}
	for _, ds := range sets {
		if len(ds.Samples) != 2*DefaultLanguageSentences {
			t.Errorf("%s: %d samples, want %d", ds.Attribute, len(ds.Samples), 2*DefaultLanguageSentences)
		}
		per := map[string]int{}
		for _, s := range ds.Samples {
			if s.Label == 0 {
				per[strings.Fields(s.Text)[0]]++
			}
		}
		for l, n := range per {
			drawn[l] += n
			if n != 3 && n != 4 {
				t.Errorf("%s: %d negatives of %s, want 3 or 4", ds.Attribute, n, l)
			}
		}
	}
	for l, n := range drawn {
		// 11 datasets draw from l, each 3 or 4: 33..44, and seeded
		// evenly, well inside.
		if n < 33 || n > 44 {
			t.Errorf("%s drawn %d times as a negative", l, n)
		}
	}
}

func TestBuildLanguageDatasetsErrors(t *testing.T) {
	sents := append(langSentences(20, "de", "ru"), langSentences(12, "th")...)
	for _, c := range []struct {
		o    LanguageOptions
		want string
	}{
		{LanguageOptions{Languages: []string{"de", "ru", "th"}, PerLanguage: 15}, `language "th" has 12 distinct sentences, need 15`},
		{LanguageOptions{Languages: []string{"de", "vi"}, PerLanguage: 15}, `no sentences for language "vi"`},
		{LanguageOptions{Languages: []string{"de", "deu_Latn"}, PerLanguage: 15}, `language "deu_Latn" listed twice`},
		{LanguageOptions{Languages: []string{"de"}, PerLanguage: 15}, "need at least 2 languages"},
		{LanguageOptions{Languages: []string{"de", "ru"}, PerLanguage: 3}, "need at least 10 sentences per language"},
		{LanguageOptions{Languages: []string{"de", "yue_Hant"}, PerLanguage: 15}, `language "yue_Hant" has no ISO 639-1 code`},
	} {
		_, err := BuildLanguageDatasets(sents, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.o, err, c.want)
		}
	}
}

// On the planted model, "German" sentences carry the planted head's
// desired marker and the other languages its other marker: one shared
// capture of every sentence feeds all language datasets, LANG.de finds
// the planted head, and the rows are what a capture of each dataset on its
// own gives.
func TestCaptureDistinctFeedsLanguageDatasets(t *testing.T) {
	m, _, plant := plantedModel(t)
	r := rand.New(rand.NewPCG(9, 9))
	var sents []Sentence
	for _, l := range []string{"de", "ru", "zh"} {
		marker := byte('%')
		if l == "de" {
			marker = '#'
		}
		for range 80 {
			sents = append(sents, Sentence{Lang: l, Text: markerText(r, marker)})
		}
	}
	sets, err := BuildLanguageDatasets(sents, LanguageOptions{PerLanguage: 60, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var captureTotal int
	c, err := CaptureDistinct(ctx, m, sets, ProbeOptions{Progress: func(stage string, done, total int) {
		if stage == "capture" {
			captureTotal = total
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3*60 || c.Acts.N != 3*60 || captureTotal != 3*60 {
		t.Fatalf("captured %d texts (progress total %d), want each of the 3 x 60 sentences once", c.Acts.N, captureTotal)
	}
	o := ProbeOptions{TopK: 4, Train: TrainOptions{Seed: 1}}
	de, _, err := c.Probe(ctx, sets[0], o)
	if err != nil {
		t.Fatal(err)
	}
	if sets[0].Attribute != "LANG.de" || de.Desired != profile.LanguageDesired("de") || de.Data.Samples != 120 || de.Data.Positive != 60 {
		t.Fatalf("LANG.de: %q, %+v", de.Desired, de.Data)
	}
	best := de.Heads[0]
	// (The planted head reaches 0.95 on 600 samples, TestProbeFinds...; a
	// validation split of 24 here gives 22/24.)
	if best.Layer != plant.Layer || best.Head != plant.Head || best.Accuracy < 0.85 || de.Heads[1].Accuracy > 0.75 {
		t.Fatalf("LANG.de best head L%d.H%d acc %.3f, want the planted L%d.H%d", best.Layer, best.Head, best.Accuracy, plant.Layer, plant.Head)
	}

	// The same dataset captured on its own: the same activations within
	// float noise (batches differ), the same choice of heads.
	alone, _, err := Probe(ctx, m, sets[0], o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range de.Heads {
		a, b := de.Heads[i], alone.Heads[i]
		if a.Layer != b.Layer || a.Head != b.Head || a.Accuracy != b.Accuracy {
			t.Fatalf("head %d: shared L%d.H%d %.3f, alone L%d.H%d %.3f", i, a.Layer, a.Head, a.Accuracy, b.Layer, b.Head, b.Accuracy)
		}
		if cos := cosine(a.MassMean.Vector, b.MassMean.Vector); cos < 0.9999 || math.Abs(a.MassMean.Sigma-b.MassMean.Sigma) > 1e-4*b.MassMean.Sigma {
			t.Fatalf("head %d: mass-mean cosine %.6f, sigma %g vs %g", i, cos, a.MassMean.Sigma, b.MassMean.Sigma)
		}
	}

	// A text that was not captured is an error naming the dataset.
	bad := Dataset{Attribute: "LANG.xx", Samples: []Sample{{Text: "never seen", Label: 1}}}
	if _, _, err := c.Probe(ctx, bad, o); err == nil || !strings.Contains(err.Error(), "probe LANG.xx: sample 0 was not captured") {
		t.Errorf("uncaptured text: %v", err)
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

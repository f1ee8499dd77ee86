package eval

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestScoreXQuADReport scores hand-made XQuAD items (Thai and Chinese
// questions over English passages) through ScorePredictions and
// BuildReport: MKQA's F1 and EM in the question's language (character
// tokens for th and zh), F1 against the English gold, the answer-language
// rate, the line-level pass of the raw answer, no R@2kt, and a t-test
// against the baseline on every metric.
func TestScoreXQuADReport(t *testing.T) {
	items := []Item{
		{ID: "q1", Lang: "th", Question: "เมืองหลวงของฝรั่งเศสคืออะไร", Answers: []Answer{{Text: "ปารีส"}}, English: []string{"Paris"}},
		{ID: "q2", Lang: "th", Question: "ก่อตั้งเมื่อปีใด", Answers: []Answer{{Text: "1876"}}, English: []string{"1876"}},
		{ID: "q1", Lang: "zh", Question: "法国的首都是哪里？", Answers: []Answer{{Text: "巴黎"}}, English: []string{"Paris"}},
		{ID: "q2", Lang: "zh", Question: "他在哪所大学学习？", Answers: []Answer{{Text: "北京大学"}}, English: []string{"Peking University"}},
	}
	rec := func(lang, id, raw string) (Key, Record) {
		return Key{lang, id}, Record{Lang: lang, ID: id, Raw: raw, Prediction: CleanAnswer(raw)}
	}
	preds := func(raws map[Key]string) Predictions {
		p := Predictions{}
		for k, raw := range raws {
			key, r := rec(k.Lang, k.ID, raw)
			p[key] = r
		}
		return p
	}
	base := preds(map[Key]string{
		{"th", "q1"}: "Paris",              // right content, wrong language
		{"th", "q2"}: "1876",               // right, but digits have no language
		{"zh", "q1"}: "巴黎",                 // right, in Chinese
		{"zh", "q2"}: "Answer: 北京\nPeking", // half the characters; an English second line
	})
	asmr := preds(map[Key]string{
		{"th", "q1"}: "ปารีส",
		{"th", "q2"}: "ปี 1876",
		{"zh", "q1"}: "巴黎",
		{"zh", "q2"}: "北京大学",
	})
	det, err := NewLangDetector("th", "zh")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]float64{ // system -> metric -> th q1, th q2, zh q1, zh q2
		Baseline: {
			MetricF1:        {0, 1, 1, 2.0 / 3},
			MetricEM:        {0, 1, 1, 0},
			MetricF1English: {1, 1, 0, 0},
			MetricLang:      {0, 0, 1, 1},
			MetricLines:     {0, 0, 1, 0},
		},
		ASMR: {
			// ป ี 1 8 7 6 against 1 8 7 6: precision 4/6, recall 1.
			MetricF1:        {1, 0.8, 1, 1},
			MetricEM:        {1, 0, 1, 1},
			MetricF1English: {0, 2.0 / 3, 0, 0},
			MetricLang:      {1, 1, 1, 1},
			MetricLines:     {1, 1, 1, 1},
		},
	}
	for name, p := range map[string]Predictions{Baseline: base, ASMR: asmr} {
		sc, err := ScorePredictions(XQuAD, items, p, det)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sc[MetricRecall]; ok {
			t.Errorf("%s: xquad scored R@2kt", name)
		}
		for m, w := range want[name] {
			var got []float64
			for _, s := range sc[m] {
				got = append(got, s.Value)
			}
			if !approxEqual(got, w) {
				t.Errorf("%s %s: %v, want %v", name, m, got, w)
			}
		}
	}

	systems := []System{{Name: Baseline}, {Name: ASMR, Steer: &Steering{AlphaAC: 1, AlphaCL: 1}}}
	rep, err := BuildReport(XQuAD, []string{"th", "zh"}, items, systems, map[string]Predictions{Baseline: base, ASMR: asmr}, det)
	if err != nil {
		t.Fatal(err)
	}
	var metrics []string
	for _, tb := range rep.Tables {
		metrics = append(metrics, tb.Metric)
	}
	if !slices.Equal(metrics, Metrics(XQuAD)) || !slices.Equal(metrics, []string{MetricF1, MetricEM, MetricF1English, MetricLang, MetricLines}) {
		t.Fatalf("tables %v, want %v", metrics, Metrics(XQuAD))
	}
	mean := func(m, sys string, col int) Cell {
		for _, tb := range rep.Tables {
			if tb.Metric == m {
				for _, r := range tb.Rows {
					if r.System == sys {
						return r.Cells[col]
					}
				}
			}
		}
		t.Fatalf("no %s row of %s", sys, m)
		return Cell{}
	}
	for _, c := range []struct {
		m, sys      string
		th, zh, avg float64
	}{
		{MetricF1, Baseline, 0.5, 5.0 / 6, 2.0 / 3},
		{MetricEM, Baseline, 0.5, 0.5, 0.5},
		{MetricF1English, Baseline, 1, 0, 0.5},
		{MetricLang, Baseline, 0, 1, 0.5},
		{MetricLines, Baseline, 0, 0.5, 0.25},
		{MetricF1, ASMR, 0.9, 1, 0.95},
		{MetricF1English, ASMR, 1.0 / 3, 0, 1.0 / 6},
		{MetricLines, ASMR, 1, 1, 1},
	} {
		got := []float64{mean(c.m, c.sys, 0).Mean, mean(c.m, c.sys, 1).Mean, mean(c.m, c.sys, 2).Mean}
		if !approxEqual(got, []float64{c.th, c.zh, c.avg}) {
			t.Errorf("%s %s: th, zh, avg %v, want %v", c.sys, c.m, got, []float64{c.th, c.zh, c.avg})
		}
	}
	// The paired t-test against the baseline covers every metric, the new
	// ones included.
	for _, m := range Metrics(XQuAD) {
		for col := range 3 {
			if mean(m, ASMR, col).Test == nil {
				t.Errorf("%s column %d: ASMR has no t-test against the baseline", m, col)
			}
			if mean(m, Baseline, col).Test != nil {
				t.Errorf("%s column %d: the baseline is tested against itself", m, col)
			}
		}
	}
	md := rep.Markdown()
	for _, s := range []string{"# XQuAD cross-lingual", "### F1 against the English gold", "### Line-level pass rate", "| Baseline | 50.0 | 83.3 | 66.7 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "R@2kt") {
		t.Errorf("report has R@2kt:\n%s", md)
	}

	// An item without its English gold cannot be scored on f1_en.
	bad := slices.Clone(items)
	bad[0].English = nil
	if _, err := ScorePredictions(XQuAD, bad, base, det); err == nil || !strings.Contains(err.Error(), "no en gold") {
		t.Errorf("no English gold: %v", err)
	}
	if _, _, err := LoadDataset(XQuAD, "dir", nil, 0); err == nil {
		t.Error("LoadDataset read xquad")
	}
}

func approxEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

package eval

import (
	"strings"
	"testing"
)

func TestAnswerInTokens(t *testing.T) {
	filler := func(n int) string { return strings.Repeat("w ", n) }
	for _, c := range []struct {
		name     string
		passages []string
		answers  []string
		hit, ok  bool
	}{
		{"in the first passage", []string{"Kennedy was shot in Dallas, Texas."}, []string{"Dallas"}, true, true},
		{"case and punctuation", []string{"ELEVATION: 8,848.86 M."}, []string{"8848.86 m"}, true, true},
		{"absent", []string{"Kennedy was shot in Texas."}, []string{"Dallas"}, false, true},
		{"any answer or alias", []string{"born in 1911"}, []string{"11 ديسمبر 1911", "1911"}, true, true},
		{"substring, as the official script", []string{"in 1945"}, []string{"5"}, true, true},
		// Dallas is token 2000: inside. Token 2001: outside.
		{"token 2000", []string{filler(1999) + "Dallas"}, []string{"Dallas"}, true, true},
		{"token 2001", []string{filler(2000) + "Dallas"}, []string{"Dallas"}, false, true},
		{"token 2001 over passages", []string{filler(1000), filler(1000), "Dallas"}, []string{"Dallas"}, false, true},
		{"token 2000 over passages", []string{filler(1000), filler(999), "Dallas and more"}, []string{"Dallas"}, true, true},
		// A multi-token answer must fit whole: "Jean" is token 2000.
		{"answer cut at the budget", []string{filler(1999) + "Jean Sibelius"}, []string{"Jean Sibelius"}, false, true},
		// Each Han character is a token: 東 is token 2000, 京 token 2001.
		{"Han characters are tokens", []string{strings.Repeat("字", 1999) + "東京"}, []string{"東京"}, false, true},
		{"Han characters inside", []string{strings.Repeat("字", 1998) + "東京"}, []string{"東京"}, true, true},
		{"no answer", []string{"anything"}, []string{""}, false, false},
		{"yes/no skipped", []string{"yes it is"}, []string{"yes"}, false, false},
		{"no passages", nil, []string{"Dallas"}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			hit, ok := AnswerInTokens(c.passages, c.answers, TokenBudget)
			if hit != c.hit || ok != c.ok {
				t.Errorf("got hit=%v ok=%v, want hit=%v ok=%v", hit, ok, c.hit, c.ok)
			}
		})
	}
}

func TestScoreRecallFixtures(t *testing.T) {
	items, err := ReadXORTyDi("testdata/xor_dev_full_sample.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := ReadContexts("testdata/xor_contexts_sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	scores, err := ScoreRecall(All(items), ctx)
	if err != nil {
		t.Fatal(err)
	}
	// English passages, native answers: found only where an answer is a
	// number or a Latin name written the same way (ru 1703, ar 1911,
	// fi Jean Sibelius and 1917). 1867年 and 1397년 are not found; the
	// No Answer item is not scored, so ru is 1 of 2.
	want := map[string]float64{"ja": 0, "ru": 0.5, "ar": 0.5, "ko": 0, "fi": 1, "bn": 0, "te": 0}
	agg := Summarize(scores)
	if len(scores) != 13 {
		t.Errorf("%d items scored, want 13", len(scores))
	}
	for _, lm := range agg.Langs {
		if lm.Mean != want[lm.Lang] {
			t.Errorf("%s R@2kt = %v, want %v", lm.Lang, lm.Mean, want[lm.Lang])
		}
	}
	if !near(agg.Macro, 2.0/7) {
		t.Errorf("macro R@2kt = %v, want %v", agg.Macro, 2.0/7)
	}

	mk, err := ReadMKQA("testdata/mkqa_sample.jsonl", []string{"en", "es", "th", "zh"})
	if err != nil {
		t.Fatal(err)
	}
	if ctx, err = ReadContexts("testdata/mkqa_contexts_sample.jsonl"); err != nil {
		t.Fatal(err)
	}
	if scores, err = ScoreRecall(All(mk), ctx); err != nil {
		t.Fatal(err)
	}
	// Scored: year, Cervantes, 11, Everest, Berlin Wall (unanswerable,
	// binary and long_answer have nothing to find). en finds all 5; es
	// misses "9 de noviembre de 1989"; th finds only 1889 and 11; zh finds
	// the aliases 1889 and 8848.86 m, and 11.
	want = map[string]float64{"en": 1, "es": 0.8, "th": 0.4, "zh": 0.6}
	for _, lm := range Summarize(scores).Langs {
		if lm.N != 5 || !near(lm.Mean, want[lm.Lang]) {
			t.Errorf("%s R@2kt = %v over %d, want %v over 5", lm.Lang, lm.Mean, lm.N, want[lm.Lang])
		}
	}
	delete(ctx, "6915606477668963399")
	if _, err := ScoreRecall(All(mk), ctx); err == nil {
		t.Error("missing passages must be an error")
	}
}

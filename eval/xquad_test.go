package eval

import (
	"math"
	"slices"
	"testing"
)

func TestPassageOrder(t *testing.T) {
	goldFirst := 0
	for i := range 200 {
		id := "q" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		got, err := PassageOrder(5, 2, 2, 7, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !slices.Contains(got, 2) {
			t.Fatalf("%s: %v, want gold 2 and two distractors", id, got)
		}
		seen := map[int]bool{}
		for _, p := range got {
			if p < 0 || p >= 5 || seen[p] {
				t.Fatalf("%s: %v: out of range or repeated", id, got)
			}
			seen[p] = true
		}
		if got[0] == 2 {
			goldFirst++
		}
		again, _ := PassageOrder(5, 2, 2, 7, id)
		if !slices.Equal(got, again) {
			t.Fatalf("%s: %v then %v: not deterministic", id, got, again)
		}
	}
	// Gold is first about a third of the time, not always and not never.
	if goldFirst < 40 || goldFirst > 95 {
		t.Errorf("gold first in %d of 200 orders, want about 67", goldFirst)
	}
	// Another seed gives other orders.
	a, _ := PassageOrder(9, 0, 2, 1, "x")
	diff := false
	for s := uint64(2); s < 12 && !diff; s++ {
		b, _ := PassageOrder(9, 0, 2, s, "x")
		diff = !slices.Equal(a, b)
	}
	if !diff {
		t.Error("ten seeds gave the same order")
	}
	// A short article gives what it has.
	if got, _ := PassageOrder(2, 1, 2, 1, "y"); len(got) != 2 || !slices.Contains(got, 0) || !slices.Contains(got, 1) {
		t.Errorf("two paragraphs: %v", got)
	}
	if got, _ := PassageOrder(1, 0, 2, 1, "z"); !slices.Equal(got, []int{0}) {
		t.Errorf("one paragraph: %v", got)
	}
	for _, c := range []struct{ n, gold, k int }{{0, 0, 2}, {3, 3, 2}, {3, -1, 2}, {3, 0, -1}} {
		if _, err := PassageOrder(c.n, c.gold, c.k, 1, "bad"); err == nil {
			t.Errorf("PassageOrder(%d, %d, %d): no error", c.n, c.gold, c.k)
		}
	}
}

func TestAnswerLines(t *testing.T) {
	got := AnswerLines(" В 1876 году.\n\n1876\n  -- \nIn 1876 ")
	if want := []string{"В 1876 году.", "In 1876"}; !slices.Equal(got, want) {
		t.Errorf("AnswerLines = %q, want %q", got, want)
	}
}

// TestXQuADScoresByHand checks the scores on examples worked out by hand,
// in Thai and Chinese (scored by character, MKQA's mixed segmentation) and
// in Russian and English (by word).
func TestXQuADScoresByHand(t *testing.T) {
	d, err := NewLangDetector("th", "zh", "ru")
	if err != nil {
		t.Fatal(err)
	}
	items := []Item{
		{ID: "q1", Lang: "th", Question: "โทรศัพท์ได้รับสิทธิบัตรในปีใด", Answers: []Answer{{Text: "1876"}}},
		{ID: "q1", Lang: "zh", Question: "电话是哪一年获得专利的？", Answers: []Answer{{Text: "1876年"}}},
		{ID: "q1", Lang: "ru", Question: "В каком году был запатентован телефон?", Answers: []Answer{{Text: "в 1876 году"}}},
		{ID: "q2", Lang: "zh", Question: "谁发明了电话？", Answers: []Answer{{Text: "贝尔"}}},
	}
	preds := map[Key]string{
		// Thai by character: ป ี 1 8 7 6 against 1 8 7 6: P 4/6, R 1, F1 0.8.
		{"th", "q1"}: "ปี 1876",
		// Chinese by character: 贝 尔 在 1 8 7 6 年 against 1 8 7 6 年: P 5/8, R 1, F1 10/13.
		{"zh", "q1"}: "贝尔在1876年",
		// Russian by word ("в" is no article), both lines: телефон
		// запатентовали в 1876 году in 1876 against в 1876 году: P 3/7, R 1, F1 0.6.
		{"ru", "q1"}: "Телефон запатентовали в 1876 году.\nIn 1876.",
		// English answer to a Chinese question: no character in common.
		{"zh", "q2"}: "Alexander Graham Bell",
	}
	english := map[string][]string{"q1": {"1876"}, "q2": {"Alexander Graham Bell"}}
	for i := range items {
		items[i].English = english[items[i].ID]
	}

	f1 := map[Key]float64{}
	for _, it := range items {
		f1[it.Key()] = MKQAF1(preds[it.Key()], it.Golds(), it.Lang)
	}
	wantF1 := map[Key]float64{{"th", "q1"}: 0.8, {"zh", "q1"}: 10.0 / 13, {"ru", "q1"}: 0.6, {"zh", "q2"}: 0}
	for k, w := range wantF1 {
		if math.Abs(f1[k]-w) > 1e-12 {
			t.Errorf("F1 %v = %v, want %v", k, f1[k], w)
		}
	}

	// Against the English gold: Thai "ปี 1876" (English rules, by word: ปี, 1876)
	// has 1876, P 1/2 R 1, F1 2/3; the Chinese answer is one word with no
	// space, so 0; the Russian answer has one 1876 that counts among its seven
	// words: P 1/7, R 1, F1 0.25.
	en, err := ScoreF1English(items, preds)
	if err != nil {
		t.Fatal(err)
	}
	wantEn := []float64{2.0 / 3, 0, 0.25, 1}
	for i, s := range en {
		if math.Abs(s.Value-wantEn[i]) > 1e-12 {
			t.Errorf("English F1 %v = %v, want %v", s.Key, s.Value, wantEn[i])
		}
	}

	lang, err := ScoreLanguage(items, preds, d)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ScoreLinePass(items, preds, d)
	if err != nil {
		t.Fatal(err)
	}
	// Thai and Chinese answers are in their language. The Russian answer is
	// Russian overall but its second line is English, so it fails the line
	// pass. The English answer to the Chinese question fails both.
	wantLang, wantLines := []float64{1, 1, 1, 0}, []float64{1, 1, 0, 0}
	for i := range items {
		if lang[i].Value != wantLang[i] || lines[i].Value != wantLines[i] {
			t.Errorf("%v: language %v line pass %v, want %v %v", items[i].Key(), lang[i].Value, lines[i].Value, wantLang[i], wantLines[i])
		}
	}

	noEnglish := slices.Clone(items)
	noEnglish[3].English = nil
	if _, err := ScoreF1English(noEnglish, preds); err == nil {
		t.Error("an item without an English gold gave no error")
	}
	delete(preds, Key{"th", "q1"})
	if _, err := ScoreLinePass(items, preds, d); err == nil {
		t.Error("a missing prediction gave no error")
	}
}

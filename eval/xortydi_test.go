package eval

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Expected values are worked by hand from eval_xor_full.py; the comments show
// the tokens each side becomes.
func TestXORF1EM(t *testing.T) {
	for _, c := range []struct {
		name, lang, pred string
		golds            []string
		f1, em           float64
	}{
		// MeCab/kagome: 東京都 -> 東京 都, and the space in the prediction is a
		// word boundary anyway: same tokens.
		{"ja segmentation only", "ja", "東京 都", []string{"東京都"}, 1, 1},
		// テキサス 州 ダラス vs ダラス: P=1, R=1/3, F1=2(1/3)/(4/3).
		{"ja partial word overlap", "ja", "ダラス", []string{"テキサス州ダラス"}, 0.5, 0},
		{"ja multiple golds take the max", "ja", "ダラス", []string{"テキサス州ダラス", "ダラス"}, 1, 1},
		// 1867 年 -> 年 dropped -> 1867.
		{"ja counter 年", "ja", "1867", []string{"1867年"}, 1, 1},
		{"ja counter 人", "ja", "約1250万", []string{"約1250万人"}, 1, 1},
		// Prediction: ・ -> space: ジョン f ケネディ. Gold keeps ・ (not ASCII
		// punctuation): ジョン ・ f ・ ケネディ. P=3/3, R=3/5, F1=0.75.
		{"ja ・ replaced only in prediction", "ja", "ジョン・F・ケネディ", []string{"ジョン・F・ケネディ"}, 0.75, 0},
		{"ko counter 년", "ko", "1397", []string{"1397년"}, 1, 1},
		{"ru ASCII punctuation removed", "ru", "Толстой.", []string{"Толстой"}, 1, 1},
		// «» are not in string.punctuation: «толстой» is another token.
		{"ru Unicode punctuation kept", "ru", "«Толстой»", []string{"Толстой"}, 0, 0},
		{"case and punctuation", "fi", "SIBELIUS!", []string{"Sibelius"}, 1, 1},
		// No article removal: the sibelius vs sibelius: P=1/2, R=1.
		{"articles are tokens", "fi", "The Sibelius", []string{"Sibelius"}, 2.0 / 3, 0},
		// лев толстой vs лев николаевич толстой: P=1, R=2/3 -> 0.8; vs
		// толстой: P=1/2, R=1 -> 2/3. Max 0.8.
		{"max over golds", "ru", "Лев Толстой", []string{"Лев Николаевич Толстой", "Толстой"}, 0.8, 0},
		// No ال removal in XOR-TyDi: مدينة كانبرا vs كانبرا.
		{"ar two tokens", "ar", "مدينة كانبرا", []string{"كانبرا"}, 2.0 / 3, 0},
		{"empty prediction", "ru", "", []string{"1703"}, 0, 0},
		{"punctuation-only prediction", "ru", "...", []string{"1703"}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := XORF1(c.pred, c.golds, c.lang); !near(got, c.f1) {
				t.Errorf("F1 = %v, want %v", got, c.f1)
			}
			if got := XOREM(c.pred, c.golds, c.lang); got != c.em {
				t.Errorf("EM = %v, want %v", got, c.em)
			}
		})
	}
}

func TestXORTokens(t *testing.T) {
	for _, c := range []struct {
		s, lang string
		pred    bool
		want    []string
	}{
		{"テキサス州ダラス", "ja", false, []string{"テキサス", "州", "ダラス"}},
		{"東京、大阪", "ja", true, []string{"東京", "大阪"}},       // 、 -> "," -> removed
		{"東京、大阪", "ja", false, []string{"東京", "、", "大阪"}}, // golds keep 、
		{"日本人", "ja", false, []string{"日本"}},              // 人 removed inside a word
		// No segmentation outside Japanese: Chinese stays one token.
		{"米格尔·德·塞万提斯", "zh", false, []string{"米格尔·德·塞万提斯"}},
	} {
		if got := XORTokens(c.s, c.lang, c.pred); !slices.Equal(got, c.want) {
			t.Errorf("XORTokens(%q, %s, %v) = %q, want %q", c.s, c.lang, c.pred, got, c.want)
		}
	}
}

func TestXORBLEU(t *testing.T) {
	floor := math.Pow(floatMin, 0.25) // one n-gram order without a match
	for _, c := range []struct {
		name, lang, pred string
		golds            []string
		want             float64
	}{
		{"identical", "fi", "Jean Sibelius", []string{"Jean Sibelius"}, 1},
		{"identical, 4 characters", "ru", "1703", []string{"1703"}, 1},
		{"disjoint", "fi", "abc", []string{"xyz"}, 0},
		{"empty prediction", "fi", "", []string{"xyz"}, 0},
		// Characters: p1=4/5 p2=3/4 p3=2/3 p4=1/2, same length: (1/5)^(1/4).
		{"partial", "fi", "abcde", []string{"abcdx"}, math.Pow(0.2, 0.25)},
		// All precisions 1, hypothesis 4 vs reference 8: BP = e^(1-8/4).
		{"brevity penalty", "fi", "abcd", []string{"abcdefgh"}, math.Exp(-1)},
		// The closest reference length counts (4, not 8): BP = 1.
		{"closest reference", "fi", "abcd", []string{"abcdefgh", "abcd"}, 1},
		// Fewer than 4 characters: no 4-gram, precision float_info.min.
		{"identical, 3 characters", "fi", "abc", []string{"abc"}, floor},
		// Japanese reference is MeCab's line "富士山 \n" (5 chars), the
		// hypothesis the raw 3 characters: no 4-gram and BP = e^(1-5/3).
		{"ja reference is a wakati line", "ja", "富士山", []string{"富士山"}, math.Exp(-2.0/3) * floor},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := XORBLEU(c.pred, c.golds, c.lang); !near(got, c.want) {
				t.Errorf("BLEU = %v, want %v", got, c.want)
			}
		})
	}
}

func TestXORTokenBLEU(t *testing.T) {
	// Tokens jean sibelius: p1=1, p2=1, p3 and p4 have no n-gram: 0.1/1 each
	// (method1): (0.1*0.1)^(1/4).
	if got := XORTokenBLEU("Jean Sibelius", []string{"Jean Sibelius"}, "fi"); !near(got, math.Pow(0.01, 0.25)) {
		t.Errorf("2 tokens = %v", got)
	}
	// Japanese is segmented on both sides: 徳川 家康 は 1543 に 生まれ た 。
	// (年 dropped) against itself: all precisions 1.
	if got := XORTokenBLEU("徳川家康は1543年に生まれた。", []string{"徳川家康は1543年に生まれた。"}, "ja"); !near(got, 1) {
		t.Errorf("ja identical = %v", got)
	}
	if got := XORTokenBLEU("Kekkonen", []string{"Jean Sibelius"}, "fi"); got != 0 {
		t.Errorf("disjoint = %v", got)
	}
}

func TestScoreXORTyDi(t *testing.T) {
	items, err := ReadXORTyDi("testdata/xor_dev_full_sample.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	preds := map[Key]string{}
	for id, p := range map[string]string{
		"-7940587018706934302": "富士山",         // ja 1
		"5318520389742315478":  "1867年です",     // ja: 1867 です vs 1867: 2/3
		"-1148752214325789123": "ダラス",         // ja 1 (second gold)
		"2761309415521987460":  "Толстой",     // ru 1
		"-4476214408877431955": "в 1703 году", // ru: 1/3 precision: 0.5
		"8823071126347704310":  "не знаю",     // ru, No Answer: skipped
		"-3305917784512296620": "كانبرا",      // ar 1
		"609885121739402148":   "1911",        // ar 1
		"-6025188713220981745": "서울특별시",       // ko 1
		"1477530626411120397":  "1397년",       // ko 1
		"-8817422301196470042": "Sibelius",    // fi 1
		"3950277140651218335":  "",            // fi 0
		"-2093844763516009284": "1913",        // bn 0: the gold is ১৯১৩
		"7146651008250931586":  "న్యూఢిల్లీ",  // te 1
	} {
		preds[findKey(t, items, id)] = p
	}
	scores, err := ScoreXORTyDi(All(items), preds)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(scores["f1"]); n != 13 {
		t.Fatalf("%d F1 scores, want 13 (the No Answer item is skipped)", n)
	}
	agg := Summarize(scores["f1"])
	want := map[string]float64{"ja": 8.0 / 9, "ru": 0.75, "ar": 1, "ko": 1, "fi": 0.5, "bn": 0, "te": 1}
	for _, lm := range agg.Langs {
		if !near(lm.Mean, want[lm.Lang]) {
			t.Errorf("%s F1 = %v, want %v", lm.Lang, lm.Mean, want[lm.Lang])
		}
	}
	// (8/9 + 3/4 + 1 + 1 + 1/2 + 0 + 1) / 7 = 185/252.
	if !near(agg.Macro, 185.0/252) {
		t.Errorf("macro F1 = %v, want %v", agg.Macro, 185.0/252)
	}
	// EM: ja 2/3, ru 1/2, ar 1, ko 1, fi 1/2, bn 0, te 1.
	if m := Summarize(scores["em"]).Macro; !near(m, (2.0/3+0.5+1+1+0.5+0+1)/7) {
		t.Errorf("macro EM = %v", m)
	}
	delete(preds, findKey(t, items, "7146651008250931586"))
	if _, err := ScoreXORTyDi(All(items), preds); err == nil {
		t.Error("a missing prediction must be an error")
	}
}

func findKey(t *testing.T, byLang map[string][]Item, id string) Key {
	t.Helper()
	for _, it := range All(byLang) {
		if it.ID == id {
			return it.Key()
		}
	}
	t.Fatalf("no item %s", id)
	return Key{}
}

package eval

import (
	"slices"
	"testing"
)

// Expected values are worked by hand from mkqa_eval_util.py.
func TestMKQAF1EM(t *testing.T) {
	for _, c := range []struct {
		name, lang, pred string
		golds            []string
		f1, em           float64
	}{
		{"alias", "de", "elf", []string{"11", "elf"}, 1, 1},
		{"text", "de", "11", []string{"11", "elf"}, 1, 1},
		{"German article", "de", "Die Elf", []string{"11", "elf"}, 1, 1},
		{"English article", "en", "The Beatles", []string{"Beatles"}, 1, 1},
		{"Spanish article", "es", "el gato", []string{"gato"}, 1, 1},
		// Gold "" is No Answer: 1 iff the prediction normalises to nothing.
		{"unanswerable, empty prediction", "de", "", []string{""}, 1, 1},
		{"unanswerable, an answer", "de", "keine Antwort", []string{""}, 0, 0},
		{"unanswerable, punctuation only", "fr", " . ", []string{""}, 1, 1},
		{"unanswerable, article only", "de", "die", []string{""}, 1, 1},
		{"answerable, empty prediction", "es", "", []string{"once", "11"}, 0, 0},
		// Characters for zh: 1 8 8 9 vs 1 8 8 9 年: P=1, R=4/5 -> 8/9.
		{"zh character tokens", "zh", "1889", []string{"1889年"}, 8.0 / 9, 0},
		{"zh alias", "zh", "1889", []string{"1889年", "1889"}, 1, 1},
		{"zh_cn code", "zh_cn", "1889", []string{"1889年"}, 8.0 / 9, 0},
		// 。 is not ASCII punctuation: 5 tokens vs 4, P=4/5, R=1 -> 8/9.
		{"zh full-width punctuation kept", "zh", "塞万提斯。", []string{"塞万提斯"}, 8.0 / 9, 0},
		// 10 characters, all among the gold's 17 (เ occurs 4 times there):
		// P=1, R=10/17 -> 20/27.
		{"th characters", "th", "เซร์บันเตส", []string{"มิเกล เด เซร์บันเตส"}, 20.0 / 27, 0},
		{"th alias", "th", "เซร์บันเตส", []string{"มิเกล เด เซร์บันเตส", "เซร์บันเตส"}, 1, 1},
		// 8.848,86 meter -> 884886 meter vs 884886 m: P=R=1/2.
		{"number with unit", "de", "8.848,86 Meter", []string{"8848,86 m", "8849 m"}, 0.5, 0},
		// Python lowers İ to i + U+0307, so it differs from a plain i.
		{"Turkish dotted I", "tr", "istanbul", []string{"İstanbul"}, 0, 0},
		{"Turkish dotted I, same spelling", "tr", "İSTANBUL", []string{"İstanbul"}, 1, 1},
		{"binary gold is English", "de", "ja", []string{"yes"}, 0, 0},
		{"binary", "de", "Yes", []string{"yes"}, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := MKQAF1(c.pred, c.golds, c.lang); !near(got, c.f1) {
				t.Errorf("F1 = %v, want %v", got, c.f1)
			}
			if got := MKQAEM(c.pred, c.golds, c.lang); got != c.em {
				t.Errorf("EM = %v, want %v", got, c.em)
			}
		})
	}
}

// The article expressions keep Python's semantics, quirks included.
func TestMKQATokens(t *testing.T) {
	for _, c := range []struct {
		s, lang string
		want    []string
	}{
		{"les chats", "fr", []string{"s", "chats"}},     // no trailing \b: "le" + "s"
		{"Leonardo", "fr", []string{"onardo"}},          // a word prefix goes too
		{"l'homme", "fr", []string{"lhomme"}},           // ' is removed first
		{"Italia", "it", []string{"talia"}},             // "i" at a word start
		{"desk des", "nl", []string{"desk"}},            // \b on both sides
		{"đó là mèo", "vi", []string{"đó", "mèo"}},      // Unicode \b after à
		{"những con mèo", "vi", []string{"con", "mèo"}}, // Unicode \b before ữ
		{"mezzo-der", "de", []string{"mezzoder"}},       // - removed before articles
		{"الرياض", "ar", []string{"رياض"}},              // every ال
		{"1889年", "zh_cn", []string{"1", "8", "8", "9", "年"}},
		{"Don Quixote", "ja", []string{"d", "o", "n", "q", "u", "i", "x", "o", "t", "e"}},
		{"", "de", nil},
	} {
		if got := MKQATokens(c.s, c.lang); !slices.Equal(got, c.want) {
			t.Errorf("MKQATokens(%q, %s) = %q, want %q", c.s, c.lang, got, c.want)
		}
	}
}

func TestScoreMKQA(t *testing.T) {
	langs := []string{"de", "zh"}
	items, err := ReadMKQA("testdata/mkqa_sample.jsonl", langs)
	if err != nil {
		t.Fatal(err)
	}
	preds := map[Key]string{}
	for _, it := range All(items) {
		preds[it.Key()] = "" // abstain everywhere
	}
	// Abstaining scores 1 on the unanswerable and long_answer items (gold
	// "") and 0 on the 6 others: 2/8 per language.
	scores, err := ScoreMKQA(All(items), preds)
	if err != nil {
		t.Fatal(err)
	}
	for _, lm := range Summarize(scores["f1"]).Langs {
		if lm.N != 8 || !near(lm.Mean, 0.25) {
			t.Errorf("%s: F1 %v over %d items, want 0.25 over 8", lm.Lang, lm.Mean, lm.N)
		}
	}
	for _, it := range items["zh"] {
		if it.ID == "6915606477668963399" {
			preds[it.Key()] = "1889年。" // 。 stays a token: P=5/6, R=1 -> 10/11
		}
	}
	scores, _ = ScoreMKQA(All(items), preds)
	for _, lm := range Summarize(scores["f1"]).Langs {
		want := 0.25
		if lm.Lang == "zh" {
			want = (2 + 10.0/11) / 8
		}
		if !near(lm.Mean, want) {
			t.Errorf("%s: F1 %v, want %v", lm.Lang, lm.Mean, want)
		}
	}
}

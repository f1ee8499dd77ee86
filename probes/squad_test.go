package probes

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const squadDir = "testdata/squad"

// xquadDevDir is the development half of XQuAD, outside the repository
// (../shared of the checkout); TestXQuADDevFiles is skipped without it.
const xquadDevDir = "../../shared/data/xquad-dev"

func readFixture(t *testing.T, lang string) *SQuAD {
	t.Helper()
	s, err := ReadSQuAD(filepath.Join(squadDir, "xquad."+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAnswerOffsets fails for any answer whose Start does not point at its
// text in the context.
func checkAnswerOffsets(t *testing.T, s *SQuAD) {
	t.Helper()
	for ai, a := range s.Articles {
		for pi, p := range a.Paragraphs {
			rs := []rune(p.Context)
			for _, q := range p.Questions {
				for _, ans := range q.Answers {
					end := ans.Start + utf8.RuneCountInString(ans.Text)
					if ans.Start < 0 || end > len(rs) || string(rs[ans.Start:end]) != ans.Text {
						t.Errorf("%s: data[%d].paragraphs[%d] %s: answer %q not at rune %d", s.Name, ai, pi, q.ID, ans.Text, ans.Start)
					}
				}
			}
		}
	}
}

func TestReadSQuADFixture(t *testing.T) {
	en := readFixture(t, "en")
	if en.Version != "1.1" || len(en.Articles) != 3 || en.NumParagraphs() != 5 || en.NumQuestions() != 7 {
		t.Fatalf("version %q, %d articles, %d paragraphs, %d questions; want 1.1, 3, 5, 7",
			en.Version, len(en.Articles), en.NumParagraphs(), en.NumQuestions())
	}
	if en.Articles[1].Title != "Sourdough" {
		t.Errorf("title %q", en.Articles[1].Title)
	}
	q := en.Articles[0].Paragraphs[0].Questions[1]
	want := SQuADQuestion{ID: "lh-keeper", Text: "Who was the last keeper of the lighthouse?", Answers: []SQuADAnswer{{Text: "Marta Olsen", Start: 161}}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("question\n got %+v\nwant %+v", q, want)
	}
	for _, lang := range []string{"en", "de", "zh"} {
		s := readFixture(t, lang)
		if len(s.Warnings) != 0 || s.Unanswerable != 0 {
			t.Errorf("%s: warnings %q, %d unanswerable", lang, s.Warnings, s.Unanswerable)
		}
		checkAnswerOffsets(t, s)
	}
	// Chinese offsets count runes, not bytes.
	zh := readFixture(t, "zh")
	if a := zh.Articles[1].Paragraphs[1].Questions[0].Answers[0]; a.Text != "冰箱" || a.Start != 27 {
		t.Errorf("zh answer %+v, want 冰箱 at rune 27", a)
	}
}

func TestReadSQuADByteOrderMark(t *testing.T) {
	// The German fixture's first context starts with U+FEFF, counted by
	// its answer_start values in the file (1873 at 37 there).
	de := readFixture(t, "de")
	p := de.Articles[0].Paragraphs[0]
	if strings.ContainsRune(p.Context, '\ufeff') || !strings.HasPrefix(p.Context, "Der Leuchtturm") {
		t.Errorf("context not cleaned: %q", p.Context[:20])
	}
	if a := p.Questions[0].Answers[0]; a.Start != 36 {
		t.Errorf("answer %+v, want start 36 after removing the BOM", a)
	}
	// A BOM in the middle shifts only the offsets after it.
	s, err := ParseSQuAD(strings.NewReader(`{"data":[{"title":"T","paragraphs":[{"context":"ab \ufeffcd ef",
		"qas":[{"id":"1","question":"q?","answers":[{"text":"ab","answer_start":0},{"text":"ef","answer_start":7}]}]}]}]}`), "inline")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Articles[0].Paragraphs[0]
	if got.Context != "ab cd ef" || got.Questions[0].Answers[0].Start != 0 || got.Questions[0].Answers[1].Start != 6 {
		t.Errorf("got %q %+v", got.Context, got.Questions[0].Answers)
	}
}

func TestParseSQuADReportsAllProblems(t *testing.T) {
	_, err := ReadSQuAD(filepath.Join(squadDir, "bad.json"))
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("err %v (%T), want *DataError", err, err)
	}
	want := []string{
		"data[1]: empty title",
		"data[1]: no paragraphs",
		`data[2].paragraphs[0].qas[0]: duplicate id "a1" (first at data[0].paragraphs[0].qas[0])`,
		"data[2].paragraphs[0].qas[1]: empty question",
		"data[2].paragraphs[0].qas[1].answers[0]: empty text",
		"data[2].paragraphs[0].qas[2]: no answers",
		`data[2].paragraphs[0].qas[3].answers[0]: text "zeta" does not occur in the context`,
		"data[2].paragraphs[0].qas[4].answers[0]: answer_start -2 is not an integer >= 0",
		`data[2].paragraphs[0].qas[5].answers[0]: answer_start "6" is not an integer >= 0`,
		"data[2].paragraphs[0].qas[6]: missing id",
		"data[2].paragraphs[0].qas[6].answers[0]: missing answer_start",
		"data[2].paragraphs[1]: missing context",
		"data[3]: missing title",
		"data[3].paragraphs[0].qas: not a list",
	}
	if !slices.Equal(de.Problems, want) {
		t.Errorf("problems:\n got %q\nwant %q", de.Problems, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, filepath.Join(squadDir, "bad.json")+": 14 problems:") || !strings.Contains(msg, "\n  data[2].paragraphs[0].qas[1].answers[0]: empty text") {
		t.Errorf("message:\n%s", msg)
	}
}

func TestParseSQuADErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"syntax", "{\"data\": [\n  {\"title\": \"x\",, }]}", "syntax:2:17: "},
		{"no data", `{"version": "1.1"}`, "top level: missing data"},
		{"empty data", `{"data": []}`, "data: no articles"},
		{"data not a list", `{"data": {}}`, "data: not a list"},
		{"article not an object", `{"data": [3]}`, "data[0]: not an object"},
		{"not an object", `[1, 2]`, "not an object: top level: not a JSON object"},
	} {
		_, err := ParseSQuAD(strings.NewReader(c.in), c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Long lists are cut in the message, not in Problems.
	var qas []string
	for i := range 30 {
		qas = append(qas, fmt.Sprintf(`{"id":"%d","question":"q?","answers":[{"text":"zz","answer_start":0}]}`, i))
	}
	_, err := ParseSQuAD(strings.NewReader(`{"data":[{"title":"t","paragraphs":[{"context":"ab","qas":[`+strings.Join(qas, ",")+`]}]}]}`), "many")
	var de *DataError
	if !errors.As(err, &de) || len(de.Problems) != 30 || !strings.HasSuffix(err.Error(), "\n  ... and 5 more") {
		t.Errorf("err %v", err)
	}
}

func TestParseSQuADMisalignedStartIsWarning(t *testing.T) {
	s, err := ParseSQuAD(strings.NewReader(`{"data":[{"title":"T","paragraphs":[{"context":"red, green, red again",
		"qas":[{"id":"1","question":"Which colour?","answers":[{"text":"red","answer_start":14}]}]}]}]}`), "inline")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `data[0].paragraphs[0].qas[0].answers[0]: answer_start 14 does not point at "red"; using its occurrence at 12`) {
		t.Errorf("warnings %q", s.Warnings)
	}
	if a := s.Articles[0].Paragraphs[0].Questions[0].Answers[0]; a.Start != 12 {
		t.Errorf("start %d, want the nearest occurrence 12", a.Start)
	}
}

func TestParseSQuADUnanswerable(t *testing.T) {
	s, err := ParseSQuAD(strings.NewReader(`{"data":[{"title":"T","paragraphs":[{"context":"A short text.",
		"qas":[{"id":"1","question":"What is short?","answers":[{"text":"text","answer_start":8}]},
		       {"id":"2","question":"What is long?","answers":[],"is_impossible":true}]}]}]}`), "v2")
	if err != nil {
		t.Fatal(err)
	}
	if s.Unanswerable != 1 || s.NumQuestions() != 1 || s.Articles[0].Paragraphs[0].Questions[0].ID != "1" {
		t.Errorf("unanswerable %d, questions %+v", s.Unanswerable, s.Articles[0].Paragraphs[0].Questions)
	}
}

func TestReadXQuADDir(t *testing.T) {
	got, err := ReadXQuADDir(squadDir, []string{"en", "deu_Latn", "ZH"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["de"] == nil || got["zh"] == nil || got["en"] == nil {
		t.Fatalf("keys %v", slices.Sorted(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if got["zh"].Articles[2].Paragraphs[0].Questions[1].ID != "gl-flow" {
		t.Errorf("zh not read")
	}

	_, err = ReadXQuADDir(squadDir, []string{"en", "fr", "en"})
	var de *DataError
	if !errors.As(err, &de) || len(de.Problems) != 2 ||
		!strings.Contains(de.Problems[0], filepath.Join(squadDir, "xquad.fr.json")+": no such file (XQuAD languages are ar de el en") ||
		de.Problems[1] != `language "en" listed twice` {
		t.Errorf("err %v", err)
	}
}

// writeModified copies the fixture of lang into dir after applying edit to
// its JSON text.
func writeModified(t *testing.T, dir, lang string, edit func(string) string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(squadDir, "xquad."+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "xquad."+lang+".json"), []byte(edit(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadXQuADDirNotParallel(t *testing.T) {
	dir := t.TempDir()
	writeModified(t, dir, "en", func(s string) string { return s })
	// German: one id changed.
	writeModified(t, dir, "de", func(s string) string { return strings.Replace(s, `"sd-fridge"`, `"sd-cold"`, 1) })
	// Chinese: the second lighthouse paragraph dropped.
	writeModified(t, dir, "zh", func(text string) string {
		var v struct {
			Data []struct {
				Title      string `json:"title"`
				Paragraphs []any  `json:"paragraphs"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatal(err)
		}
		v.Data[0].Paragraphs = v.Data[0].Paragraphs[:1]
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	})
	_, err := ReadXQuADDir(dir, []string{"en", "de", "zh"})
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("err %v, want *DataError", err)
	}
	en, dd, zh := filepath.Join(dir, "xquad.en.json"), filepath.Join(dir, "xquad.de.json"), filepath.Join(dir, "xquad.zh.json")
	want := []string{
		fmt.Sprintf(`data[1].paragraphs[1].qas[0]: id "sd-cold" in %s, "sd-fridge" in %s`, dd, en),
		fmt.Sprintf("data[0]: 1 paragraphs in %s, 2 in %s", zh, en),
	}
	if !slices.Equal(de.Problems, want) {
		t.Errorf("problems:\n got %q\nwant %q", de.Problems, want)
	}
	if _, err := ReadXQuADDir(dir, []string{"en"}); err != nil {
		t.Errorf("one language: %v", err)
	}
}

// articleOf maps every paragraph text of s to its article index.
func articleOf(s *SQuAD) map[string]int {
	m := map[string]int{}
	for ai, a := range s.Articles {
		for _, p := range a.Paragraphs {
			m[strings.TrimSpace(p.Context)] = ai
		}
	}
	return m
}

func TestACFromSQuAD(t *testing.T) {
	en := readFixture(t, "en")
	recs, st, err := ACFromSQuAD(en, en, SQuADACOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 14 || st != (SQuADACStats{Questions: 7, Pairs: 14}) {
		t.Fatalf("%d records, stats %+v", len(recs), st)
	}
	art := articleOf(en)
	type qinfo struct {
		article int
		context string
		answer  string
	}
	byQ := map[string]qinfo{}
	for ai, a := range en.Articles {
		for _, p := range a.Paragraphs {
			for _, q := range p.Questions {
				byQ[q.Text] = qinfo{ai, p.Context, q.Answers[0].Text}
			}
		}
	}
	for i := 0; i < len(recs); i += 2 {
		pos, neg := recs[i], recs[i+1]
		qi := byQ[pos.Question]
		switch {
		case pos.Label != 1 || neg.Label != 0 || pos.Question != neg.Question:
			t.Errorf("pair %d: %+v / %+v", i/2, pos, neg)
		case pos.Passage != qi.context || !strings.Contains(pos.Passage, qi.answer):
			t.Errorf("pair %d: positive %q is not the question's paragraph with %q", i/2, pos.Passage, qi.answer)
		case art[neg.Passage] == qi.article:
			t.Errorf("pair %d: negative from the question's own article %d", i/2, qi.article)
		case strings.Contains(neg.Passage, qi.answer):
			t.Errorf("pair %d: negative contains the answer %q", i/2, qi.answer)
		}
	}
	again, _, _ := ACFromSQuAD(en, en, SQuADACOptions{Seed: 1})
	if !reflect.DeepEqual(recs, again) {
		t.Error("same seed, different records")
	}
	other, _, _ := ACFromSQuAD(en, en, SQuADACOptions{Seed: 2})
	if reflect.DeepEqual(recs, other) {
		t.Error("seeds 1 and 2 give the same records")
	}
	ds := ACDataset(recs, "fixture")
	if ds.Attribute != "AC" || len(ds.Samples) != 14 || !strings.HasPrefix(ds.Description, "AC: 7 questions, 7 with-answer + 7 without-answer") {
		t.Errorf("dataset %q, %d samples", ds.Description, len(ds.Samples))
	}
}

func TestACFromSQuADMaxQuestions(t *testing.T) {
	en := readFixture(t, "en")
	order := map[string]int{}
	for _, a := range en.Articles {
		for _, p := range a.Paragraphs {
			for _, q := range p.Questions {
				order[q.Text] = len(order)
			}
		}
	}
	recs, st, err := ACFromSQuAD(en, en, SQuADACOptions{MaxQuestions: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || st.Questions != 3 {
		t.Fatalf("%d records, %+v", len(recs), st)
	}
	for i := 2; i < len(recs); i += 2 {
		if order[recs[i].Question] <= order[recs[i-2].Question] {
			t.Errorf("questions not in file order: %q after %q", recs[i].Question, recs[i-2].Question)
		}
	}
	again, _, _ := ACFromSQuAD(en, en, SQuADACOptions{MaxQuestions: 3, Seed: 7})
	if !reflect.DeepEqual(recs, again) {
		t.Error("not deterministic")
	}
	all, _, _ := ACFromSQuAD(en, en, SQuADACOptions{MaxQuestions: 100, Seed: 7})
	if len(all) != 14 {
		t.Errorf("MaxQuestions above the count: %d records", len(all))
	}
	if _, _, err := ACFromSQuAD(en, en, SQuADACOptions{MaxQuestions: -1}); err == nil {
		t.Error("negative MaxQuestions accepted")
	}
}

func TestACFromSQuADCrossLingual(t *testing.T) {
	de, en := readFixture(t, "de"), readFixture(t, "en")
	recs, _, err := ACFromSQuAD(de, en, SQuADACOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	art := articleOf(en)
	if recs[0].Question != "Wann wurde der Leuchtturm auf Gull Point gebaut?" || recs[0].Passage != en.Articles[0].Paragraphs[0].Context {
		t.Errorf("first pair %+v", recs[0])
	}
	if recs[2].Question != "Wer war die letzte Wärterin des Leuchtturms?" || !strings.Contains(recs[2].Passage, "Marta Olsen") {
		t.Errorf("second pair %+v", recs[2])
	}
	for i, r := range recs {
		if _, ok := art[r.Passage]; !ok {
			t.Errorf("record %d: passage is not an English paragraph: %q", i, r.Passage)
		}
	}
	// Questions and passages must be parallel.
	bad := readFixture(t, "en")
	bad.Articles[1].Paragraphs[0].Questions[0].ID = "other"
	bad.Articles = bad.Articles[:2]
	_, _, err = ACFromSQuAD(de, bad, SQuADACOptions{})
	var derr *DataError
	if !errors.As(err, &derr) || len(derr.Problems) != 2 ||
		!strings.Contains(derr.Problems[0], "data: 3 articles in "+de.Name) ||
		!strings.Contains(derr.Problems[1], `data[1].paragraphs[0].qas[0]: id "sd-rise" in `) {
		t.Errorf("err %v", err)
	}
}

// acTestSQuAD builds a SQuAD in code: articles of paragraphs, each
// paragraph's question asking for answer.
func acTestSQuAD(articles [][]string, answer string) *SQuAD {
	s := &SQuAD{Name: "inline"}
	n := 0
	for _, paras := range articles {
		var a SQuADArticle
		for _, c := range paras {
			var qs []SQuADQuestion
			if i := strings.Index(c, answer); i >= 0 {
				n++
				qs = []SQuADQuestion{{ID: fmt.Sprint(n), Text: fmt.Sprintf("Question %d?", n), Answers: []SQuADAnswer{{Text: answer, Start: utf8.RuneCountInString(c[:i])}}}}
			}
			a.Paragraphs = append(a.Paragraphs, SQuADParagraph{Context: c, Questions: qs})
		}
		s.Articles = append(s.Articles, a)
	}
	return s
}

func TestACFromSQuADNegativeAvoidsAnswer(t *testing.T) {
	// Only "Nothing here." is a valid negative of the question in article 0:
	// every other paragraph of other articles mentions the answer.
	s := acTestSQuAD([][]string{
		{"The kiwi is a bird."},
		{"A KIWI fruit is green.", "Nothing here."},
		{"Kiwi birds cannot fly."},
	}, "kiwi")
	for seed := range uint64(20) {
		recs, st, err := ACFromSQuAD(s, s, SQuADACOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		// Only the first question (article 0) has "kiwi" in lower case;
		// its negative must be the one paragraph without the answer.
		if st.Questions != 1 || recs[1].Passage != "Nothing here." {
			t.Fatalf("seed %d: %+v, negative %q", seed, st, recs[1].Passage)
		}
	}
	// No usable negative at all: the question is skipped, and with no
	// pairs left that is an error.
	s = acTestSQuAD([][]string{{"kiwi one"}, {"kiwi two"}}, "kiwi")
	_, st, err := ACFromSQuAD(s, s, SQuADACOptions{})
	if err == nil || st.SkippedNoNegative != 2 {
		t.Errorf("err %v, stats %+v", err, st)
	}
	// One article: no negatives possible.
	s = acTestSQuAD([][]string{{"kiwi one", "other"}}, "kiwi")
	if _, _, err := ACFromSQuAD(s, s, SQuADACOptions{}); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("one article: err %v", err)
	}
}

func TestSplitSentences(t *testing.T) {
	for _, c := range []struct {
		lang, text string
		want       []string
	}{
		{"en", `Dr. Smith moved to the U.S. Army base in 1990. He stayed for 3.5 years! Did he like it? "Yes." he said. (It was fine.)`,
			[]string{"Dr. Smith moved to the U.S. Army base in 1990.", "He stayed for 3.5 years!", "Did he like it?", `"Yes." he said.`, "(It was fine.)"}},
		{"en", "He wrote this [citation needed]. Then he left.[1] She said: \"I am here to . . . stay.\" The end",
			[]string{"He wrote this.", "Then he left.", `She said: "I am here to . . . stay."`, "The end"}},
		{"de", "Am 7. Februar 2016 spielte die Mannschaft. Papst Gregor VII. Hildebrand lebte lange, z. B. in Rom. Sowohl in „Ja!“ als auch hier. Ende.",
			[]string{"Am 7. Februar 2016 spielte die Mannschaft.", "Papst Gregor VII. Hildebrand lebte lange, z. B. in Rom.", "Sowohl in „Ja!“ als auch hier.", "Ende."}},
		// Ordinals and Roman numerals end sentences where there is no ordinal dot.
		{"en", "It was won by Louis XIV. Then came 12. Later.", []string{"It was won by Louis XIV.", "Then came 12.", "Later."}},
		{"zh", "今天天气很好。我们去公园散步吧！你想一起来吗？他说：“好的。”价格是3.5元，约翰·史密斯 J. Smith 也来了。 。",
			[]string{"今天天气很好。", "我们去公园散步吧！", "你想一起来吗？", "他说：“好的。”", "价格是3.5元，约翰·史密斯 J. Smith 也来了。。"}},
		{"hi", "आज मौसम बहुत अच्छा है। डॉ. शर्मा ने 2.5 घंटे पढ़ाया। क्या तुम भी आओगे?",
			[]string{"आज मौसम बहुत अच्छा है।", "डॉ. शर्मा ने 2.5 घंटे पढ़ाया।", "क्या तुम भी आओगे?"}},
		{"ar", "هل زرت المتحف الجديد؟ إنه قريب من المحطة. سأذهب إليه غداً مع 3.5 أصدقاء.",
			[]string{"هل زرت المتحف الجديد؟", "إنه قريب من المحطة.", "سأذهب إليه غداً مع 3.5 أصدقاء."}},
		{"el", "Πού είναι ο σταθμός; Είναι κοντά στην πλατεία. Πότε φεύγει το τρένο\u037e Στις οκτώ.",
			[]string{"Πού είναι ο σταθμός;", "Είναι κοντά στην πλατεία.", "Πότε φεύγει το τρένο\u037e", "Στις οκτώ."}},
		// Outside Greek ';' does not end a sentence.
		{"en", "One clause; another clause. Next.", []string{"One clause; another clause.", "Next."}},
		{"ru", "В 1990 г. Иванов уехал. Он вернулся (ум. 2001) домой.", []string{"В 1990 г. Иванов уехал.", "Он вернулся (ум. 2001) домой."}},
		{"en", "\ufeffNo terminator at all", []string{"No terminator at all"}},
		{"en", "  ", nil},
	} {
		if got := SplitSentences(c.lang, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s %q:\n got %q\nwant %q", c.lang, c.text, got, c.want)
		}
	}
}

func TestSplitSentencesThai(t *testing.T) {
	// Clauses (space-separated) of 30 runes each. A chunk closes at the
	// first clause boundary once it has 120 runes: after a b c d (123).
	// Spaces next to a number or before ๆ are not boundaries, so the second
	// chunk, e f 2016 a b (128 runes), closes only after ๆ. The third, c d,
	// has 61 runes and stays; a last chunk under 40 runes, such as e, joins
	// the one before.
	clause := func(c rune) string { return strings.Repeat(string(c), 30) }
	a, b, c, d, e, f := clause('ก'), clause('ข'), clause('ค'), clause('ง'), clause('จ'), clause('ฉ')
	text := a + " " + b + " " + c + " " + d + " " + e + "  " + f + " 2016 " + a + " " + b + " ๆ " + c + " " + d
	want := []string{a + " " + b + " " + c + " " + d, e + " " + f + " 2016 " + a + " " + b + " ๆ", c + " " + d}
	if got := SplitSentences("th", text); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	text = a + " " + b + " " + c + " " + d + " " + e
	want = []string{a + " " + b + " " + c + " " + d + " " + e}
	if got := SplitSentences("th", text); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// Hand-written Thai, yesterday's rain then today's sun: the first four
	// clauses make 139 runes, so the chunk closes before "วันนี้" (today);
	// the rest (103 runes, ๆ inside) is the second.
	yesterday := "เมื่อวานนี้ฝนตกหนักตั้งแต่เช้าจนถึงเย็น ถนนหลายสายในตัวเมืองมีน้ำท่วมขัง ทำให้การจราจรติดขัดเป็นเวลานาน ผู้คนจำนวนมากต้องเดินลุยน้ำกลับบ้าน"
	today := "วันนี้ท้องฟ้าแจ่มใส เด็ก ๆ ออกมาเล่นฟุตบอลกันที่สนามหน้าโรงเรียน และพ่อค้าแม่ค้าก็กลับมาเปิดร้านตามปกติ"
	if got := SplitSentences("th", yesterday+" "+today); !slices.Equal(got, []string{yesterday, today}) {
		t.Errorf("got %q", got)
	}
	// A short paragraph stays one chunk, and '.' in an abbreviation is not
	// a sentence end.
	th := "วันนี้อากาศดีมาก เราจึงไปเดินเล่นที่สวนสาธารณะ ระยะทาง 2.5 กม. จากบ้าน"
	if got := SplitSentences("th", th); !slices.Equal(got, []string{th}) {
		t.Errorf("got %q", got)
	}
	if got := SplitSentences("tha_Thai", "ก  ข"); !slices.Equal(got, []string{"ก ข"}) {
		t.Errorf("FLORES code: got %q", got)
	}
}

func TestSentencesFromSQuAD(t *testing.T) {
	byLang := map[string]*SQuAD{"en": readFixture(t, "en"), "deu_Latn": readFixture(t, "de"), "zh": readFixture(t, "zh")}
	all := SentencesFromSQuAD(byLang, 0, 1)
	count := map[string]int{}
	var langs []string
	for _, s := range all {
		if n := utf8.RuneCountInString(s.Text); n < MinSentenceRunes || n > MaxSentenceRunes {
			t.Errorf("kept %d-rune sentence %q", n, s.Text)
		}
		if count[s.Lang] == 0 {
			langs = append(langs, s.Lang)
		}
		count[s.Lang]++
	}
	// en and de: all 12 sentences of the 5 paragraphs are long enough;
	// zh: 5 of its 12 are under 20 runes: "如今灯塔已经自动运行，由太阳能板供电。" (19),
	// "酵头每天都要用面粉和水喂养。" (14), "面包师常常把同一份酵头保存很多年。" (17),
	// "缓慢而低温的发酵让面包带有酸味。" (16), "许多面包师会把面团放进冰箱过夜。" (16);
	// "冬天降雪多于夏天融雪的地方就会形成冰川。" (20) is kept.
	if !slices.Equal(langs, []string{"de", "en", "zh"}) || count["en"] != 12 || count["de"] != 12 || count["zh"] != 7 {
		t.Fatalf("languages %v, counts %v", langs, count)
	}
	if all[count["de"]].Text != "The lighthouse on Gull Point was built in 1873 from local granite." {
		t.Errorf("first English sentence %q", all[count["de"]].Text)
	}

	pick := SentencesFromSQuAD(byLang, 3, 1)
	if len(pick) != 9 || !reflect.DeepEqual(pick, SentencesFromSQuAD(byLang, 3, 1)) {
		t.Fatalf("%d sentences, or not deterministic", len(pick))
	}
	if reflect.DeepEqual(pick, SentencesFromSQuAD(byLang, 3, 2)) {
		t.Error("seeds 1 and 2 pick the same sentences")
	}
	// A language's choice does not depend on the other languages present.
	onlyEN := SentencesFromSQuAD(map[string]*SQuAD{"en": byLang["en"]}, 3, 1)
	if !reflect.DeepEqual(onlyEN, pick[3:6]) {
		t.Errorf("English alone %q, with others %q", onlyEN, pick[3:6])
	}
	// The sentences feed the existing CL pair builder.
	ds, err := BuildCLPairs(all, PairOptions{Languages: []string{"en", "de", "zh"}, PerLanguage: 4, Same: 10, Different: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Samples) != 20 {
		t.Errorf("%d samples", len(ds.Samples))
	}
}

// TestXQuADDevFiles checks the reader and the builders on the real XQuAD
// development half, ../shared/data/xquad-dev/xquad.<lang>.json for all 12
// languages, which is outside the repository; skipped when absent.
func TestXQuADDevFiles(t *testing.T) {
	if _, err := os.Stat(filepath.Join(xquadDevDir, "xquad.en.json")); err != nil {
		t.Skipf("XQuAD development half not present (%s/xquad.<lang>.json): %v", xquadDevDir, err)
	}
	all, err := ReadXQuADDir(xquadDevDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range XQuADLanguages {
		s := all[l]
		if len(s.Articles) != 24 || s.NumParagraphs() != 120 || s.NumQuestions() != 612 {
			t.Errorf("%s: %d articles, %d paragraphs, %d questions; want 24, 120, 612", l, len(s.Articles), s.NumParagraphs(), s.NumQuestions())
		}
		if len(s.Warnings) != 0 {
			t.Errorf("%s: %d answers not at answer_start, e.g. %s", l, len(s.Warnings), s.Warnings[0])
		}
		checkAnswerOffsets(t, s)
		n := len(SentencesFromSQuAD(map[string]*SQuAD{l: s}, 0, 1))
		t.Logf("%s: %d sentences of %d..%d runes", l, n, MinSentenceRunes, MaxSentenceRunes)
		if n < 500 {
			t.Errorf("%s: only %d sentences", l, n)
		}
	}
	recs, st, err := ACFromSQuAD(all["de"], all["en"], SQuADACOptions{Seed: 1})
	if err != nil || st.Pairs != 2*612 || len(recs) != 2*612 {
		t.Errorf("AC de->en: %d records, %+v, %v", len(recs), st, err)
	}
	sents := SentencesFromSQuAD(all, 0, 1)
	langs := []string{"de", "es", "ru", "th", "tr", "vi", "zh", "ar", "hi", "el"}
	ds, err := BuildCLPairs(sents, PairOptions{Languages: langs, Seed: 1})
	if err != nil || len(ds.Samples) != 7600 {
		t.Errorf("CL pairs: %d samples, %v", len(ds.Samples), err)
	}
}

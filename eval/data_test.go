package eval

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadXORTyDi(t *testing.T) {
	const path = "testdata/xor_dev_full_sample.jsonl"
	items, err := ReadXORTyDi(path, []string{"ja", "ru", "ar", "ko", "fi"})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for l, its := range items {
		counts[l] = len(its)
	}
	if want := map[string]int{"ja": 3, "ru": 3, "ar": 2, "ko": 2, "fi": 2}; !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	want := Item{ID: "-1148752214325789123", Lang: "ja", Question: "ジョン・F・ケネディが暗殺された都市はどこですか？",
		Answers: []Answer{{Text: "テキサス州ダラス"}, {Text: "ダラス"}}}
	if got := items["ja"][2]; !reflect.DeepEqual(got, want) { // file order
		t.Errorf("ja[2] = %+v, want %+v", got, want)
	}
	if no := items["ru"][2]; !no.Unanswerable || len(no.Answers) != 0 || no.ID != "8823071126347704310" {
		t.Errorf("No Answer item = %+v", no)
	}
	if g := items["fi"][1].Golds(); !reflect.DeepEqual(g, []string{"6. joulukuuta 1917", "1917"}) {
		t.Errorf("golds %q", g)
	}

	all, err := ReadXORTyDi(path, nil, Limit(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7 || len(all["ja"]) != 1 || all["ja"][0].ID != "-7940587018706934302" {
		t.Errorf("all languages, limit 1: %v", all)
	}
}

func TestReadMKQA(t *testing.T) {
	const path = "testdata/mkqa_sample.jsonl"
	items, err := ReadMKQA(path, []string{"de", "fr", "zh", "th", "es"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"de", "fr", "zh", "th", "es"} {
		if len(items[l]) != 8 {
			t.Errorf("%s: %d items, want 8", l, len(items[l]))
		}
	}
	zh := items["zh"]
	// The id exceeds 2^53: every digit kept. zh reads zh_cn, keeps "zh".
	if zh[0].ID != "6915606477668963399" || zh[0].Lang != "zh" || zh[0].Question != "埃菲尔铁塔是哪一年建成的" {
		t.Errorf("zh[0] = %+v", zh[0])
	}
	if g := zh[0].Golds(); !reflect.DeepEqual(g, []string{"1889年", "1889"}) {
		t.Errorf("zh year golds %q", g)
	}
	de := items["de"]
	want := []Answer{{Text: "Miguel de Cervantes", Aliases: []string{"Cervantes", "Miguel de Cervantes Saavedra"}, Type: "entity"}}
	if !reflect.DeepEqual(de[1].Answers, want) || de[1].Question != "wer schrieb don quijote" {
		t.Errorf("de[1] = %+v", de[1])
	}
	for i, u := range []bool{false, false, false, false, true, false, true, false} {
		if de[i].Unanswerable != u {
			t.Errorf("de[%d] (%s) unanswerable = %v, want %v", i, de[i].Answers[0].Type, de[i].Unanswerable, u)
		}
	}
	if g := de[4].Golds(); !reflect.DeepEqual(g, []string{""}) {
		t.Errorf("unanswerable golds %q, want [\"\"]", g)
	}
	if a := de[5].Answers[0]; a.Type != "binary" || a.Text != "yes" {
		t.Errorf("binary answer %+v", a)
	}

	all, err := ReadMKQA(path, nil, Limit(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 11 || len(all["zh_cn"]) != 2 || all["zh_cn"][1].ID != "-2437195263114785631" {
		t.Errorf("all languages, limit 2: %d languages, zh_cn %+v", len(all), all["zh_cn"])
	}

	// MKQA ships gzipped: read the same file compressed.
	gz := filepath.Join(t.TempDir(), "mkqa.jsonl.gz")
	raw, _ := os.ReadFile(path)
	f, _ := os.Create(gz)
	w := gzip.NewWriter(f)
	w.Write(raw)
	w.Close()
	f.Close()
	fromGz, err := ReadMKQA(gz, []string{"de", "fr", "zh", "th", "es"})
	if err != nil || !reflect.DeepEqual(fromGz, items) {
		t.Errorf("gzip read differs: %v", err)
	}

	_, err = ReadMKQA(path, []string{"de", "ko"})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Line != 1 || fe.Field != "queries.ko" {
		t.Errorf("missing language: %v", err)
	}
}

func TestReadContexts(t *testing.T) {
	ctx, err := ReadContexts("testdata/xor_contexts_sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	xor, _ := ReadXORTyDi("testdata/xor_dev_full_sample.jsonl", nil)
	for _, it := range All(xor) {
		if len(ctx[it.ID]) == 0 {
			t.Errorf("no passages for %s", it.ID)
		}
	}
	if len(ctx) != 14 || len(ctx["-4476214408877431955"]) != 2 {
		t.Errorf("%d contexts", len(ctx))
	}
	mk, err := ReadContexts("testdata/mkqa_contexts_sample.jsonl")
	if err != nil || len(mk) != 8 || !strings.Contains(mk["4571830269945120387"][1], "9 November 1989") {
		t.Errorf("MKQA contexts: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	ok := `{"id": "1", "lang": "ja", "question": "q", "answers": ["a"]}`
	for _, c := range []struct {
		name, read, content, field string
		line                       int
	}{
		{"bad JSON", "xor", ok + "\n{\"id\": \n", "", 2},
		{"missing answers", "xor", `{"id": "1", "lang": "ja", "question": "q"}`, "answers", 1},
		{"answers not strings", "xor", `{"id": "1", "lang": "ja", "question": "q", "answers": [1]}`, "answers", 1},
		{"empty answers", "xor", `{"id": "1", "lang": "ja", "question": "q", "answers": []}`, "answers", 1},
		{"empty question", "xor", `{"id": "1", "lang": "ja", "question": " ", "answers": ["a"]}`, "question", 1},
		{"missing lang", "xor", `{"id": "1", "question": "q", "answers": ["a"]}`, "lang", 1},
		{"missing id", "xor", `{"lang": "ja", "question": "q", "answers": ["a"]}`, "id", 1},
		{"duplicate id", "xor", ok + "\n\n" + ok, "id", 3},
		{"unknown answer type", "mkqa", `{"example_id": 1, "queries": {"de": "q"}, "answers": {"de": [{"type": "other", "text": "a"}]}}`, "answers.de[0].type", 1},
		{"null text", "mkqa", `{"example_id": 1, "queries": {"de": "q"}, "answers": {"de": [{"type": "entity", "text": null}]}}`, "answers.de[0].text", 1},
		{"missing answers", "mkqa", `{"example_id": 1, "queries": {"de": "q"}, "answers": {}}`, "answers.de", 1},
		{"missing example_id", "mkqa", `{"queries": {"de": "q"}, "answers": {"de": [{"type": "number", "text": "1"}]}}`, "example_id", 1},
		{"null passage", "ctx", `{"id": "1", "passages": ["a", null]}`, "passages[1]", 1},
		{"missing passages", "ctx", `{"id": "1"}`, "passages", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.jsonl")
			os.WriteFile(path, []byte(c.content+"\n"), 0o644)
			var err error
			switch c.read {
			case "xor":
				_, err = ReadXORTyDi(path, nil)
			case "mkqa":
				_, err = ReadMKQA(path, []string{"de"})
			default:
				_, err = ReadContexts(path)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != path || fe.Line != c.line || fe.Field != c.field {
				t.Fatalf("got %v, want an error at line %d, field %q", err, c.line, c.field)
			}
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("message %q does not start with the file", err)
			}
		})
	}
	if _, err := ReadXORTyDi("testdata/none.jsonl", nil); err == nil {
		t.Error("missing file must be an error")
	}
}

package evaltest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// xquadFixture is a tiny XQuAD: two articles of three paragraphs, one
// question a paragraph. Each entry is a paragraph: its context, question
// and answer in English, Russian and Chinese.
var xquadFixture = [][]struct{ context, question, answer [3]string }{
	{
		{[3]string{"Paris is the capital of France.", "Париж — столица Франции.", "巴黎是法国的首都。"},
			[3]string{"What is the capital of France?", "Какая столица Франции?", "法国的首都是哪里？"},
			[3]string{"Paris", "Париж", "巴黎"}},
		{[3]string{"The Seine flows through Paris.", "Сена течёт через Париж.", "塞纳河流经巴黎。"},
			[3]string{"Which river flows through Paris?", "Какая река течёт через Париж?", "哪条河流经巴黎？"},
			[3]string{"The Seine", "Сена", "塞纳河"}},
		{[3]string{"The Louvre opened in 1793.", "Лувр открылся в 1793 году.", "卢浮宫于1793年开放。"},
			[3]string{"When did the Louvre open?", "Когда открылся Лувр?", "卢浮宫何时开放？"},
			[3]string{"1793", "1793", "1793"}},
	},
	{
		{[3]string{"Berlin is the capital of Germany.", "Берлин — столица Германии.", "柏林是德国的首都。"},
			[3]string{"What is the capital of Germany?", "Какая столица Германии?", "德国的首都是哪里？"},
			[3]string{"Berlin", "Берлин", "柏林"}},
		{[3]string{"The Spree flows through Berlin.", "Шпрее течёт через Берлин.", "施普雷河流经柏林。"},
			[3]string{"Which river flows through Berlin?", "Какая река течёт через Берлин?", "哪条河流经柏林？"},
			[3]string{"The Spree", "Шпрее", "施普雷河"}},
		{[3]string{"The Berlin Wall fell in 1989.", "Берлинская стена пала в 1989 году.", "柏林墙于1989年倒塌。"},
			[3]string{"When did the Berlin Wall fall?", "Когда пала Берлинская стена?", "柏林墙何时倒塌？"},
			[3]string{"1989", "1989", "1989"}},
	},
}

// WriteXQuAD writes a tiny XQuAD into dir, in the format of XQuAD's files
// (SQuAD v1.1 JSON, parallel by question id): xquad.en.json, xquad.ru.json
// and xquad.zh.json, two articles of three paragraphs with one question
// each (ids a<article>p<paragraph>), for tests of `asmr eval -dataset
// xquad`.
func WriteXQuAD(dir string) error {
	for li, lang := range []string{"en", "ru", "zh"} {
		var data []any
		for ai, art := range xquadFixture {
			var pars []any
			for pi, p := range art {
				start := utf8.RuneCountInString(p.context[li][:strings.Index(p.context[li], p.answer[li])])
				pars = append(pars, map[string]any{
					"context": p.context[li],
					"qas": []any{map[string]any{
						"id": fmt.Sprintf("a%dp%d", ai, pi), "question": p.question[li],
						"answers": []any{map[string]any{"text": p.answer[li], "answer_start": start}},
					}},
				})
			}
			data = append(data, map[string]any{"title": fmt.Sprintf("article %d", ai), "paragraphs": pars})
		}
		b, err := json.Marshal(map[string]any{"version": "1.1", "data": data})
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "xquad."+lang+".json"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

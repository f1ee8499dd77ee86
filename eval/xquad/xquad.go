// Package xquad builds the cross-lingual question answering task of the
// ASMR paper from XQuAD (Artetxe et al., 2020): English passages, questions
// in another language. For each question the reader gets its gold English
// paragraph and distractor paragraphs of the same article, in an order fixed
// by a seed (eval.PassageOrder); the gold answer is the answer of the
// question's language, since XQuAD's files are parallel by question id, and
// the English answer is kept to score content whatever the language.
//
// It reads the files with probes.ReadXQuADDir and returns eval's types, so
// the scoring in package eval stays pure Go.
package xquad

import (
	"fmt"
	"maps"
	"slices"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/probes"
)

// Options configures Build.
type Options struct {
	// Distractors is the number of other paragraphs of the same article
	// given with the gold one; the paper's setting, and the default when
	// 0, is 2. Negative means none.
	Distractors int
	// Seed fixes the passage order of every question.
	Seed uint64
	// Limit keeps at most Limit questions per language, the first in file
	// order (the same questions in every language); 0 keeps all.
	Limit int
	// FromArticle and ToArticle keep the questions of the articles at
	// those indexes of the files, from FromArticle up to but not including
	// ToArticle (0: to the last), so that prompts and steering are tuned
	// on some articles and reported on others. Limit counts from
	// FromArticle on.
	FromArticle, ToArticle int
}

// Task is the built task.
type Task struct {
	// Items are the questions by language (English excluded), each with
	// the answers of its language as gold.
	Items map[string][]eval.Item
	// English holds the English answers by question id.
	English map[string][]string
	// Contexts holds the English passages given for each question id, in
	// the order shown to the reader (eval.Options.Contexts).
	Contexts map[string][]string
	// Gold is the position of the gold paragraph in Contexts, by question
	// id.
	Gold map[string]int
	// Paragraphs are the English paragraphs of every article, in file
	// order; Order holds, by question id, the indexes in Paragraphs of
	// Contexts[id] (Contexts[id][i] == Paragraphs[Order[id][i]]).
	Paragraphs []string
	Order      map[string][]int
	// Articles holds the index in the English file of the article of each
	// paragraph (Articles[p] for Paragraphs[p]).
	Articles []int
}

// Build makes the task of every language in byLang but English from the
// parallel XQuAD files byLang (as probes.ReadXQuADDir returns them, which
// checks that they are parallel; Build checks it again, with
// probes.CheckParallel, and returns a *probes.DataError listing every
// mismatch); byLang must hold "en". The languages of the result are those
// of byLang.
func Build(byLang map[string]*probes.SQuAD, o Options) (*Task, error) {
	en := byLang["en"]
	if en == nil {
		return nil, fmt.Errorf("xquad: the English file (xquad.en.json) is needed: it holds the passages")
	}
	to := o.ToArticle
	if to == 0 {
		to = len(en.Articles)
	}
	if o.FromArticle < 0 || o.FromArticle >= to || to > len(en.Articles) {
		return nil, fmt.Errorf("xquad: articles %d to %d: the files have articles 0 to %d; want 0 <= from < to <= %d (to 0: the last)", o.FromArticle, o.ToArticle, len(en.Articles)-1, len(en.Articles))
	}
	k := o.Distractors
	switch {
	case k == 0:
		k = 2
	case k < 0:
		k = 0
	}
	var problems []string
	for _, l := range slices.Sorted(maps.Keys(byLang)) {
		problems = append(problems, probes.CheckParallel(en, byLang[l])...)
	}
	if len(problems) > 0 {
		return nil, &probes.DataError{Name: "xquad: the files are not parallel", Problems: problems}
	}
	t := &Task{Items: map[string][]eval.Item{}, English: map[string][]string{}, Contexts: map[string][]string{}, Gold: map[string]int{}, Order: map[string][]int{}}
	first := make([]int, len(en.Articles)) // index in Paragraphs of each article's first paragraph
	for ai, art := range en.Articles {
		first[ai] = len(t.Paragraphs)
		for _, par := range art.Paragraphs {
			t.Paragraphs = append(t.Paragraphs, par.Context)
			t.Articles = append(t.Articles, ai)
		}
	}
	langs := slices.DeleteFunc(slices.Sorted(maps.Keys(byLang)), func(l string) bool { return l == "en" })
	for ai, art := range en.Articles[:to] {
		if ai < o.FromArticle {
			continue
		}
		for pi, par := range art.Paragraphs {
			for qi, q := range par.Questions {
				if o.Limit > 0 && len(t.English) >= o.Limit {
					return t, nil
				}
				order, err := eval.PassageOrder(len(art.Paragraphs), pi, k, o.Seed, q.ID)
				if err != nil {
					return nil, err
				}
				ctx := make([]string, len(order))
				global := make([]int, len(order))
				for i, p := range order {
					ctx[i] = art.Paragraphs[p].Context
					global[i] = first[ai] + p
					if p == pi {
						t.Gold[q.ID] = i
					}
				}
				t.Contexts[q.ID], t.Order[q.ID] = ctx, global
				t.English[q.ID] = answerTexts(q)
				for _, l := range langs {
					lq := byLang[l].Articles[ai].Paragraphs[pi].Questions[qi]
					it := eval.Item{ID: q.ID, Lang: l, Question: lq.Text}
					for _, a := range answerTexts(lq) {
						it.Answers = append(it.Answers, eval.Answer{Text: a})
					}
					t.Items[l] = append(t.Items[l], it)
				}
			}
		}
	}
	return t, nil
}

func answerTexts(q probes.SQuADQuestion) []string {
	var out []string
	for _, a := range q.Answers {
		if !slices.Contains(out, a.Text) {
			out = append(out, a.Text)
		}
	}
	return out
}

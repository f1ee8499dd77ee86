package eval

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"unicode"
)

// The cross-lingual XQuAD task of the ASMR paper: English passages,
// questions in another language. This file holds the parts that do not
// depend on how the data is read: which paragraphs the reader gets, and the
// scores beyond F1 and EM.

// PassageOrder returns the indexes, among an article's n paragraphs, of the
// paragraphs shown with a question about paragraph gold: gold and up to k
// distractors (other paragraphs of the same article), in an order fixed by
// seed and the question's id. The distractors are never gold, and gold's
// position is drawn like the others', so it is not always first. An error
// names what is out of range.
func PassageOrder(n, gold, k int, seed uint64, id string) ([]int, error) {
	switch {
	case n < 1:
		return nil, fmt.Errorf("eval: passage order for %s: the article has no paragraphs", id)
	case gold < 0 || gold >= n:
		return nil, fmt.Errorf("eval: passage order for %s: gold paragraph %d outside the article's 0..%d", id, gold, n-1)
	case k < 0:
		return nil, fmt.Errorf("eval: passage order for %s: %d distractors; want 0 or more", id, k)
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	others := make([]int, 0, n-1)
	for i := range n {
		if i != gold {
			others = append(others, i)
		}
	}
	r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	out := append([]int{gold}, others[:min(k, len(others))]...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// AnswerLines returns the lines of an answer that carry text: trimmed, and
// with at least one letter (a line of digits or punctuation has no
// language, so it neither passes nor fails).
func AnswerLines(pred string) []string {
	var out []string
	for _, line := range strings.Split(pred, "\n") {
		line = strings.TrimSpace(line)
		if strings.IndexFunc(line, unicode.IsLetter) >= 0 {
			out = append(out, line)
		}
	}
	return out
}

// LinePass reports whether every text line of pred is detected in lang, the
// line-level pass of the Language Confusion Benchmark (Marchisio et al.,
// 2024), with d in place of its fastText detector. An answer without any
// line of text fails: it is not recognisably in the language.
func (d *LangDetector) LinePass(pred, lang string) bool {
	lines := AnswerLines(pred)
	for _, l := range lines {
		if !d.InLanguage(l, lang) {
			return false
		}
	}
	return len(lines) > 0
}

// ScoreLinePass scores the line-level pass rate: 1 when every text line of
// an item's prediction is in the item's language (LinePass). A missing
// prediction is an error.
func ScoreLinePass(items []Item, preds map[Key]string, d *LangDetector) ([]Score, error) {
	out := make([]Score, 0, len(items))
	for _, it := range items {
		pred, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		out = append(out, Score{it.Key(), b2f(d.LinePass(pred, it.Lang))})
	}
	return out, nil
}

// ScoreF1English scores each item's prediction with MKQA's F1 (English
// normalisation) against the item's English golds (Item.English): for
// XQuAD, the English answer of a question asked in another language, which
// measures whether the content is right whatever language it is in. An
// item without a prediction or without English golds is an error.
func ScoreF1English(items []Item, preds map[Key]string) ([]Score, error) {
	out := make([]Score, 0, len(items))
	for _, it := range items {
		pred, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		if len(it.English) == 0 {
			return nil, fmt.Errorf("eval: no en gold for %s item %s", it.Lang, it.ID)
		}
		out = append(out, Score{it.Key(), MKQAF1(pred, it.English, "en")})
	}
	return out, nil
}

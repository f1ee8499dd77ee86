package eval

import (
	"fmt"
	"slices"
	"strings"
)

// MKQA metrics, as mkqa_eval_util.py of apple/ml-mkqa computes them:
//
//	normalize_answer_by_language(s, lang) =
//	    white_space_fix(remove_articles(remove_punc(lower(s)), lang), lang)
//
// lower is str.lower; remove_punc drops string.punctuation (ASCII only:
// "。" or "«" stay); remove_articles replaces matches of a per-language
// regular expression (ARTICLE_REGEX_BY_LANG) with a space; white_space_fix
// splits on whitespace, or for zh_cn, zh_hk, zh_tw, ja, th and km into single
// characters. The script's mixed_segmentation was meant to keep runs of
// non-CJK text together, but as published it emits every character
// (temp_str is never filled), so in those languages "1889年" is the tokens
// 1 8 8 9 年 and Latin words are spelled out too. That is reproduced.
//
// The article expressions are reproduced with Python's semantics: \b is a
// Unicode word boundary (Go's regexp \b is ASCII-only, so they are matched by
// hand), alternatives are tried in the listed order, and the French and
// Italian ones have no trailing \b, so they also strip word prefixes ("les"
// -> " s", "italia" -> " talia"); since gold and prediction are treated
// alike this rarely changes a score. The Arabic expression removes every
// "ال". Apostrophes are removed before articles, so "l'" never matches.
//
// Gold answers are each answer's text (null as "") plus its aliases; scores
// are the max over them. An empty gold or prediction scores 1 if both are
// empty (after normalisation) and 0 otherwise, so an unanswerable question
// (only gold "") scores 1 exactly when the prediction normalises to nothing,
// e.g. "" or "." or, in German, "die". The official script also accepts a
// binary_answer and a no_answer_prob per prediction and reports F1 at the best
// No Answer threshold; a reader that only returns text has neither, so these
// are the script's default f1/exact_match (threshold 0): map an abstention to
// "" before scoring, and note that binary golds are the English words "yes"
// and "no" in every language.

type articleRule struct {
	words    []string
	trailing bool // the expression ends in \b
}

var articles = map[string]articleRule{
	"en": {strings.Split("a|an|the", "|"), true},
	"es": {strings.Split("un|una|unos|unas|el|la|los|las", "|"), true},
	"vi": {strings.Split("của|là|cái|chiếc|những", "|"), true},
	"de": {strings.Split("ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des", "|"), true},
	"nl": {strings.Split("de|het|een|des|der|den", "|"), true},
	"sv": {strings.Split("en|ett", "|"), true},
	"da": {strings.Split("en|et", "|"), true},
	"no": {strings.Split("en|et|ei", "|"), true},
	"fr": {strings.Split("le|la|l'|les|du|de|d'|des|un|une|des", "|"), false},
	"pt": {strings.Split("o|a|os|as|um|uma|uns|umas", "|"), true},
	"it": {strings.Split("il|lo|la|l'|i|gli|le|del|dello|della|dell'|dei|degli|degl'|delle|un'|uno|una|un", "|"), false},
	"fi": {strings.Split("se|yks|yksi", "|"), true},
	"hu": {strings.Split("a|az|egy", "|"), true},
}

var mixedSegmentation = map[string]bool{"zh_cn": true, "zh_hk": true, "zh_tw": true, "ja": true, "th": true, "km": true}

// removeArticles is re.sub(ARTICLE_REGEX_BY_LANG[lang], " ", s).
func removeArticles(s, lang string) string {
	if lang == "ar" { // "\sال^|ال": the first branch can never match
		return strings.ReplaceAll(s, "ال", " ")
	}
	rule, ok := articles[lang]
	if !ok {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		n := 0
		if i == 0 || !pyWord(rs[i-1]) { // \b before a word character
			for _, w := range rule.words {
				wr := []rune(w)
				end := i + len(wr)
				if end <= len(rs) && string(rs[i:end]) == w &&
					(!rule.trailing || end == len(rs) || !pyWord(rs[end])) {
					n = len(wr)
					break
				}
			}
		}
		if n > 0 {
			b.WriteByte(' ')
			i += n
		} else {
			b.WriteRune(rs[i])
			i++
		}
	}
	return b.String()
}

// MKQATokens returns the tokens MKQA's F1 and EM compare. lang is a paper
// code or an MKQA key (zh means zh_cn).
func MKQATokens(s, lang string) []string {
	if s == "" {
		return nil
	}
	lang = MKQACode(lang)
	s = removeArticles(removeASCIIPunct(pyLower(s)), lang)
	if !mixedSegmentation[lang] {
		return pySplit(s)
	}
	var out []string
	for _, r := range s {
		if !pySpace(r) {
			out = append(out, string(r))
		}
	}
	return out
}

// MKQAF1 is the official token F1, maximised over golds (see Item.Golds).
func MKQAF1(pred string, golds []string, lang string) float64 {
	p := MKQATokens(pred, lang)
	best := 0.0
	for _, g := range golds {
		gt := MKQATokens(g, lang)
		if len(gt) == 0 || len(p) == 0 {
			if len(gt) == len(p) {
				return 1
			}
			continue
		}
		best = max(best, tokenF1(p, gt))
	}
	return best
}

// MKQAEM is the official exact match, maximised over golds.
func MKQAEM(pred string, golds []string, lang string) float64 {
	p := MKQATokens(pred, lang)
	for _, g := range golds {
		if slices.Equal(p, MKQATokens(g, lang)) {
			return 1
		}
	}
	return 0
}

// ScoreMKQA scores predictions (by item key) of MKQA items with the official
// F1 and EM, under "f1" and "em". Unanswerable items are scored, as the
// official script scores them. A missing prediction is an error (the
// official script asserts too).
func ScoreMKQA(items []Item, preds map[Key]string) (map[string][]Score, error) {
	out := map[string][]Score{}
	for _, it := range items {
		pred, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		golds := it.Golds()
		out["f1"] = append(out["f1"], Score{it.Key(), MKQAF1(pred, golds, it.Lang)})
		out["em"] = append(out["em"], Score{it.Key(), MKQAEM(pred, golds, it.Lang)})
	}
	return out, nil
}

package eval

import (
	"fmt"
	"strings"
	"unicode"
)

// TokenBudget is the 2000 of R@2kt.
const TokenBudget = 2000

// R@2kt, after XORQA's eval_xor_retrieve.py: an item is a hit when one of
// its answers occurs in the first 2000 tokens of its retrieved passages,
// concatenated in retrieval order. Like that script it is a substring test
// on the space-joined tokens (an answer "5" is found in "1945") and it skips
// the answers "yes" and "no", and items left with no answer.
//
// Differences from the script, chosen so the test works for passages and
// answers in any script:
//   - Tokens are whitespace tokens, and every Han, Hiragana, Katakana and Thai
//     character is a token of its own (the script used nltk's
//     word_tokenize, which also splits punctuation off words, so 2000 of its
//     tokens cover somewhat less text than 2000 of ours).
//   - Passage and answer are normalised alike before the test: lower-cased,
//     Unicode punctuation and ASCII symbols removed, Han/kana/Thai spaced out
//     (the script compared raw, case-sensitive strings). Tokens that are
//     only punctuation still count towards the budget.

// RecallAt2kt reports whether one of the item's answers (texts and aliases)
// is in the first TokenBudget tokens of passages. ok is false when the item
// has no answer to look for; such items are not part of R@2kt.
func RecallAt2kt(passages []string, it Item) (hit, ok bool) {
	return AnswerInTokens(passages, it.Golds(), TokenBudget)
}

// AnswerInTokens reports whether one of answers is in the first budget
// tokens of passages; ok is false when no answer is left after dropping
// empty ones and "yes"/"no".
func AnswerInTokens(passages, answers []string, budget int) (hit, ok bool) {
	var toks []string
	for _, p := range passages {
		toks = append(toks, recallTokens(p)...)
		if len(toks) >= budget {
			toks = toks[:budget]
			break
		}
	}
	var kept []string
	for _, t := range toks {
		if t = recallNorm(t); t != "" {
			kept = append(kept, t)
		}
	}
	text := strings.Join(kept, " ")
	for _, a := range answers {
		if l := strings.ToLower(strings.TrimSpace(a)); l == "" || l == "yes" || l == "no" {
			continue
		}
		var at []string
		for _, t := range recallTokens(a) {
			if t = recallNorm(t); t != "" {
				at = append(at, t)
			}
		}
		if len(at) == 0 {
			continue
		}
		ok = true
		if strings.Contains(text, strings.Join(at, " ")) {
			return true, true
		}
	}
	return false, ok
}

// ScoreRecall scores R@2kt (1 or 0) for every item that has an answer to
// look for, under the contexts of its ID. A missing context is an error.
func ScoreRecall(items []Item, contexts map[string][]string) ([]Score, error) {
	var out []Score
	for _, it := range items {
		ps, found := contexts[it.ID]
		if !found {
			return nil, fmt.Errorf("eval: no passages for %s item %s", it.Lang, it.ID)
		}
		if hit, ok := RecallAt2kt(ps, it); ok {
			out = append(out, Score{it.Key(), b2f(hit)})
		}
	}
	return out, nil
}

// charScript is a script written without spaces between words, whose
// characters are counted as tokens.
func charScript(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai)
}

func recallTokens(s string) []string {
	var out []string
	for _, f := range pySplit(s) {
		start := 0
		for i, r := range f {
			if charScript(r) {
				if start < i {
					out = append(out, f[start:i])
				}
				out = append(out, string(r))
				start = i + len(string(r))
			}
		}
		if start < len(f) {
			out = append(out, f[start:])
		}
	}
	return out
}

func recallNorm(tok string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || (r < 0x80 && strings.ContainsRune(asciiPunct, r)) {
			return -1
		}
		return r
	}, pyLower(tok))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

package eval

import (
	"fmt"
	"slices"
	"strings"
)

// XOR-TyDi QA metrics, as evals/eval_xor_full.py of the XORQA repository
// computes them (calculate_f1_em_bleu and normalize_answer):
//
//	normalize_answer(s) = white_space_fix(remove_counter(remove_punc(lower(s))))
//
// lower is str.lower; remove_punc drops string.punctuation (ASCII only);
// remove_counter deletes every 年 歳 人 년 anywhere in the string (so 日本人
// becomes 日本 too); white_space_fix collapses whitespace. There is no
// article removal in that script (unlike SQuAD's), so none here: "the" is an
// ordinary token. Tokens are whitespace tokens, except for Japanese, where
// both gold and prediction are first segmented by MeCab -Owakati, the
// prediction after replacing ・ with a space and 、 with ",". The golds are
// not given that replacement, so a gold's ・ stays a token and costs
// precision/recall; that is the official behaviour and is kept.
//
// The script has no special case for Chinese or Thai (they are not XOR-TyDi
// languages): they would be split on whitespace only. Items whose first
// answer is "No Answer" are skipped (Item.Unanswerable).

var counters = strings.NewReplacer("年", "", "歳", "", "人", "", "년", "")

// XORTokens returns the tokens that XOR-TyDi's F1 and EM compare. pred
// selects the prediction-only Japanese replacements.
func XORTokens(s, lang string, pred bool) []string {
	if lang == "ja" {
		if pred {
			s = strings.NewReplacer("・", " ", "、", ",").Replace(s)
		}
		s = strings.Join(wakati(s), " ")
	}
	return pySplit(counters.Replace(removeASCIIPunct(pyLower(s))))
}

// XORF1 is the official token F1, maximised over the gold answers. No common
// token gives 0, including an empty prediction.
func XORF1(pred string, golds []string, lang string) float64 {
	p := XORTokens(pred, lang, true)
	best := 0.0
	for _, g := range golds {
		best = max(best, tokenF1(p, XORTokens(g, lang, false)))
	}
	return best
}

// XOREM is the official exact match (normalised strings equal), maximised
// over the gold answers.
func XOREM(pred string, golds []string, lang string) float64 {
	p := XORTokens(pred, lang, true)
	for _, g := range golds {
		if slices.Equal(p, XORTokens(g, lang, false)) {
			return 1
		}
	}
	return 0
}

// XORBLEU is the official BLEU: `bleu(final_gts, pred)` with nltk's
// sentence_bleu (4-gram, uniform weights, no smoothing). Because the script
// passes strings, nltk iterates them as characters, so this is a
// character-level BLEU of the raw, unnormalised prediction against all golds
// at once (not a max over golds). For Japanese the references are MeCab's
// wakati output strings ("w1 w2 \n", spaces and newline included) while the
// hypothesis stays the raw prediction; that is what the script does.
//
// The script relies on nltk's no-smoothing rule for n-gram orders without a
// match. nltk >= 3.4 (used here) gives such an order the precision
// sys.float_info.min, which makes the score about 0 whenever any of the
// 1..4-gram orders has no match, e.g. for any prediction shorter than 4
// characters; older nltk dropped those orders instead. Scores of short answers
// therefore depend on the nltk version the authors ran.
func XORBLEU(pred string, golds []string, lang string) float64 {
	refs := make([][]string, len(golds))
	for i, g := range golds {
		if lang == "ja" {
			g = wakatiLine(g)
		}
		refs[i] = chars(g)
	}
	return SentenceBLEU(chars(pred), refs, NoSmoothing)
}

// XORTokenBLEU is a token-level alternative to XORBLEU, not in the official
// script: sentence BLEU over the same tokens as XORF1 (so Japanese is
// segmented on both sides), with nltk's method1 smoothing so that short
// answers do not collapse to 0.
func XORTokenBLEU(pred string, golds []string, lang string) float64 {
	refs := make([][]string, len(golds))
	for i, g := range golds {
		refs[i] = XORTokens(g, lang, false)
	}
	return SentenceBLEU(XORTokens(pred, lang, true), refs, Epsilon)
}

// ScoreXORTyDi scores predictions (by item key) of XOR-TyDi items with the
// official F1, EM and BLEU, under the metric names "f1", "em", "bleu", and
// the token-level BLEU under "token_bleu". Unanswerable items are skipped, as
// the official script skips them. A missing prediction is an error: the
// official script would score it 0, which hides a broken run.
func ScoreXORTyDi(items []Item, preds map[Key]string) (map[string][]Score, error) {
	out := map[string][]Score{}
	for _, it := range items {
		if it.Unanswerable {
			continue
		}
		pred, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		golds := it.Golds()
		for name, v := range map[string]float64{
			"f1":         XORF1(pred, golds, it.Lang),
			"em":         XOREM(pred, golds, it.Lang),
			"bleu":       XORBLEU(pred, golds, it.Lang),
			"token_bleu": XORTokenBLEU(pred, golds, it.Lang),
		} {
			out[name] = append(out[name], Score{it.Key(), v})
		}
	}
	return out, nil
}

// tokenF1 is SQuAD's bag-of-tokens F1 as XOR-TyDi computes it: 0 when
// nothing is shared (both empty included).
func tokenF1(pred, gold []string) float64 {
	counts := map[string]int{}
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(pred))
	r := float64(common) / float64(len(gold))
	return 2 * p * r / (p + r)
}

// chars splits s into its code points, as Python iterates a str.
func chars(s string) []string {
	out := make([]string, 0, len(s))
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

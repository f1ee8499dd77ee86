package eval

import (
	"math"
	"strings"
)

// Smoothing selects nltk's SmoothingFunction for SentenceBLEU.
type Smoothing int

const (
	// NoSmoothing is nltk's method0 (the default): an n-gram order with no
	// match gets precision sys.float_info.min, i.e. the score is ~0.
	NoSmoothing Smoothing = iota
	// Epsilon is nltk's method1: an order with no match gets 0.1/count.
	Epsilon
)

// floatMin is Python's sys.float_info.min (smallest normal float64).
const floatMin = 2.2250738585072014e-308

// SentenceBLEU is nltk.translate.bleu_score.sentence_bleu (nltk 3.8) with
// weights (0.25, 0.25, 0.25, 0.25): clipped n-gram precisions for n = 1..4
// against all references at once, the brevity penalty from the reference
// length closest to the hypothesis (the shorter one on a tie), 0 when no
// unigram matches.
func SentenceBLEU(hyp []string, refs [][]string, s Smoothing) float64 {
	const maxN = 4
	num, den := [maxN + 1]int{}, [maxN + 1]int{}
	for n := 1; n <= maxN; n++ {
		counts := ngrams(hyp, n)
		maxRef := map[string]int{}
		for _, ref := range refs {
			for g, c := range ngrams(ref, n) {
				if counts[g] > 0 {
					maxRef[g] = max(maxRef[g], c)
				}
			}
		}
		total := 0
		for g, c := range counts {
			num[n] += min(c, maxRef[g])
			total += c
		}
		den[n] = max(1, total)
	}
	if num[1] == 0 {
		return 0
	}
	logSum := 0.0
	for n := 1; n <= maxN; n++ {
		p := float64(num[n]) / float64(den[n])
		if num[n] == 0 {
			p = floatMin
			if s == Epsilon {
				p = 0.1 / float64(den[n])
			}
		}
		logSum += 0.25 * math.Log(p)
	}
	return brevityPenalty(hyp, refs) * math.Exp(logSum)
}

func brevityPenalty(hyp []string, refs [][]string) float64 {
	h := len(hyp)
	closest := -1
	for _, ref := range refs {
		r := len(ref)
		if closest < 0 || abs(r-h) < abs(closest-h) || (abs(r-h) == abs(closest-h) && r < closest) {
			closest = r
		}
	}
	switch {
	case h > closest:
		return 1
	case h == 0:
		return 0
	}
	return math.Exp(1 - float64(closest)/float64(h))
}

func ngrams(toks []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], "\x00")]++
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

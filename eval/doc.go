// Package eval scores the ASMR reader the way the paper's benchmarks score
// it: XOR-TyDi QA (XOR-Full: F1, EM, BLEU) and MKQA (F1, EM), plus the
// retrieval recall R@2kt, the answer-language rate, and a paired t-test to
// compare two systems. It is pure Go (no cgo) so that its tests stay fast.
//
// Each metric reproduces an official script, quirks included, because the
// numbers must be comparable with published ones:
//
//   - XOR-TyDi: evals/eval_xor_full.py of github.com/AkariAsai/XORQA (see
//     xortydi.go). ASCII punctuation only, no article removal, the counters
//     年 歳 人 년 dropped, Japanese segmented by MeCab (here kagome with the
//     IPA dictionary), BLEU = nltk's sentence_bleu on characters.
//   - MKQA: mkqa_eval.py / mkqa_eval_util.py of github.com/apple/ml-mkqa
//     (see mkqa.go). Language-specific articles, character tokens for
//     zh/ja/th/km, aliases, and "" as the gold of unanswerable questions.
//   - R@2kt: XORQA's eval_xor_retrieve.py idea (answer string within the
//     first 2000 tokens of the retrieved passages), with the tokenisation
//     and normalisation documented in recall.go.
//
// Where this package departs from a script, or where the script's result
// depends on something outside it (the MeCab dictionary, the nltk version),
// the doc comment of the function says so.
package eval
